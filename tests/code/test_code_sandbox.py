"""run_checks runs model-written code in a bubblewrap sandbox: each test is an attack that once worked.

Real bwrap, real processes: a test file committed through apply_patch (as a model would) or the
repo's test command tries to read the server's secrets, reach the network, write outside the
worktree or outlive the time limit, and the host is checked afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from mcp import Client
from mcp_calls import call, call_error
from pydantic import ValidationError
from self_improver.server.app import build_server
from self_improver.server.config import Settings
from self_improver.tools.code.repo_config import RepoConfig
from self_improver.tools.code.sandbox import BWRAP_DESCRIPTION, OFF_DESCRIPTION, Sandbox, credential_paths

SIGNATURE = "3b8fe4199281"
BRANCH = f"self-improver/{SIGNATURE}-raise-imap-timeout"
PATCH = {
    "repo": "worker",
    "signature": SIGNATURE,
    "title": "Raise IMAP timeout",
    "edits": [{"path": "app/mail.py", "search": "TIMEOUT = 10\n", "replace": "TIMEOUT = 60\n"}],
}
GITHUB_TOKEN = "ghp_" + "S3cr3tT0k3n" * 3 + "xyz"
SLACK_WEBHOOK_URL = "https://hooks.slack.com/services/T0000/B0000/sl4ckS3cretW3bh00k"

# What the attack did: walk up the parent processes (then every visible one), read their environ,
# and print the interesting entries base64-encoded so that output masking cannot see them.
LEAK_PY = """import base64, os


def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def parent(pid):
    stat = read(f"/proc/{pid}/stat").decode(errors="replace")
    return int(stat.rsplit(")", 1)[1].split()[1]) if ")" in stat else 0


chain, pid = [], os.getpid()
while pid > 0 and pid not in chain:
    chain.append(pid)
    pid = parent(pid)
visible = [int(name) for name in os.listdir("/proc") if name.isdigit()]
found = set()
for pid in chain + [1] + visible:
    for entry in read(f"/proc/{pid}/environ").split(b"\\0"):
        if b"TOKEN" in entry or b"WEBHOOK" in entry:
            found.add(entry)
commands = [read(f"/proc/{pid}/cmdline") for pid in visible]
# Short lines only, secrets last: a busy host's process list must not push them out of the output tail.
print("VISIBLE", len(visible))
print("STAND_IN_SEEN", sum(b"serve-stand-in" in command for command in commands))
print("LEAK " + base64.b64encode(b"\\n".join(sorted(found))).decode())
"""


def leak_patch() -> dict[str, object]:
    diff = f"--- /dev/null\n+++ b/tests/test_leak.py\n@@ -0,0 +1,{len(LEAK_PY.splitlines())} @@\n"
    diff += "".join(f"+{line}\n" for line in LEAK_PY.splitlines())
    return {"repo": "worker", "signature": SIGNATURE, "title": "Raise IMAP timeout", "diff": diff}


def decoded(tail: str, label: str) -> str:
    line = next(line for line in tail.splitlines() if line.startswith(label + " "))
    return base64.b64decode(line.split(" ", 1)[1]).decode(errors="replace")


def printed(tail: str, label: str) -> int:
    return int(next(line for line in tail.splitlines() if line.startswith(label + " ")).split()[1])


async def test_the_servers_environment_is_out_of_reach(repo_settings, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", SLACK_WEBHOOK_URL)
    # os.environ changes do not show in /proc/<pid>/environ; a stand-in server started with the
    # secrets in its environment makes the /proc route as real as it was in the attack.
    server_like = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)  # self-improver-serve-stand-in"],
        env={**os.environ, "GITHUB_TOKEN": GITHUB_TOKEN, "SLACK_WEBHOOK_URL": SLACK_WEBHOOK_URL},
    )
    try:
        command = f"{sys.executable} tests/test_leak.py"
        results = {}
        for sandbox in ("off", "bwrap"):
            async with Client(build_server(repo_settings(test_command=command, sandbox=sandbox))) as client:
                await call(client, "apply_patch", **leak_patch())
                results[sandbox] = await call(client, "run_checks", repo="worker", branch=BRANCH)
    finally:
        server_like.kill()
        server_like.wait()
    # control: unconfined, the probe does find the secrets, so it is a real attack
    assert GITHUB_TOKEN in decoded(results["off"]["output_tail"], "LEAK")
    boxed = results["bwrap"]
    assert boxed["passed"] is True and boxed["sandbox"] == BWRAP_DESCRIPTION
    assert decoded(boxed["output_tail"], "LEAK") == ""
    assert printed(boxed["output_tail"], "STAND_IN_SEEN") == 0
    assert printed(results["off"]["output_tail"], "STAND_IN_SEEN") >= 1
    assert (
        printed(boxed["output_tail"], "VISIBLE") <= 4
    )  # bwrap's init, the shell, python: nothing of the host
    everything = json.dumps(boxed)
    for secret in (GITHUB_TOKEN, SLACK_WEBHOOK_URL):
        assert secret not in everything
        assert base64.b64encode(secret.encode()).decode()[:20] not in everything


ALLOWED = {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TERM", "PWD", "SHLVL", "_", "OLDPWD"}
NOT_ALLOWED = {
    "SLACK_WEBHOOK_URL": SLACK_WEBHOOK_URL,
    "NPM_AUTH": "npm-auth-value",
    "DATABASE_URL": "postgres://app:dbpass@db/app",
    "MYSQL_PWD": "mysql-pwd-value",
    "SENTRY_DSN": "https://public@sentry.example/1",
    "GITHUB_TOKEN": GITHUB_TOKEN,
    "SELF_IMPROVER_HTTP_TOKEN": "http-token-value",
}


@pytest.mark.parametrize("sandbox", ["bwrap", "off"])
async def test_env_shows_only_allow_listed_variables(repo_settings, monkeypatch, sandbox) -> None:
    for name, value in NOT_ALLOWED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "site.settings_test")
    settings = repo_settings(
        test_command="env", sandbox=sandbox, repo={"check_env": ["DJANGO_SETTINGS_MODULE"]}
    )
    async with Client(build_server(settings)) as client:
        await call(client, "apply_patch", **PATCH)
        result = await call(client, "run_checks", repo="worker", branch=BRANCH)
    env = dict(line.split("=", 1) for line in result["output_tail"].splitlines() if "=" in line)
    assert env["DJANGO_SETTINGS_MODULE"] == "site.settings_test"
    for name, value in NOT_ALLOWED.items():
        assert name not in env and value not in result["output_tail"]
    if sandbox == "bwrap":
        assert set(env) <= ALLOWED | {"DJANGO_SETTINGS_MODULE"}
        assert env["HOME"] == "/tmp/home" and env["TERM"] == "dumb"
    else:
        assert result["sandbox"] == OFF_DESCRIPTION and result["sandbox"].startswith(
            'off (config sandbox = "off")'
        )


async def test_writes_outside_the_worktree_fail_and_leave_nothing_on_the_host(
    repo_settings, user_repo, helpers
) -> None:
    settings: Settings = repo_settings(test_command="true")
    tag = uuid.uuid4().hex[:12]
    outside = {
        "data": settings.data_dir / f"marker-{tag}",
        "checkout": user_repo.path / f"marker-{tag}",
        "home": Path.home() / f"outside-marker-{tag}",
        "usr": Path(f"/usr/local/outside-marker-{tag}"),
    }
    host_tmp = Path(f"/tmp/outside-marker-{tag}")
    lines = [
        f'if echo x > "{path}"; then echo "wrote {name}"; else echo "refused {name}"; fi'
        for name, path in outside.items()
    ]
    lines += [
        f'echo x > "{host_tmp}" && echo "wrote private tmp"',
        f'mount -o remount,bind,rw / && touch "/usr/local/escape-{tag}" && echo "remounted"',
        'echo x > inside-marker && echo "wrote worktree"',
    ]
    settings = repo_settings(test_command="\n".join(lines))
    before = helpers.snapshot(user_repo.path)
    async with Client(build_server(settings)) as client:
        applied = await call(client, "apply_patch", **PATCH)
        result = await call(client, "run_checks", repo="worker", branch=BRANCH)
    tail = result["output_tail"]
    for name, path in outside.items():
        assert f"refused {name}" in tail and not path.exists(), tail
    assert "wrote private tmp" in tail and not host_tmp.exists()  # a private /tmp, gone with the sandbox
    assert "remounted" not in tail and not Path(f"/usr/local/escape-{tag}").exists()
    assert "wrote worktree" in tail and (Path(applied["worktree"]) / "inside-marker").exists()
    assert helpers.snapshot(user_repo.path) == before


async def test_the_data_dir_and_the_checkouts_secrets_are_hidden(repo_settings, user_repo) -> None:
    settings: Settings = repo_settings(test_command="true")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "memory-secret.txt").write_text("data-dir-content\n")
    (user_repo.path / ".env.local").write_text("APP_MODE=checkout-only-value\n")  # a denied path
    command = f'ls "{settings.data_dir}"; cat "{settings.data_dir}/memory-secret.txt"; cat "{user_repo.path}/.env.local"; cat "{user_repo.path}/README.md"'
    async with Client(build_server(repo_settings(test_command=command))) as client:
        await call(client, "apply_patch", **PATCH)
        result = await call(client, "run_checks", repo="worker", branch=BRANCH)
    tail = result["output_tail"]
    assert "data-dir-content" not in tail and "memory-secret.txt: No such file" in tail
    assert "checkout-only-value" not in tail  # files of the checkout matching denied_paths
    assert "Fetches mail." in tail  # the rest of the checkout stays readable (e.g. a venv in it)


async def test_no_network_even_to_localhost(repo_settings) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    accepted: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    probe = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print('no connection:', type(exc).__name__)\n"
    )
    command = f'{sys.executable} -c "{probe}"'
    try:
        async with Client(build_server(repo_settings(test_command=command))) as client:
            await call(client, "apply_patch", **PATCH)
            result = await call(client, "run_checks", repo="worker", branch=BRANCH)
    finally:
        stop.set()
        thread.join(2)
        listener.close()
    assert "no connection" in result["output_tail"] and "connected" not in result["output_tail"].splitlines()
    assert accepted == []


async def test_a_setsid_child_dies_with_the_time_limit(repo_settings, helpers) -> None:
    command = (
        'setsid sh -c "sleep 2.71; touch late-marker" & '
        "( ( sleep 2.72; touch late-marker-2 ) & ) ; "
        "echo started; sleep 1000.31"
    )
    server = build_server(repo_settings(test_command=command, check_timeout_seconds=1))
    async with Client(server) as client:
        applied = await call(client, "apply_patch", **PATCH)
        started = time.monotonic()
        result = await call(client, "run_checks", repo="worker", branch=BRANCH)
    assert result["timed_out"] is True and result["output_tail"] == "started"
    assert time.monotonic() - started < 5
    assert not helpers.processes_running("sleep 2.7") and not helpers.processes_running("1000.31")
    time.sleep(max(0.0, started + 3.5 - time.monotonic()))
    worktree = Path(applied["worktree"])
    assert not (worktree / "late-marker").exists() and not (worktree / "late-marker-2").exists()


async def test_daemons_left_behind_by_a_finished_command_die_too(repo_settings, helpers) -> None:
    command = 'setsid sh -c "sleep 1.93; touch late-marker" & echo done'
    async with Client(build_server(repo_settings(test_command=command))) as client:
        applied = await call(client, "apply_patch", **PATCH)
        result = await call(client, "run_checks", repo="worker", branch=BRANCH)
    assert result["passed"] is True and result["output_tail"] == "done"
    assert not helpers.processes_running("sleep 1.93")
    time.sleep(2.3)
    assert not (Path(applied["worktree"]) / "late-marker").exists()


async def test_refuses_without_a_sandbox_unless_it_is_turned_off(
    repo_settings, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("SELF_IMPROVER_BWRAP", str(tmp_path / "no-such-bwrap"))
    async with Client(build_server(repo_settings())) as client:
        await call(client, "apply_patch", **PATCH)
        message = await call_error(client, "run_checks", repo="worker", branch=BRANCH)
    assert "no-such-bwrap" in message and "install bubblewrap" in message
    assert 'sandbox = "off"' in message and "SELF_IMPROVER_SANDBOX=off" in message
    async with Client(build_server(repo_settings(sandbox="off"))) as client:
        result = await call(client, "run_checks", repo="worker", branch=BRANCH)
    assert result["passed"] is True and result["sandbox"] == OFF_DESCRIPTION


async def test_a_bwrap_that_cannot_make_namespaces_is_refused_with_its_reason(
    repo_settings, monkeypatch, tmp_path
) -> None:
    fake = tmp_path / "bwrap-without-userns"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SELF_IMPROVER_BWRAP", str(fake))
    async with Client(build_server(repo_settings())) as client:
        await call(client, "apply_patch", **PATCH)
        message = await call_error(client, "run_checks", repo="worker", branch=BRANCH)
    assert "No permissions to create new namespace" in message and "user namespaces" in message


def test_sandbox_setting_comes_from_the_environment(make_settings, monkeypatch) -> None:
    monkeypatch.setenv("SELF_IMPROVER_SANDBOX", "off")
    assert make_settings().sandbox == "off"
    monkeypatch.setenv("SELF_IMPROVER_SANDBOX", "docker")
    with pytest.raises(ValidationError, match="bwrap"):
        make_settings()


def test_check_env_refuses_the_servers_own_secrets(tmp_path) -> None:
    base = {"name": "worker", "path": str(tmp_path)}
    assert RepoConfig(**base, check_env=["DJANGO_SETTINGS_MODULE"]).check_env == ["DJANGO_SETTINGS_MODULE"]
    for bad in ("GITHUB_TOKEN", "SELF_IMPROVER_HTTP_TOKEN", "A=B", "1X"):
        with pytest.raises(ValueError, match="check_env"):
            RepoConfig(**base, check_env=[bad])


def test_credentials_in_the_servers_home_are_covered(tmp_path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".netrc").write_text("machine example.com password x\n")
    worktree = tmp_path / "wt"
    worktree.mkdir()
    argv = Sandbox("bwrap", worktree, {"PATH": "/bin"}, hidden=tuple(credential_paths(home))).argv("true")
    pairs = list(zip(argv, argv[1:], strict=False))
    assert ("--tmpfs", str(home / ".ssh")) in pairs and ("--remount-ro", str(home / ".ssh")) in pairs
    assert ("/dev/null", str(home / ".netrc")) in pairs
    assert "--cap-drop" in argv and "--unshare-all" in argv and "--clearenv" in argv
    assert argv[-4:] == ["--", "/bin/sh", "-c", "true"]
