"""Retries for forge calls: transient failures (5xx, rate limits, dropped connections) wait and try
again; creates are looked up before each retry so a lost answer never makes a duplicate.

A forge may answer 502 *after* creating a pull request, so blindly re-sending the POST would open a
second one. `with_retries(..., find_existing=...)` therefore asks "does it exist now?" between attempts.

Which failures are transient, and how long to wait, is the forge's `Classifier` (its name for messages,
`wait_for`, `describe`): GitHub's is here (the default); GitLab's is in providers/gitlab_client.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from ..support.problems import UnavailableError

log = logging.getLogger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], None]

if TYPE_CHECKING:
    from github.GithubException import GithubException


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying: `attempts` tries in all, waits doubling from `base_delay`.

    A wait GitHub asks for (Retry-After, rate-limit reset) is honoured when it is at most
    `max_delay`; a longer one ends the call with a message saying when to try again.
    """

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 60.0
    # GitHub: "if you get a secondary rate limit without retry-after, wait at least one minute".
    secondary_limit_default: float = 60.0

    def backoff(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * (2**attempt))


def _header(exc: GithubException, name: str) -> str | None:
    for key, value in (exc.headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    return str(data.get("message") or exc.message or "")


def is_secondary_rate_limit(exc: GithubException) -> bool:
    text = _message(exc).lower()
    return exc.status in (403, 429) and (
        "secondary rate limit" in text or _header(exc, "retry-after") is not None
    )


def is_primary_rate_limit(exc: GithubException) -> bool:
    return exc.status in (403, 429) and _header(exc, "x-ratelimit-remaining") == "0"


def wait_for(exc: Exception, policy: RetryPolicy, attempt: int) -> float | None:
    """Seconds to wait before trying again, or None when `exc` is not worth retrying."""
    import requests

    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return policy.backoff(attempt)
    from github.GithubException import GithubException

    if not isinstance(exc, GithubException):
        return None
    retry_after = _header(exc, "retry-after")
    if retry_after is not None and retry_after.strip().isdigit():
        asked = float(retry_after)
    elif is_primary_rate_limit(exc) and (_header(exc, "x-ratelimit-reset") or "").isdigit():
        asked = max(0.0, float(_header(exc, "x-ratelimit-reset") or 0) - datetime.now(UTC).timestamp())
    elif is_secondary_rate_limit(exc):
        asked = max(policy.backoff(attempt), policy.secondary_limit_default)
    elif exc.status >= 500:
        asked = policy.backoff(attempt)
    else:
        return None
    if asked > policy.max_delay:
        raise UnavailableError(
            f"GitHub asks to wait {asked:.0f}s before the next request (rate limit): nothing more was sent; "
            "try again after that time"
        ) from exc
    return asked


def describe(exc: Exception) -> str:
    from github.GithubException import GithubException

    if isinstance(exc, GithubException):
        return f"HTTP {exc.status} {_message(exc)}".strip()
    return type(exc).__name__


@dataclass(frozen=True)
class Classifier:
    """A forge's view of its failures: `wait_for` returns seconds to wait before trying again, or None
    when the failure is not transient (it may raise UnavailableError when the wait is too long)."""

    name: str
    wait_for: Callable[[Exception, RetryPolicy, int], float | None]
    describe: Callable[[Exception], str]


GITHUB = Classifier("GitHub", wait_for, describe)


def with_retries(
    policy: RetryPolicy,
    call: Callable[[], T],
    what: str,
    sleep: Sleep = time.sleep,
    classifier: Classifier = GITHUB,
    find_existing: Callable[[], T | None] | None = None,
) -> T:
    """`call()` until it succeeds, a failure is not transient (re-raised unchanged), or the attempts are
    used up. For a create, pass `find_existing`: after each transient failure it is asked whether the
    call happened anyway, so the thing is made at most once."""
    then = "checking whether it happened, then retrying" if find_existing else "retrying"
    for attempt in range(policy.attempts):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - classified just below, the rest re-raised
            wait = classifier.wait_for(exc, policy, attempt)
            if wait is None:
                raise
            last = attempt + 1 >= policy.attempts
            if not last:
                log.info(
                    "%s %s: %s, %s in %.1fs", classifier.name, what, classifier.describe(exc), then, wait
                )
                sleep(wait)
            if find_existing is not None:
                found = with_retries(policy, find_existing, f"{what} (lookup)", sleep, classifier)
                if found is not None:
                    return found
            if last:
                raise gave_up(what, exc, policy, classifier) from exc
    raise AssertionError("unreachable")


def gave_up(
    what: str, exc: Exception, policy: RetryPolicy, classifier: Classifier = GITHUB
) -> UnavailableError:
    name = classifier.name
    return UnavailableError(
        f"{name} {what} failed {policy.attempts} times ({classifier.describe(exc)}): {name} seems "
        "unavailable; try again later (nothing was duplicated)"
    )
