"""error_cluster's frame context: telemetry names the files, so it must not read secret files or show secrets.

Whoever can make the agent fail with a chosen message writes the traceback, and with it the file
paths error_cluster reads under repo_root. Denied paths (`.git/`, `.env`, keys), secret files by name
and files holding a private key are never read; the lines it does show, and the frame's own code line
from telemetry, come back with their secrets masked.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from errors.secret_corpus import ALNUM, fake, rnd
from mcp import Client
from mcp_calls import call
from self_improver.examples.demo_telemetry import DEMO_ANCHOR, build_demo_db
from self_improver.server.app import build_server
from self_improver.tools.errors.source_context import locate, read_context

TOKEN = "ghp_" + fake(ALNUM, 36, "frame-token")
PASSWORD = "Fake" + rnd(ALNUM, 10, "frame-pw")
KEY_BODY = fake(ALNUM + "+/", 64, "frame-key")
PEM = "-----BEGIN " + "RSA PRIVATE KEY-----\n" + KEY_BODY + "\n-----END " + "RSA PRIVATE KEY-----\n"
SECRET_FILES = {
    ".env": f"API_TOKEN={TOKEN}\n",
    ".git/config": f'[remote "origin"]\n\turl = https://bot:{PASSWORD}@github.com/acme/worker.git\n',
    "deploy/id_rsa": PEM,
    "config/prod.env": f"DB_PASSWORD={PASSWORD}\n",
    ".npmrc": "//registry.npmjs.org/:_authToken=npm_" + fake(ALNUM, 36, "frame-npm") + "\n",
    "docs/notes.txt": "rotate this one:\n" + PEM,  # an innocent name, a private key inside
}
AGENT_PY = (
    "import smtplib\n\n"
    f'SMTP_PASSWORD = "{PASSWORD}"\n'
    f'GITHUB_TOKEN = "{TOKEN}"\n'
    "\n"
    "def send(message):\n"
    "    smtp = smtplib.SMTP_SSL('smtp.example.com')\n"
    f"    smtp.login('bot', SMTP_PASSWORD)  # old password: {PASSWORD}\n"
    "    return smtp.send_message(message)\n"
)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    for name, text in {**SECRET_FILES, "email_agent/agent.py": AGENT_PY}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "email_agent" / "settings_link.py").symlink_to(root / ".env")
    return root


def _traceback(frames: list[tuple[str, int, str]]) -> str:
    lines = ["Traceback (most recent call last):"]
    for file, line, code in frames:
        lines += [f'  File "/srv/agents/{file}", line {line}, in load', f"    {code}"]
    return "\n".join([*lines, "RuntimeError: frame reader probe"])


def _add_failure(db: Path, traceback: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO tasks(status, error, error_type, traceback, created_at, agent) VALUES ('failed',?,?,?,?,?)",
        (
            "RuntimeError: frame reader probe",
            "RuntimeError",
            traceback,
            (DEMO_ANCHOR - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
            "email-agent",
        ),
    )
    conn.commit()
    conn.close()


async def test_error_cluster_reads_no_secret_file_and_masks_what_it_shows(
    make_settings, tmp_path: Path, checkout: Path
) -> None:
    facts = build_demo_db(tmp_path / "telemetry.db")
    frames = [(name, 1, "load()") for name in SECRET_FILES]
    frames += [
        ("email_agent/settings_link.py", 1, "load()"),
        ("email_agent/agent.py", 8, f"smtp.login('bot', SMTP_PASSWORD)  # old password: {PASSWORD}"),
        ("email_agent/agent.py", 4, f'GITHUB_TOKEN = "{TOKEN}"'),
    ]
    _add_failure(facts.path, _traceback(frames))
    settings = make_settings(telemetry_db=facts.path, now=DEMO_ANCHOR, repo_root=checkout)
    async with Client(build_server(settings)) as client:
        top = await call(client, "top_errors", days=1, limit=50)
        signature = next(g["signature"] for g in top["groups"] if "frame reader probe" in g["title"])
        detail = await call(client, "error_cluster", signature=signature)

    by_file = {f["file"].removeprefix("/srv/agents/"): f for f in detail["in_app_frames"]}
    for name in [*SECRET_FILES, "email_agent/settings_link.py"]:
        assert by_file[name]["source"] == [], name
        if name != "docs/notes.txt":  # found, but its content (a private key) is not shown
            assert by_file[name]["repo_path"] is None, name
    agent = [f for f in detail["in_app_frames"] if f["repo_path"] == "email_agent/agent.py"]
    assert len(agent) == 2
    shown = {s["line"]: s["text"] for f in agent for s in f["source"]}
    assert shown[3] == 'SMTP_PASSWORD = "***"'
    assert shown[4] == 'GITHUB_TOKEN = "ghp_***"'
    assert shown[6] == "def send(message):"  # the code around stays readable, line numbers intact
    blob = repr(detail)
    for secret in (
        TOKEN[4:],
        PASSWORD,
        KEY_BODY,
        *(text.split("=", 1)[-1][-20:] for text in SECRET_FILES.values()),
    ):
        assert secret.strip() not in blob


def test_locate_refuses_denied_and_secret_files_by_name_and_by_link(checkout: Path) -> None:
    assert (
        locate("/srv/agents/email_agent/agent.py", checkout) == (checkout / "email_agent/agent.py").resolve()
    )
    for name in [*SECRET_FILES, "email_agent/settings_link.py", "email_agent/../.env"]:
        found = locate(f"/srv/agents/{name}", checkout)
        assert found is None or found.name not in (".env", "config", "id_rsa", "prod.env", ".npmrc"), name


def test_read_context_hides_private_key_files_and_masks_lines(checkout: Path) -> None:
    assert read_context(checkout / "docs" / "notes.txt", 2) == []
    lines = read_context(checkout / "email_agent" / "agent.py", 4)
    assert [line.line for line in lines] == [1, 2, 3, 4, 5, 6, 7]
    assert TOKEN not in repr(lines) and PASSWORD not in repr(lines)
