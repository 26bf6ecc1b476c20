"""The box run_checks puts a repo's test command in: model-written code, so treated as hostile.

With bubblewrap (`bwrap`) the command gets new user, PID, network, IPC, UTS and cgroup namespaces,
no capabilities (root inside could otherwise remount `/` read-write), a read-only view of the host
with a private /tmp, /run and /proc (the server's processes and their environ are invisible), the fix
worktree as its only writable host path, and an environment built from an allow-list. Killing the
namespace's pid 1 ends every process in it, `setsid` or double-forked ones included.

`sandbox = "off"` runs the command unconfined with the same allow-listed environment, and only when
the user says so: an unusable bwrap is an error, never a silent fallback.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..support.problems import UnavailableError

SandboxMode = Literal["bwrap", "off"]

BWRAP = "bwrap"
BWRAP_ENV = "SELF_IMPROVER_BWRAP"  # another bwrap binary (tests point it at a missing one)
SANDBOX_HOME = "/tmp/home"
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
PROBE_TIMEOUT_SECONDS = 20.0

BWRAP_DESCRIPTION = "bubblewrap: no network, no host processes, worktree-only writes"
OFF_DESCRIPTION = 'off (config sandbox = "off"): no isolation, only the environment is allow-listed'

NAMESPACE_FLAGS = (
    "--unshare-all",  # user (if possible), pid, net, ipc, uts, cgroup (if possible)
    "--unshare-user",  # ...and the user namespace is required, not best effort
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
)
# Private, empty and writable inside the sandbox; on the host these are shared or hold sockets.
PRIVATE_DIRS = ("/tmp", "/var/tmp", "/run")
# Credentials of the server's user that no test needs; hidden (when present) under its home.
CREDENTIAL_PATHS = (
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".config/gcloud",
    ".config/gh",
    ".config/hub",
    ".config/self-improver",
    ".docker",
    ".kube",
    ".netrc",
    ".git-credentials",
    ".config/git/credentials",
    ".pypirc",
    ".npmrc",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".pgpass",
    ".my.cnf",
    ".vault-token",
)
# Always set inside; everything else comes from the repo's `check_env`.
SANDBOX_VARIABLES = frozenset({"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TERM"})
# Unconfined (`sandbox = "off"`): the host's own values of these, plus `check_env`.
OFF_VARIABLES = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "TERM", "TMPDIR", "TZ", "PWD"}
)


def bwrap_program() -> str:
    """The bwrap to use: $SELF_IMPROVER_BWRAP when set, else `bwrap` from PATH."""
    return os.environ.get(BWRAP_ENV) or BWRAP


def sandbox_environment(
    names: Iterable[str] = (), environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The whole environment of a sandboxed command: fixed essentials plus the host's values of `names`."""
    source = os.environ if environ is None else environ
    env = {
        "PATH": source.get("PATH") or DEFAULT_PATH,
        "HOME": SANDBOX_HOME,
        "TMPDIR": "/tmp",
        "LANG": source.get("LANG") or "C.UTF-8",
        "TERM": "dumb",
    }
    if source.get("LC_ALL"):
        env["LC_ALL"] = source["LC_ALL"]
    env.update({name: source[name] for name in names if name in source})
    return env


def unconfined_environment(
    names: Iterable[str] = (), environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of an unsandboxed command: the host's essentials (locale included) plus `names`."""
    source = os.environ if environ is None else environ
    wanted = set(names)
    return {
        name: value
        for name, value in source.items()
        if name in OFF_VARIABLES or name.startswith("LC_") or name in wanted
    }


@dataclass(frozen=True)
class Sandbox:
    """How one check command runs: `argv(command)` is what to execute, `environment` its whole env."""

    mode: SandboxMode
    worktree: Path
    environment: dict[str, str]
    program: str = BWRAP
    readable: tuple[Path, ...] = ()  # host paths shown read-only again after hiding (the user's checkout)
    hidden: tuple[Path, ...] = ()  # host paths replaced by empty ones before that (data dir, credentials)
    hidden_after_readable: tuple[Path, ...] = ()  # secrets inside `readable` (the checkout's .env)

    @property
    def description(self) -> str:
        return BWRAP_DESCRIPTION if self.mode == "bwrap" else OFF_DESCRIPTION

    def argv(self, command: str, info_fd: int | None = None) -> list[str]:
        """The command line; with bwrap, `info_fd` receives {"child-pid": <pid 1 of the namespace>}."""
        shell = ["/bin/sh", "-c", command]
        if self.mode == "off":
            return shell
        worktree = _real(self.worktree)
        args = [self.program, *NAMESPACE_FLAGS, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        args += [arg for path in PRIVATE_DIRS if os.path.isdir(path) for arg in ("--tmpfs", path)]
        args += _hide(self.hidden)
        for path in self.readable:
            if path.exists():
                args += ["--ro-bind", str(_real(path)), str(_real(path))]
        args += _hide(self.hidden_after_readable)
        args += ["--bind", str(worktree), str(worktree), "--dir", SANDBOX_HOME, "--chdir", str(self.worktree)]
        # the empty stand-ins stay empty: writing there fails as it would on the read-only host
        for path in (*self.hidden, *self.hidden_after_readable):
            if _real(path).is_dir() and not _holds_python(_real(path)):
                args += ["--remount-ro", str(_real(path))]
        args.append("--clearenv")
        for name, value in self.environment.items():
            args += ["--setenv", name, value]
        if info_fd is not None:
            args += ["--info-fd", str(info_fd)]
        return [*args, "--", *shell]


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _hide(paths: Iterable[Path]) -> list[str]:
    """An empty tmpfs over each existing directory, /dev/null over each existing file."""
    args: list[str] = []
    for path in paths:
        real = _real(path)
        if _holds_python(real):
            continue  # a data dir or config dir around the interpreter: hiding it would break every check
        if real.is_dir():
            args += ["--tmpfs", str(real)]
        elif real.is_file():
            args += ["--ro-bind", "/dev/null", str(real)]
    return args


def _holds_python(path: Path) -> bool:
    interpreters = {_real(Path(sys.prefix)), _real(Path(sys.base_prefix)), _real(Path(sys.executable))}
    return any(path == place or path in place.parents for place in interpreters)


def interpreter_paths() -> list[Path]:
    """Where the server's Python lives (its venv may sit under /tmp, which the sandbox makes private):
    shown again read-only so the checks can run with the same interpreter and packages."""
    places = {_real(Path(sys.prefix)), _real(Path(sys.base_prefix)), _real(Path(sys.executable)).parent}
    return sorted(p for p in places if p != Path("/"))


def credential_paths(home: Path | None = None) -> list[Path]:
    base = Path.home() if home is None else home
    return [base / relative for relative in CREDENTIAL_PATHS]


def denied_top_level(checkout: Path, denied_patterns: Sequence[str]) -> list[Path]:
    """Entries at the top of the user's checkout matching its denied_paths (`.env`, keys): hidden too."""
    patterns = [p for p in denied_patterns if "/" not in p]
    try:
        names = os.listdir(checkout)
    except OSError:
        return []
    return [checkout / name for name in sorted(names) if any(fnmatch.fnmatch(name, p) for p in patterns)]


def plan_sandbox(
    mode: SandboxMode,
    worktree: Path,
    checkout: Path,
    data_dir: Path | None = None,
    check_env: Sequence[str] = (),
    denied_patterns: Sequence[str] = (),
) -> Sandbox:
    """The sandbox for one run; UnavailableError (saying how to fix it) when bwrap is wanted but unusable."""
    if mode == "off":
        return Sandbox("off", worktree, unconfined_environment(check_env))
    program = bwrap_program()
    problem = probe(program)
    if problem is not None:
        raise UnavailableError(
            f"run_checks runs model-written code only inside a sandbox, and bubblewrap cannot start here: "
            f"{problem}. Fix it: install bubblewrap (Debian/Ubuntu `apt-get install bubblewrap`, Fedora "
            "`dnf install bubblewrap`), make sure unprivileged user namespaces are allowed (sysctl "
            "kernel.unprivileged_userns_clone=1; on Ubuntu 24.04+ kernel.apparmor_restrict_unprivileged_userns=0 "
            f"or an AppArmor profile for bwrap), or set ${BWRAP_ENV} to its path. Only on a machine where "
            'untrusted code may run unconfined, set `sandbox = "off"` in the config (or SELF_IMPROVER_SANDBOX=off).'
        )
    hidden = [*credential_paths(), *([data_dir] if data_dir is not None else [])]
    config_file = os.environ.get("SELF_IMPROVER_CONFIG")
    if config_file:
        hidden.append(Path(config_file).expanduser())
    return Sandbox(
        "bwrap",
        worktree,
        sandbox_environment(check_env),
        program=program,
        readable=(checkout, *interpreter_paths()),
        hidden=tuple(hidden),
        hidden_after_readable=tuple(denied_top_level(checkout, denied_patterns)),
    )


_working: set[str] = set()
_probe_lock = threading.Lock()


def probe(program: str) -> str | None:
    """None when `program` can build the sandbox, else why not.

    A success is remembered for the life of the process (one trivial run per program); a failure is
    not, so installing bwrap or allowing user namespaces takes effect without a restart.
    """
    with _probe_lock:
        if program in _working:
            return None
        problem = _try_sandbox(program)
        if problem is None:
            _working.add(program)
        return problem


def _try_sandbox(program: str) -> str | None:
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux namespaces and this is {sys.platform}"
    argv = [program, *NAMESPACE_FLAGS, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    argv += ["--tmpfs", "/tmp", "--clearenv", "--", "/bin/sh", "-c", "exit 0"]
    try:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=PROBE_TIMEOUT_SECONDS, check=False
        )
    except FileNotFoundError:
        return f"no bwrap program at {program!r}"
    except PermissionError:
        return f"{program!r} is not executable"
    except OSError as exc:
        return f"{program!r} could not start ({exc})"
    except subprocess.TimeoutExpired:
        return f"a trivial `{program} ... true` took over {PROBE_TIMEOUT_SECONDS:.0f}s"
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"a trivial `{program} ... true` failed (exit {done.returncode}: {said[-1] if said else 'no message'})"
    return None


def sandbox_status(mode: SandboxMode) -> str:
    """One line for reports: how `run_checks` will run model-written code on this machine."""
    if mode == "off":
        return f"run_checks sandbox: {OFF_DESCRIPTION}"
    problem = probe(bwrap_program())
    if problem is not None:
        return f"run_checks sandbox: UNAVAILABLE ({problem}); run_checks refuses until bubblewrap can start"
    return f"run_checks sandbox: {BWRAP_DESCRIPTION}"
