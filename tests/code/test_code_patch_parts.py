"""The pieces under apply_patch: diff parsing, tolerant placement, search/replace, paths, branch names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from self_improver.tools.code.edits import apply_edit, occurrences
from self_improver.tools.code.paths import clean_relative_path, denied_by, resolve_for_write
from self_improver.tools.code.repo_config import DEFAULT_DENIED_PATHS
from self_improver.tools.code.tolerant_apply import apply_hunks, split_lines
from self_improver.tools.code.unified_diff import parse_unified_diff
from self_improver.tools.code.worktrees import fix_branch_name, slugify
from self_improver.tools.support.problems import ToolInputError

DENIED = list(DEFAULT_DENIED_PATHS)


# --- parsing -------------------------------------------------------------------------------------


def test_git_diff_with_prefixes_and_exact_counts() -> None:
    diff = (
        "diff --git a/x.py b/x.py\nindex 1..2 100644\n--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
    )
    [patch] = parse_unified_diff(diff)
    assert (patch.old_path, patch.new_path, patch.prefixed) == ("x.py", "x.py", True)
    [hunk] = patch.hunks
    assert hunk.counts_fit and (hunk.old_start, hunk.old_count) == (1, 2)
    assert [(line.op, line.text) for line in hunk.lines] == [(" ", "a"), ("-", "b"), ("+", "c")]


def test_several_files_new_deleted_and_unprefixed() -> None:
    diff = (
        "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+x = 1\n"
        "--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-y = 2\n"
        "--- src/plain.py\n+++ src/plain.py\n@@ -1 +1 @@\n-a\n+b\n"
    )
    new, old, plain = parse_unified_diff(diff)
    assert new.is_new and new.path == "new.py"
    assert old.is_deleted and old.path == "old.py"
    assert plain.path == "src/plain.py" and plain.prefixed is False


def test_quoted_paths_timestamps_and_renames() -> None:
    diff = (
        'diff --git "a/t\\303\\244st.py" "b/t\\303\\244st.py"\n--- "a/t\\303\\244st.py"\n+++ "b/t\\303\\244st.py"\n'
        "@@ -1 +1 @@\n-a\n+b\n"
        "--- a/with space.py\t2024-01-01 10:00:00\n+++ b/with space.py\t2024-01-02 10:00:00\n@@ -1 +1 @@\n-a\n+b\n"
        "diff --git a/one.py b/two.py\nsimilarity index 100%\nrename from one.py\nrename to two.py\n"
    )
    quoted, spaced, renamed = parse_unified_diff(diff)
    assert quoted.path == "täst.py"
    assert spaced.path == "with space.py"
    assert (renamed.old_path, renamed.new_path, renamed.is_rename) == ("one.py", "two.py", True)


def test_no_newline_markers() -> None:
    diff = "--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n-a\n\\ No newline at end of file\n+a\n+b\n\\ No newline at end of file\n"
    [patch] = parse_unified_diff(diff)
    assert [(line.op, line.no_newline) for line in patch.hunks[0].lines] == [
        ("-", True),
        ("+", False),
        ("+", True),
    ]
    assert apply_hunks("a", patch.hunks, "x") == "a\nb"


def test_broken_counts_read_up_to_the_next_header_and_blank_lines_are_context() -> None:
    diff = "--- a/x\n+++ b/x\n@@ -10,1 +10,1 @@\n a\n\n-b\n+c\n@@ -50 +50 @@\n d\n-e\n+f\n\n"
    [patch] = parse_unified_diff(diff)
    first, second = patch.hunks
    assert not first.counts_fit and [line.text for line in first.lines] == ["a", "", "b", "c"]
    assert [line.text for line in second.lines] == ["d", "e", "f"]  # the trailing blank is not context


@pytest.mark.parametrize(
    ("diff", "expected"),
    [
        ("@@ -1 +1 @@\n-a\n+b\n", "before any file header"),
        ("just some words\n", "holds no file changes"),
        ("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\nb without prefix\n-c\n+d\n", "not a diff line"),
        ("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\nexplanation\n+stray\n", "not a diff line"),
    ],
)
def test_malformed_diffs_are_refused_with_the_line(diff: str, expected: str) -> None:
    with pytest.raises(ToolInputError, match=expected):
        parse_unified_diff(diff)


def test_format_patch_mail_signature_is_not_a_removed_line() -> None:
    mail = "From abc\nSubject: [PATCH] x\n\n---\n x | 2 +-\n\ndiff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n-- \n2.39.5\n\n"
    [patch] = parse_unified_diff(mail)
    assert [(line.op, line.text) for line in patch.hunks[0].lines] == [("-", "a"), ("+", "b")]


# --- tolerant placement --------------------------------------------------------------------------

ORIGINAL = "def a():\n    return 1\n\n\ndef b():\n    return 1\n\n\ndef c():\n    return 3\n"


def hunks(body: str):
    return parse_unified_diff(f"--- a/m.py\n+++ b/m.py\n{body}")[0].hunks


def test_hunk_found_by_content_whatever_its_numbers() -> None:
    result = apply_hunks(ORIGINAL, hunks("@@ -99,7 +1 @@\n def b():\n-    return 1\n+    return 2\n"), "m.py")
    assert result == ORIGINAL.replace("def b():\n    return 1", "def b():\n    return 2")


def test_trailing_whitespace_differences_match_and_the_files_lines_are_kept() -> None:
    original = "x = 1   \ny = 2\r\nz = 3\n"
    result = apply_hunks(original, hunks("@@ @@\n x = 1\n y = 2\n-z = 3\n+z = 4\n"), "m.py")
    assert result == "x = 1   \ny = 2\r\nz = 4\n"


def test_ambiguous_and_missing_hunks_are_refused() -> None:
    with pytest.raises(ToolInputError, match=r"occur 2 times in the file \(at lines 2, 6\)"):
        apply_hunks(ORIGINAL, hunks("@@ -1 +1 @@\n-    return 1\n+    return 0\n"), "m.py")
    with pytest.raises(ToolInputError, match="occur nowhere.*Closest real lines.*lines 9-10"):
        apply_hunks(ORIGINAL, hunks("@@ -1 +1 @@\n def c():\n-    return 4\n+    return 5\n"), "m.py")
    with pytest.raises(ToolInputError, match="no unchanged lines"):
        apply_hunks(ORIGINAL, hunks("@@ -3,0 +4 @@\n+x = 1\n"), "m.py")


def test_already_applied_hunk_is_named_as_such() -> None:
    with pytest.raises(ToolInputError, match="seems already applied"):
        apply_hunks(ORIGINAL, hunks("@@ -9 +9 @@\n def c():\n-    return 2\n+    return 3\n"), "m.py")


def test_overlapping_hunks_are_refused() -> None:
    body = "@@ -1 +1 @@\n def a():\n-    return 1\n+    return 7\n@@ -2 +2 @@\n-    return 1\n+    return 8\n \n \n def b():\n"
    with pytest.raises(ToolInputError, match="overlap"):
        apply_hunks(ORIGINAL, hunks(body), "m.py")


def test_adding_after_a_last_line_without_newline() -> None:
    result = apply_hunks("a\nb", hunks("@@ -2 +2,2 @@\n b\n+c\n"), "m.py")
    assert result == "a\nb\nc\n"


def test_split_lines_only_splits_on_newline() -> None:
    assert split_lines("a\x0cb\nc\u2028d") == ["a\x0cb\n", "c\u2028d"]


# --- search/replace ------------------------------------------------------------------------------


def test_edit_replaces_the_single_occurrence() -> None:
    assert apply_edit(ORIGINAL, "def c():\n    return 3\n", "def c():\n    return 4\n", "m.py", 1).endswith(
        "return 4\n"
    )


def test_edit_on_a_crlf_file_accepts_lf_search_text() -> None:
    assert apply_edit("a\r\nb\r\nc\r\n", "a\nb\n", "a\nB\n", "m.py", 1) == "a\r\nB\r\nc\r\n"


def test_edit_errors_count_occurrences_and_show_near_misses() -> None:
    with pytest.raises(ToolInputError, match="occurs 2 times, starting at lines 2, 6"):
        apply_edit(ORIGINAL, "    return 1\n", "    return 0\n", "m.py", 3)
    with pytest.raises(
        ToolInputError, match=r"edit 2 \('m.py'\).*occurs nowhere.*line 9:\n     9\tdef c\(\):"
    ):
        apply_edit(ORIGINAL, "def cc():\n", "def d():\n", "m.py", 2)
    with pytest.raises(ToolInputError, match="identical"):
        apply_edit(ORIGINAL, "def c", "def c", "m.py", 1)


def test_overlapping_occurrences_count() -> None:
    assert occurrences("aaa", "aa") == [0, 1]


# --- paths and names -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd", "~/x", "C:/x", "a\\b", "", ".", "a\0b"])
def test_paths_that_could_leave_the_repo_are_refused(path: str) -> None:
    with pytest.raises(ToolInputError):
        clean_relative_path(path)


def test_paths_are_normalised() -> None:
    assert clean_relative_path("./src//app.py") == "src/app.py"


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        (".git/config", ".git/"),
        ("sub/.git/hooks/pre-commit", ".git/"),
        (".GitHub/Workflows/ci.yml", ".github/workflows/"),
        ("deploy/server.pem", "*.pem"),
        ("config/.env", ".env"),
        (".env.production", ".env.*"),
        ("app/client_secrets.json", "*secret*"),
        ("src/app.py", None),
        (".github/dependabot.yml", None),
        ("docs/environment.md", None),
    ],
)
def test_denied_paths(path: str, rule: str | None) -> None:
    assert denied_by(path, DENIED) == rule


def test_writes_never_go_through_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "real.py").write_text("x")
    os.symlink(tmp_path, root / "out")
    os.symlink(root / "pkg" / "real.py", root / "pkg" / "alias.py")
    assert resolve_for_write(root, "pkg/real.py") == root / "pkg" / "real.py"
    assert resolve_for_write(root, "pkg/new/deeper.py") == root / "pkg" / "new" / "deeper.py"
    with pytest.raises(ToolInputError, match="outside the repository"):
        resolve_for_write(root, "out/evil.py")
    with pytest.raises(ToolInputError, match="points to 'pkg/real.py'"):
        resolve_for_write(root, "pkg/alias.py")


def test_branch_names() -> None:
    assert slugify("Retry IMAP login on timeout!") == "retry-imap-login-on-timeout"
    assert slugify("Ünïcode / *** ") == "unicode"
    assert slugify("!!!") == "fix"
    long = slugify("Handle the very long and winding error message of the mail fetcher properly")
    assert len(long) <= 40 and not long.endswith("-") and long == "handle-the-very-long-and-winding-error"
    assert fix_branch_name("3b8fe4199281", "Fix it") == "self-improver/3b8fe4199281-fix-it"
    with pytest.raises(ToolInputError, match="signature"):
        fix_branch_name("--evil", "x")
