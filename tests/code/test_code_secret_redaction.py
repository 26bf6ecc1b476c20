"""read_source and search_code mask committed secrets: only the value goes, the code around it stays.

A repository may commit `.npmrc`, `config/prod.env` or a `settings.py` with a password; none of those
names is denied by default, so the tools read them, and must not hand the values to the model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from errors.secret_corpus import ALNUM, fake, rnd
from mcp import Client
from mcp_calls import call
from self_improver.server.app import build_server

NPM = "npm_" + fake(ALNUM, 36, "vault-npm")
PASSWORD = "Fake" + rnd(ALNUM, 8, "vault-pw")
STRIPE = "sk_live_" + fake(ALNUM, 24, "vault-stripe")
KEY_LINES = [fake(ALNUM + "+/", 64, f"vault-key-{n}") for n in range(3)]
SETTINGS_PY = f'''"""Production settings."""

DEBUG = False
DATABASE = {{"host": "db.internal", "user": "app", "password": "{PASSWORD}"}}
STRIPE_KEY = "{STRIPE}"
PASSWORD = "{PASSWORD}"
password = os.environ.get("FALLBACK_PASSWORD")
'''
NOTES = "\n".join(
    [
        "# Deploy key (rotate me)",
        "-----BEGIN " + "OPENSSH PRIVATE KEY-----",
        *KEY_LINES,
        "-----END " + "OPENSSH PRIVATE KEY-----",
        "done",
        "",
    ]
)


@pytest.fixture
def vault_server(tmp_path: Path, make_settings, helpers):
    repo = tmp_path / "vault"
    repo.mkdir()
    helpers.git(repo, "init", "-q", "--initial-branch=main")
    helpers.commit_files(
        repo,
        {
            ".npmrc": f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={NPM}\n",
            "config/prod.env": f"DEBUG=false\nDB_PASSWORD={PASSWORD}\nDB_HOST=db.internal\n",
            "app/settings.py": SETTINGS_PY,
            "deploy/notes.md": NOTES,
        },
        "secrets, committed by mistake",
    )
    return build_server(make_settings(repos=[{"name": "vault", "path": str(repo), "default_branch": "main"}]))


def _secret_free(text: str) -> bool:
    return not any(s in text for s in (NPM[4:], PASSWORD, STRIPE[8:], *KEY_LINES))


async def test_read_source_masks_values_and_keeps_lines(vault_server) -> None:
    async with Client(vault_server) as client:
        npmrc = await call(client, "read_source", repo="vault", path=".npmrc")
        env = await call(client, "read_source", repo="vault", path="config/prod.env")
        settings = await call(client, "read_source", repo="vault", path="app/settings.py")
        inside_key = await call(client, "read_source", repo="vault", path="deploy/notes.md", start_line=4)
    for result in (npmrc, env, settings, inside_key):
        assert _secret_free(result["content"]), result["path"]
    assert npmrc["content"] == (
        "     1\tregistry=https://registry.npmjs.org/\n     2\t//registry.npmjs.org/:_authToken=npm_***\n"
    )
    assert env["content"] == "     1\tDEBUG=false\n     2\tDB_PASSWORD=***\n     3\tDB_HOST=db.internal\n"
    assert '     6\tPASSWORD = "***"\n' in settings["content"]
    assert '     5\tSTRIPE_KEY = "sk_live_***"\n' in settings["content"]
    assert '"password": "***"}' in settings["content"]
    assert '     7\tpassword = os.environ.get("FALLBACK_PASSWORD")\n' in settings["content"]
    assert settings["total_lines"] == len(SETTINGS_PY.splitlines())
    # A window that starts inside the key's block: every line of it is masked, numbering unchanged.
    assert inside_key["content"].splitlines() == [
        "     4\t***",
        "     5\t***",
        "     6\t-----END OPENSSH PRIVATE KEY-----",
        "     7\tdone",
    ]


async def test_search_code_masks_values_and_never_matches_on_a_secret(vault_server) -> None:
    async with Client(vault_server) as client:
        by_name = await call(client, "search_code", repo="vault", pattern="DB_PASSWORD|_authToken")
        by_value = await call(client, "search_code", repo="vault", pattern=PASSWORD[:6])
        by_prefix = await call(client, "search_code", repo="vault", pattern="npm_FAKE[A-Za-z0-9]")
        key_body = await call(
            client, "search_code", repo="vault", pattern=KEY_LINES[1][10:30].replace("+", ".")
        )
    texts = {(m["path"], m["text"]) for m in by_name["matches"]}
    assert texts == {
        (".npmrc", "//registry.npmjs.org/:_authToken=npm_***"),
        ("config/prod.env", "DB_PASSWORD=***"),
    }
    # Patterns that match only inside a secret would tell it character by character: no match is shown.
    assert by_value["matches"] == [] and by_prefix["matches"] == [] and key_body["matches"] == []
    assert all(_secret_free(m["text"]) for r in (by_name, by_value, by_prefix) for m in r["matches"])
