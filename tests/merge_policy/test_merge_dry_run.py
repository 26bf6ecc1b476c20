"""The `dry_run` setting on merges and reverts: the policy is evaluated and audited, nothing moves."""

from __future__ import annotations

from mcp import Client
from mcp_calls import call
from merge_policy.merge_setup import Verdict
from merge_policy.test_merge_policy_local import _opened_with_checks, _remote
from pull_requests.git_setup import git, snapshot
from self_improver.server.app import build_server
from self_improver.server.context import AppResources


async def test_a_dry_run_merge_evaluates_audits_and_merges_nothing(local_settings, checkout) -> None:
    numbers = await _opened_with_checks(local_settings(), checkout, {"good": "passing"})
    settings = local_settings(dry_run=True)
    before = snapshot(checkout.path)
    async with Client(build_server(settings)) as client:
        result = await call(client, "merge_pull_request", number=numbers["good"], repo="worker")
        listed = await call(client, "list_pull_requests", state="open")
    assert result["dry_run"] is True and result["merged"] is False and result["evaluation"]["allowed"]
    assert result["audit"]["outcome"] == "dry_run" and result["merge_commit"] is None
    assert "would be merged" in result["note"]
    assert [p["number"] for p in listed["pull_requests"]] == [numbers["good"]]
    assert git(_remote(settings), "for-each-ref", "refs/heads/main") == ""  # nothing reached main
    assert snapshot(checkout.path) == before


async def test_a_dry_run_revert_opens_nothing(local_settings, checkout) -> None:
    settings = local_settings()
    numbers = await _opened_with_checks(settings, checkout, {"good": "passing"})
    async with Client(build_server(settings)) as client:
        merged = await call(client, "merge_pull_request", number=numbers["good"], repo="worker")
    assert merged["merged"] is True
    dry = AppResources.from_settings(local_settings(dry_run=True))
    try:
        verdict = Verdict(signature=checkout.fixes["good"].signature, pr_number=numbers["good"])
        reverted = await dry.pulls.revert_if_worse("worker", numbers["good"], verdict)
        listed = await dry.pulls.list_pull_requests(state="all")
    finally:
        await dry.close()
    assert reverted is not None and reverted.dry_run and reverted.pull_request.number == 0
    assert "would be opened" in (reverted.note or "")
    assert [p.number for p in listed.pull_requests] == [numbers["good"]]
    assert "revert" not in git(_remote(settings), "for-each-ref", "--format=%(refname)")
