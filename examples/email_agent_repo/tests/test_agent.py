import pytest

from email_agent.agent import EmailAgent


@pytest.mark.xfail(raises=AttributeError, strict=True, reason="known bug: _email_context_until")
def test_check_inbox_refreshes_context_once_per_ttl():
    now = [1000.0]
    agent = EmailAgent(clock=lambda: now[0])
    assert agent.check_inbox("ops") == "checked ops"
    assert agent.check_inbox("ops") == "checked ops"
    assert agent.refreshes == 1
    now[0] += 301
    agent.check_inbox("ops")
    assert agent.refreshes == 2
