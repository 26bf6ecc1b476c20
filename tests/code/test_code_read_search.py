"""read_source and search_code through the MCP client: the default branch's committed code, bounded."""

from __future__ import annotations

from mcp import Client
from mcp_calls import call, call_error
from self_improver.server.app import build_server


async def test_read_source_shows_the_default_branch_not_the_checkout(code_server, user_repo, helpers) -> None:
    before = helpers.snapshot(user_repo.path)
    async with Client(code_server) as client:
        result = await call(client, "read_source", repo="worker", path="app/mail.py")
    assert result["branch"] == "main" and result["commit"] == user_repo.main_commit
    assert "     3\tTIMEOUT = 10\n" in result["content"]  # the user's uncommitted "999" stays private
    assert "999" not in result["content"]
    assert result["total_lines"] == len(helpers.MAIL_PY.splitlines())
    assert result["truncated"] is False and result["next_start_line"] is None
    assert helpers.snapshot(user_repo.path) == before


async def test_read_source_pages_long_files(code_server) -> None:
    async with Client(code_server) as client:
        first = await call(client, "read_source", repo="worker", path="app/big.txt")
        second = await call(
            client, "read_source", repo="worker", path="app/big.txt", start_line=first["next_start_line"]
        )
        window = await call(
            client, "read_source", repo="worker", path="app/big.txt", start_line=10, end_line=12
        )
    assert first["truncated"] is True and first["end_line"] == 400 and first["next_start_line"] == 401
    assert first["total_lines"] == 1000
    assert second["start_line"] == 401 and second["content"].startswith("   401\tline 401\n")
    assert window["content"] == "    10\tline 10\n    11\tline 11\n    12\tline 12\n"
    assert window["truncated"] is False


async def test_read_source_errors_say_what_to_send(code_server, user_repo, helpers) -> None:
    before = helpers.snapshot(user_repo.path)
    async with Client(code_server) as client:
        unknown_repo = await call_error(client, "read_source", repo="nope", path="app/mail.py")
        missing = await call_error(client, "read_source", repo="worker", path="app/mails.py")
        untracked = await call_error(client, "read_source", repo="worker", path="untracked.txt")
        wip_only = await call_error(client, "read_source", repo="worker", path="app/wip_only.py")
        escape = await call_error(client, "read_source", repo="worker", path="../outside.py")
        absolute = await call_error(client, "read_source", repo="worker", path="/etc/passwd")
        secret = await call_error(client, "read_source", repo="worker", path=".env")
        directory = await call_error(client, "read_source", repo="worker", path="app")
        binary = await call_error(client, "read_source", repo="worker", path="assets/logo.png")
        past_end = await call_error(client, "read_source", repo="worker", path="app/mail.py", start_line=500)
    assert "unknown repo 'nope'" in unknown_repo and "worker" in unknown_repo
    assert "no file 'app/mails.py'" in missing and "app/mail.py" in missing  # did you mean
    assert "no file 'untracked.txt'" in untracked
    assert "no file 'app/wip_only.py'" in wip_only
    assert "'..'" in escape
    assert "absolute" in absolute
    assert "denied path" in secret and ".env" in secret
    assert "is a directory" in directory and "mail.py" in directory
    assert "binary" in binary
    assert "past the end" in past_end
    assert helpers.snapshot(user_repo.path) == before


async def test_search_code_finds_committed_lines(code_server, user_repo, helpers) -> None:
    before = helpers.snapshot(user_repo.path)
    async with Client(code_server) as client:
        found = await call(client, "search_code", repo="worker", pattern=r"TIMEOUT *= *[0-9]+")
        calls = await call(client, "search_code", repo="worker", pattern=r"login\(", glob="*.py")
        limited = await call(client, "search_code", repo="worker", pattern="^line [0-9]+$", limit=5)
        upper = await call(
            client, "search_code", repo="worker", pattern="all checks PASSED", ignore_case=True
        )
        secret = await call(client, "search_code", repo="worker", pattern="API_TOKEN")
    assert found["matches"] == [{"path": "app/mail.py", "line": 3, "text": "TIMEOUT = 10"}]
    assert found["branch"] == "main" and found["has_more"] is False
    assert [(m["path"], m["line"]) for m in calls["matches"]] == [("app/mail.py", 6), ("app/mail.py", 15)]
    assert len(limited["matches"]) == 5 and limited["has_more"] is True
    assert limited["matches"][0] == {"path": "app/big.txt", "line": 1, "text": "line 1"}
    assert upper["matches"][0]["path"] == "check.py"
    assert secret["matches"] == []  # .env is a denied path: never shown
    assert helpers.snapshot(user_repo.path) == before


async def test_search_code_explains_a_bad_pattern(code_server) -> None:
    async with Client(code_server) as client:
        bad = await call_error(client, "search_code", repo="worker", pattern="login(")
        bad_glob = await call_error(client, "search_code", repo="worker", pattern="x", glob=":(exclude)*.py")
    assert "git grep refused the pattern" in bad and "Unmatched" in bad and "escape" in bad
    assert "glob" in bad_glob


async def test_no_repos_configured_says_how_to_add_one(make_settings) -> None:
    async with Client(build_server(make_settings())) as client:
        message = await call_error(client, "search_code", repo="worker", pattern="x")
    assert "no repositories are configured" in message and "[[repos]]" in message


async def test_missing_default_branch_lists_the_branches(repo_settings) -> None:
    server = build_server(repo_settings(repo={"default_branch": "develop"}))
    async with Client(server) as client:
        message = await call_error(client, "read_source", repo="worker", path="app/mail.py")
    assert "no local branch 'develop'" in message and "main" in message and "wip" in message


async def test_read_only_server_keeps_only_the_reading_tools(repo_settings) -> None:
    async with Client(build_server(repo_settings(read_only=True, toolsets=["code"]))) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert names == {"read_source", "search_code"}
