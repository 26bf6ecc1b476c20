"""What GitHub's answers mean for the `github` provider: its failures as errors that say what to do,
its timestamps and its web address. Kept apart so `github.py` stays about requests.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from github.GithubException import BadCredentialsException, GithubException, UnknownObjectException

from ...code.repo_config import RepoConfig
from ...support.problems import NotFoundError, ToolInputError, UnavailableError
from ..retry import describe


def web_url(base_url: str) -> str:
    """github.com for api.github.com; https://host for GitHub Enterprise's https://host/api/v3."""
    parts = urlsplit(base_url)
    host = parts.netloc.removeprefix("api.") if parts.netloc == "api.github.com" else parts.netloc
    return f"{parts.scheme}://{host}"


def problem(exc: GithubException, what: str, repo: RepoConfig, scrub: Callable[[str], str]) -> Exception:
    """GitHub's failure as the error a caller can act on, every text scrubbed of the token."""
    detail = scrub(describe(exc))
    full = repo.github or repo.name
    if isinstance(exc, BadCredentialsException) or exc.status == 401:
        return UnavailableError(
            f"GitHub rejected the token ({detail}) while trying to {what}: set a valid GITHUB_TOKEN "
            "(or SELF_IMPROVER_GITHUB_TOKEN) for the server and restart it"
        )
    if isinstance(exc, UnknownObjectException) or exc.status == 404:
        return NotFoundError(
            f'GitHub answered 404 while trying to {what} in {full}: check `github = "owner/name"` in the '
            f"[[repos]] table of {repo.name!r} and that the token can see that repository"
        )
    if exc.status == 403:
        return UnavailableError(
            f"GitHub refused to {what} in {full} ({detail}): the token needs read/write access to "
            "contents, pull requests and issues of that repository"
        )
    if exc.status == 422:
        errors = exc.data.get("errors") if isinstance(exc.data, dict) else None
        reasons = "; ".join(
            scrub(str(e.get("message") or f"{e.get('field')} {e.get('code')}"))
            if isinstance(e, dict)
            else scrub(str(e))
            for e in errors or []
        )
        hint = (
            " (pass draft=false: this repository does not accept draft pull requests)"
            if "draft" in reasons.lower()
            else ""
        )
        return ToolInputError(
            f"GitHub refused to {what} in {full}: {detail}{': ' + reasons if reasons else ''}{hint}"
        )
    return UnavailableError(f"GitHub failed to {what} in {full} ({detail}): try again later")
