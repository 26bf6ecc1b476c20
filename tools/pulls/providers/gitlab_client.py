"""The GitLab client, and what its failures mean for `retry.py` (the GITLAB classifier: RetryPolicy, look up before re-sending a create).

python-gitlab's own retrying is switched off for every request: it sleeps as long as a 429 asks
(an hour, if GitLab says so) and re-sends a POST after a 5xx, which can open a second merge request.
Here a wait GitLab asks for (Retry-After, RateLimit-Reset) is honoured up to `policy.max_delay`, and
a create is looked up before each retry. python-gitlab drops response headers from its errors, so the
client records them per thread and attaches them to the error it raises.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import gitlab
import requests
from gitlab.exceptions import GitlabAuthenticationError, GitlabError, GitlabHttpError

from ...code.repo_config import RepoConfig
from ...support.problems import NotFoundError, ToolInputError, UnavailableError
from ..retry import Classifier, RetryPolicy
from .forge import basic_auth_env


def project_path(repo: RepoConfig) -> str:
    """The GitLab project (`group/subgroup/name`) of `repo`: its `project`, else its `github` value."""
    path = getattr(repo, "project", None) or repo.github
    if not path:
        raise ToolInputError(
            f'repo {repo.name!r} has no `project = "group/name"` in its [[repos]] table: add the GitLab '
            "project path (e.g. 'acme/worker' or 'acme/backend/worker'), or set pr_provider = 'local' to "
            "keep pull requests local"
        )
    return str(path)


def web_base(base_url: str) -> str:
    """https://gitlab.example.com for that URL with or without a trailing /api/v4."""
    return base_url.rstrip("/").removesuffix("/api/v4").rstrip("/")


def git_auth(base_url: str, token: str, remote: str) -> dict[str, str]:
    """`oauth2:<token>` as a basic-auth header scoped to GitLab's URL, through git's environment only."""
    if not token or not remote.startswith(base_url + "/"):
        return {}  # another host or ssh: its own credentials apply, ours never leave for it
    return basic_auth_env(base_url, f"oauth2:{token}")


class HeaderError(GitlabHttpError):
    """A GitlabHttpError that keeps the response headers (Retry-After) python-gitlab would drop."""

    def __init__(self, original: GitlabHttpError, headers: Mapping[str, str]):
        super().__init__(original.error_message, original.response_code, original.response_body)
        self.headers = {key.lower(): value for key, value in headers.items()}


class GitLabClient(gitlab.Gitlab):
    """python-gitlab without its own retries, recording each response's headers for the error path."""

    def __init__(self, *args: Any, **kwargs: Any):
        session = requests.Session()
        self._seen = threading.local()
        session.hooks["response"].append(self._remember)
        super().__init__(*args, session=session, **kwargs)

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._seen.headers = response.headers

    def http_request(self, verb: str, path: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["obey_rate_limit"] = False
        kwargs["retry_transient_errors"] = False
        self._seen.headers = {}
        try:
            return super().http_request(verb, path, *args, **kwargs)
        except HeaderError:
            raise
        except GitlabHttpError as exc:
            raise HeaderError(exc, getattr(self._seen, "headers", {}) or {}) from exc


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a GitLab error (also when python-gitlab re-raised it as GitlabCreateError etc.)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, GitlabError) and seen.response_code is not None:
            return int(seen.response_code)
        seen = seen.__cause__
    return None


def header_of(exc: BaseException, name: str) -> str | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, HeaderError):
            return seen.headers.get(name.lower())
        seen = seen.__cause__
    return None


def describe(exc: Exception) -> str:
    if not isinstance(exc, GitlabError):
        return type(exc).__name__
    message = exc.error_message
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    status = status_of(exc)
    if status is None or text.startswith(str(status)):  # GitLab's own "401 Unauthorized"
        return text or type(exc).__name__
    return f"HTTP {status} {text}".strip()


def push_hint(text: str, has_token: bool) -> str:
    """A failed push's message, with what to do when GitLab refused the credentials."""
    if (
        "Authentication failed" not in text
        and "Access denied" not in text
        and "returned error: 403" not in text
    ):
        return text
    if not has_token:
        return f"{text}: no GitLab token is set; give the server one with the `write_repository` scope"
    return (
        f"{text}: GitLab refused the token for git over HTTPS; it needs the `write_repository` scope "
        "and at least the Developer role in the project"
    )


def wait_for(exc: Exception, policy: RetryPolicy, attempt: int) -> float | None:
    """Seconds to wait before trying again, or None when `exc` is not worth retrying."""
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return policy.backoff(attempt)
    if not isinstance(exc, GitlabError):
        return None
    status = status_of(exc)
    if status is None or (status != 429 and status < 500):
        return None
    retry_after = (header_of(exc, "retry-after") or "").strip()
    reset = (header_of(exc, "ratelimit-reset") or "").strip()
    if retry_after.isdigit():
        asked = float(retry_after)
    elif status == 429 and reset.isdigit():
        asked = max(0.0, float(reset) - datetime.now(UTC).timestamp())
    else:
        asked = policy.backoff(attempt)
    if asked > policy.max_delay:
        raise UnavailableError(
            f"GitLab asks to wait {asked:.0f}s before the next request (rate limit): nothing more was sent; "
            "try again after that time"
        ) from exc
    return asked


GITLAB = Classifier("GitLab", wait_for, describe)  # retry.with_retries with GitLab's rules


def problem(exc: GitlabError, what: str, repo: RepoConfig, detail: str, has_token: bool) -> Exception:
    """GitLab's failure as the project's error, saying what to do; `detail` is already scrubbed."""
    status = status_of(exc)
    where = getattr(repo, "project", None) or repo.github or repo.name
    if isinstance(exc, GitlabAuthenticationError) or status == 401:
        if not has_token:
            return UnavailableError(
                f"no GitLab token is set, and GitLab requires one to {what}: give the server a project "
                "access token with the `api` scope (and the Developer role), then restart it"
            )
        return UnavailableError(
            f"GitLab rejected the token ({detail}) while trying to {what}: give the server a valid "
            "GitLab access token with the `api` scope and restart it"
        )
    if status == 404:
        return NotFoundError(
            f'GitLab answered 404 while trying to {what} in {where}: check `project = "group/name"` in the '
            f"[[repos]] table of {repo.name!r} and that the token can see that project"
        )
    if status == 403:
        return UnavailableError(
            f"GitLab refused to {what} in {where} ({detail}): the token needs the `api` scope and at least "
            "the Developer role in that project"
        )
    if status in (400, 405, 406, 409, 422):
        return ToolInputError(f"GitLab refused to {what} in {where}: {detail}")
    return UnavailableError(f"GitLab failed to {what} in {where} ({detail}): try again later")
