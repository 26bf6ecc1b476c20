"""Real-world diffs: every commit of this project's own history, applied strictly and with broken headers.

For each commit (up to 30) the text diff against its parent must reproduce the commit's files exactly
in strict mode; in tolerant mode, with every hunk's line numbers shifted by +/-7 and its counts
wrong, it must reproduce them too or refuse cleanly, never produce different content. A second,
seeded corpus of synthetic commits (random edits, duplicated blocks, lost final newlines) on this
project's files pushes the tolerant applier into ambiguous places the real history may not reach.
"""

from __future__ import annotations

import hashlib
import random
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from self_improver.tools.code.patches import apply_diff, tolerant_contents
from self_improver.tools.code.unified_diff import parse_unified_diff
from self_improver.tools.support.problems import ToolInputError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
MAX_COMMITS = 30
REGULAR = ("100644", "100755")
HUNK_HEADER_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")


def run(cwd: Path, *args: str, input: bytes | None = None) -> bytes:
    result = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        check=False,
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "HOME": str(cwd),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "corpus",
            "GIT_AUTHOR_EMAIL": "corpus@localhost",
            "GIT_COMMITTER_NAME": "corpus",
            "GIT_COMMITTER_EMAIL": "corpus@localhost",
        },
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr.decode()}"
    return result.stdout


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def tree_entries(repo: Path, commit: str) -> dict[str, tuple[str, str]]:
    """path -> (mode, sha) of every file of `commit`."""
    if commit == EMPTY_TREE:
        return {}
    out = run(repo, "ls-tree", "-r", "-z", commit).decode("utf-8", "surrogateescape")
    entries = {}
    for entry in filter(None, out.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, _kind, sha = meta.split()
        entries[path] = (mode, sha)
    return entries


def tree_blobs(repo: Path, commit: str) -> dict[str, str]:
    """path -> blob sha of the regular files of `commit`."""
    return {path: sha for path, (mode, sha) in tree_entries(repo, commit).items() if mode in REGULAR}


def text_paths(repo: Path, parent: str, commit: str) -> list[str]:
    """Changed regular text files (binary files, symlinks and submodules are not the applier's job)."""
    numstat = run(repo, "diff", "--numstat", "-z", "--no-renames", parent, commit).decode(
        "utf-8", "surrogateescape"
    )
    sides = (tree_entries(repo, parent), tree_entries(repo, commit))
    paths = []
    for entry in filter(None, numstat.split("\0")):
        added, _removed, path = entry.split("\t", 2)
        modes = [side[path][0] for side in sides if path in side]
        if added != "-" and modes and all(mode in REGULAR for mode in modes):
            paths.append(path)
    return paths


def mangle(diff: str, rng: random.Random) -> str:
    """Shift every hunk's line numbers by +/-7 and break its counts, as a careless model would."""
    out = []
    for line in diff.split("\n"):
        found = HUNK_HEADER_RE.match(line)
        if found:
            a, b, c, d, rest = found.groups()
            shift = rng.choice((-7, 7))
            old_start, new_start = max(1, int(a) + shift), max(1, int(c) + shift)
            old_count, new_count = int(b or 1) + 3, max(0, int(d or 1) - 1)
            line = f"@@ -{old_start},{old_count} +{new_start},{new_count} @@{rest}"
        out.append(line)
    return "\n".join(out)


@dataclass
class Outcome:
    tried: int = 0
    strict_ok: int = 0
    tolerant_ok: int = 0
    refused: int = 0
    wrong: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"commits tried {self.tried}, strict ok {self.strict_ok}, tolerant ok {self.tolerant_ok}, "
            f"refused {self.refused}, wrong {len(self.wrong)}"
        )


def reset_to(clone: Path, parent: str, commit: str) -> None:
    """Make the clone's files exactly `parent` (an empty tree for a root commit)."""
    run(clone, "checkout", "-q", "-f", "--detach", commit if parent == EMPTY_TREE else parent)
    if parent == EMPTY_TREE:
        run(clone, "rm", "-r", "-q", "-f", "--ignore-unmatch", ".")
    run(clone, "clean", "-q", "-f", "-d", "-x")


def check_commit(
    clone: Path, parent: str, commit: str, outcome: Outcome, rng: random.Random, context_lines: int = 3
) -> None:
    paths = text_paths(clone, parent, commit)
    if not paths:
        return
    outcome.tried += 1
    diff = run(
        clone,
        "diff",
        f"--unified={context_lines}",
        "--no-renames",
        "--no-color",
        "--no-ext-diff",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        parent,
        commit,
        "--",
        *paths,
    ).decode("utf-8", "surrogateescape")
    expected = tree_blobs(clone, commit)
    label = f"{commit[:10]}"

    reset_to(clone, parent, commit)
    try:
        mode = apply_diff(clone, diff, parse_unified_diff(diff))
    except ToolInputError as exc:
        outcome.wrong.append(f"{label} strict refused: {exc}")
        return
    actual = {
        path: blob_sha((clone / path).read_bytes()) if (clone / path).exists() else None for path in paths
    }
    if mode == "strict" and actual == {path: expected.get(path) for path in paths}:
        outcome.strict_ok += 1
    else:
        outcome.wrong.append(f"{label} strict ({mode})")

    reset_to(clone, parent, commit)
    try:
        contents, _modes = tolerant_contents(clone, parse_unified_diff(mangle(diff, rng)))
    except ToolInputError as exc:
        outcome.refused += 1
        outcome.refusals.append(f"{label}: {str(exc)[:160]}")
        return
    produced = {
        path: None if text is None else blob_sha(text.encode("utf-8")) for path, text in contents.items()
    }
    if produced == {path: expected.get(path) for path in produced} and set(produced) == set(paths):
        outcome.tolerant_ok += 1
    else:
        differing = [p for p in paths if produced.get(p, "missing") != expected.get(p)]
        outcome.wrong.append(f"{label} tolerant: {differing[:5]}")


def project_root() -> Path | None:
    found = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=Path(__file__).parent, capture_output=True, text=True
    )
    return Path(found.stdout.strip()) if found.returncode == 0 else None


@dataclass
class Clone:
    path: Path
    tip: str  # the project's HEAD; the clone's own HEAD moves while commits are replayed


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    root = project_root()
    if root is None:
        pytest.skip(
            "the tests do not run from a git checkout of this project, so there is no history to replay"
        )
    target = tmp_path_factory.mktemp("corpus") / "self-improver"
    run(root, "clone", "-q", "--no-checkout", str(root), str(target))
    count = int(run(target, "rev-list", "--count", "HEAD").strip())
    if count < 3:
        pytest.skip(f"this checkout has {count} commit(s) (a shallow clone?); the corpus needs at least 3")
    return Clone(target, run(target, "rev-parse", "HEAD").decode().strip())


def commits_with_parents(clone: Path, limit: int, tip: str) -> list[tuple[str, str]]:
    out = run(clone, "rev-list", "--no-merges", f"--max-count={limit}", "--parents", tip).decode()
    pairs = []
    for line in out.splitlines():
        ids = line.split()
        pairs.append((ids[1] if len(ids) > 1 else EMPTY_TREE, ids[0]))
    return pairs


def test_project_history_applies_exactly_or_is_refused(clone: Clone, request: pytest.FixtureRequest) -> None:
    outcome = Outcome()
    rng = random.Random(7)
    for parent, commit in commits_with_parents(clone.path, MAX_COMMITS, clone.tip):
        check_commit(clone.path, parent, commit, outcome, rng)
    request.node.user_properties.append(("corpus", outcome.summary()))
    print(f"\nproject history: {outcome.summary()}")
    for refusal in outcome.refusals:
        print("  refused", refusal)
    assert outcome.wrong == []
    assert outcome.tried >= 2 and outcome.strict_ok == outcome.tried
    assert outcome.tolerant_ok >= 1


def mutate(text: str, rng: random.Random) -> str:
    """A random but plausible edit: replace, delete, insert, duplicate a block, trailing spaces, final newline."""
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        if not lines:
            lines = ["x = 1"]
        at = rng.randrange(len(lines))
        kind = rng.choice(("replace", "delete", "insert", "duplicate", "spaces", "copy_far"))
        if kind == "replace":
            lines[at] = lines[at].replace("e", "E", 1) + "  # changed"
        elif kind == "delete":
            del lines[at : at + rng.randint(1, 5)]
        elif kind == "insert":
            lines[at:at] = [f"inserted_{rng.randrange(10**6)} = {n}" for n in range(rng.randint(1, 3))]
        elif kind == "duplicate":
            block = lines[at : at + rng.randint(1, 6)]
            lines[at:at] = block  # repeated blocks make hunks ambiguous
        elif kind == "spaces":
            lines[at] = lines[at] + "   "
        else:
            lines.insert(rng.randrange(len(lines) + 1), lines[at])
    if rng.random() < 0.1:
        return "\n".join(lines).rstrip("\n")  # lose the final newline
    return "\n".join(lines)


def test_synthetic_edits_apply_exactly_or_are_refused(clone: Clone) -> None:
    rng = random.Random(20240611)
    repo = clone.path
    run(repo, "checkout", "-q", "-f", "--detach", clone.tip)
    run(repo, "clean", "-q", "-f", "-d", "-x")
    candidates = sorted(
        path for path in tree_blobs(repo, clone.tip) if path.endswith((".py", ".md", ".toml")) and "/" in path
    )
    files = rng.sample(candidates, min(40, len(candidates)))
    for round_number in range(30):
        for path in rng.sample(files, rng.randint(1, 3)):
            target = repo / path
            if target.exists():
                target.write_text(mutate(target.read_text(), rng))
        if round_number % 10 == 3:
            (repo / f"new_{round_number}.py").write_text(f"value = {round_number}\n")
        if round_number % 10 == 7:
            victim = rng.choice(files)
            if (repo / victim).exists():
                (repo / victim).unlink()
        run(repo, "add", "-A")
        run(repo, "commit", "-q", "--allow-empty", "-m", f"synthetic {round_number}")
    synthetic_tip = run(repo, "rev-parse", "HEAD").decode().strip()
    for context_lines in (3, 1):  # one line of context makes many hunks ambiguous: they must be refused
        outcome = Outcome()
        for parent, commit in commits_with_parents(repo, 30, synthetic_tip):
            check_commit(repo, parent, commit, outcome, rng, context_lines)
        print(f"\nsynthetic edits, {context_lines} context line(s): {outcome.summary()}")
        assert outcome.wrong == []
        assert outcome.tried >= 25 and outcome.strict_ok == outcome.tried
        assert outcome.tolerant_ok + outcome.refused == outcome.tried
        if context_lines == 3:
            assert outcome.tolerant_ok > outcome.tried // 2
