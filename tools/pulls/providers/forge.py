"""What the forge providers (GitHub, GitLab) share: every text that leaves them scrubbed of the token,
calls retried through `retry.py` with the forge's failures turned into messages that say what to do, a
push confirmed on the forge, the token handed to git through its environment, and a page of our pull
requests picked from the forge's newest-first listing.

A provider sets the class attributes (`forge`, `home`, `error`, `classifier`, `scrubbed`) and `_token`,
`base_url`, `policy`, `_sleep` in its `__init__`, and implements `_problem`.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import ClassVar, Generic, TypeVar

import requests

from ...code.repo_config import RepoConfig
from ...errors.redact import redact_secrets
from ...support.problems import NotFoundError, ToolInputError, UnavailableError
from .. import git
from ..retry import Classifier, RetryPolicy, Sleep, with_retries

T = TypeVar("T")
E = TypeVar("E", bound=Exception)


def basic_auth_env(url: str, credentials: str) -> dict[str, str]:
    """`credentials` (user:secret) as a basic-auth header scoped to `url`, for git's environment only."""
    basic = base64.b64encode(credentials.encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{url}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }


def first_numbers(listed: Iterable[tuple[int, bool]], before_number: int | None, limit: int) -> list[int]:
    """The first `limit` wanted numbers below `before_number` of a newest-first (number, wanted) listing."""
    chosen: list[int] = []
    for number, wanted in listed:
        if (before_number is not None and number >= before_number) or not wanted:
            continue
        chosen.append(number)
        if len(chosen) >= limit:
            break
    return chosen


class ForgeProvider(Generic[E]):
    forge: ClassVar[str]  # "GitHub": how messages name it
    home: ClassVar[str]  # "repository": what a repo is there
    error: type[E]  # the client library's failure
    classifier: ClassVar[Classifier]  # which failures are transient (retry.py)
    scrubbed: ClassVar[tuple[type[Exception], ...]] = ()  # errors re-raised scrubbed, besides Unavailable

    _token: str
    base_url: str
    policy: RetryPolicy
    _sleep: Sleep

    def __init__(self) -> None:
        self._cache: dict[str, object] = {}
        self._lock = threading.Lock()

    def _cached(self, key: str, make: Callable[[], T]) -> T:
        """The client's object for `key` (a lazy one: no request until something is read), made once."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]  # type: ignore[return-value]

    # -- errors -------------------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        if self._token:
            text = text.replace(self._token, "***")
        return redact_secrets(text, redact_emails=False)

    def _problem(self, exc: E, what: str, repo: RepoConfig) -> Exception:
        raise NotImplementedError

    def _call(self, call: Callable[[], T], what: str, repo: RepoConfig) -> T:
        """`call()` with retries, the forge's failures turned into messages that say what to do."""
        with self._reaching(what):
            try:
                return with_retries(self.policy, call, what, self._sleep, self.classifier)
            except self.error as exc:
                raise self._problem(exc, what, repo) from exc

    def _once(self, send: Callable[[], T], existing: Callable[[], T | None], what: str) -> T:
        """`send()` with retries, asking `existing()` after each transient failure so it happens once."""
        return with_retries(self.policy, send, what, self._sleep, self.classifier, existing)

    @contextmanager
    def _reaching(self, what: str) -> Iterator[None]:
        """Network failures and exhausted retries become UnavailableError, with the token scrubbed."""
        try:
            yield
        except requests.RequestException as exc:
            raise UnavailableError(
                self.scrub(f"cannot reach {self.forge} at {self.base_url} ({what}): {type(exc).__name__}")
            ) from exc
        except UnavailableError as exc:
            raise UnavailableError(self.scrub(str(exc))) from exc
        except self.scrubbed as exc:
            raise type(exc)(self.scrub(str(exc))) from exc

    # -- pushing and listing -------------------------------------------------------------------------

    def _confirm_pushed(
        self, repo: RepoConfig, branch: str, shown: str, where: str, read_head: Callable[[], str]
    ) -> None:
        """The forge has `branch` at our commit, so `remote` really is that repository."""
        local = git.commit_of(repo.path, branch)
        fix = f"the repo's `remote` must be that {self.forge} {self.home} (or leave `remote` unset)"
        try:
            pushed = self._call(read_head, "read the pushed branch", repo)
        except NotFoundError as exc:
            raise UnavailableError(
                f"pushed {branch!r} to {shown}, but {self.forge} {self.home} {where} has no such branch: {fix}"
            ) from exc
        if pushed != local:
            raise UnavailableError(
                f"pushed {branch!r} to {shown}, but {self.forge}'s {where} has it at another commit: {fix}"
            )

    def _push(self, repo: RepoConfig, remote: str, branch: str, env: dict[str, str]) -> None:
        try:
            git.push_branch(repo.path, remote, branch, extra_env=env)
        except (ToolInputError, UnavailableError) as exc:
            raise type(exc)(self._push_failed(self.scrub(str(exc)))) from exc

    def _push_failed(self, text: str) -> str:
        """A failed push's (scrubbed) message, with what to do where the forge knows better."""
        return text
