"""The `github` provider: PyGithub against github.com or a GitHub Enterprise `base_url`.

The token comes only from settings (GITHUB_TOKEN, or [providers.github] token). It reaches GitHub in
the Authorization header and git through an environment-scoped http.extraHeader, never a command line,
a URL, a log line or a message: every text that leaves this module is scrubbed of it.
PyGithub's own retry is off; `retry.py` decides what to retry, so a create is never sent twice blindly.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Literal

from github import Auth, Github
from github.GithubException import GithubException
from github.PullRequest import PullRequest as GitHubPull
from github.Repository import Repository

from ...code.repo_config import RepoConfig
from ...support.clock import iso_z
from ...support.problems import NotFoundError, ToolInputError
from ..checks import combine
from ..marker import LABEL, is_ours, parse_marker
from ..models import PullRequest, StateFilter, Status
from ..retry import GITHUB, RetryPolicy, Sleep, describe
from .base import FileChange, MergeOutcome, MergeSnapshot, PullDraft
from .forge import ForgeProvider, basic_auth_env, first_numbers
from .github_errors import problem, web_url

MAX_SCAN = 500  # issues looked at when searching for our pull requests (open ones are few: max_open_prs)
MAX_CHECK_RUNS = 100
MAX_MERGE_FILES = 100  # files read for the auto-merge policy; far above any max_files it allows


class GitHubProvider(ForgeProvider[GithubException]):
    name: Literal["github"] = "github"
    keeps_own_records = False  # pulls.db only remembers what GitHub said
    forge, home, error, classifier = "GitHub", "repository", GithubException, GITHUB

    def __init__(
        self,
        token: str,
        base_url: str,
        policy: RetryPolicy | None = None,
        timeout: int = 15,
        seconds_between_writes: float | None = 1.0,
        sleep: Sleep = time.sleep,
    ):
        super().__init__()
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._client = Github(
            auth=Auth.Token(token),
            base_url=self.base_url,
            timeout=timeout,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=seconds_between_writes,
            lazy=True,  # objects are fetched when read: a commit's checks cost two calls, not three
        )

    def _problem(self, exc: GithubException, what: str, repo: RepoConfig) -> Exception:
        return problem(exc, what, repo, self.scrub)

    # -- repositories and branches -------------------------------------------------------------------

    def full_name(self, repo: RepoConfig) -> str:
        if not repo.github:
            raise ToolInputError(
                f'repo {repo.name!r} has no `github = "owner/name"` in its [[repos]] table: add it, or set '
                "pr_provider = 'local' to keep pull requests local"
            )
        return repo.github

    def _repo(self, repo: RepoConfig) -> Repository:
        full = self.full_name(repo)
        return self._cached(full, lambda: self._client.get_repo(full))

    def remote_for(self, repo: RepoConfig) -> str:
        return repo.remote or f"{web_url(self.base_url)}/{self.full_name(repo)}.git"

    def _git_auth(self, remote: str) -> dict[str, str]:
        """The token as an http header scoped to GitHub's host, passed through git's environment."""
        web = web_url(self.base_url)
        if not remote.startswith(web + "/"):
            return {}  # another host or ssh: its own credentials apply, ours never leave for it
        return basic_auth_env(web, f"x-access-token:{self._token}")

    def push(self, repo: RepoConfig, branch: str) -> str:
        """Push, then confirm GitHub sees the branch at our commit (so `remote` is really that repo)."""
        remote = self.remote_for(repo)
        shown = self.scrub(remote)
        self._push(repo, remote, branch, self._git_auth(remote))
        github_repo = self._repo(repo)
        self._confirm_pushed(
            repo,
            branch,
            shown,
            str(repo.github),
            lambda: github_repo.get_git_ref(f"heads/{branch}").object.sha,
        )
        return shown

    # -- pull requests -------------------------------------------------------------------------------

    def _checks(self, github_repo: Repository, sha: str) -> Any:
        commit = github_repo.get_commit(sha)
        statuses = [s.state for s in commit.get_combined_status().statuses]
        runs = [
            (r.status, r.conclusion)
            for _, r in zip(range(MAX_CHECK_RUNS), commit.get_check_runs(), strict=False)
        ]
        return combine(statuses, runs)

    def _model(
        self, repo: RepoConfig, github_repo: Repository, pull: GitHubPull, labels: Iterable[str] = ()
    ) -> PullRequest:
        signature, finding_id = parse_marker(pull.body)
        names = sorted({label.name for label in pull.labels} | set(labels))
        status: Status = (
            "merged" if pull.merged_at is not None else "open" if pull.state == "open" else "closed"
        )
        return PullRequest(
            repo=repo.name,
            number=pull.number,
            title=pull.title,
            status=status,
            draft=bool(pull.draft),
            checks=self._checks(github_repo, pull.head.sha),
            signature=signature,
            finding_id=finding_id,
            url=pull.html_url,
            head=pull.head.ref,
            base=pull.base.ref,
            labels=names,
            created_at=iso_z(pull.created_at) if pull.created_at else "",
            updated_at=iso_z(pull.updated_at) if pull.updated_at else "",
            merged_at=iso_z(pull.merged_at) if pull.merged_at else None,
        )

    def get(self, repo: RepoConfig, number: int) -> PullRequest:
        github_repo = self._repo(repo)
        try:
            return self._call(
                lambda: self._model(repo, github_repo, github_repo.get_pull(number)),
                f"read pull request #{number}",
                repo,
            )
        except NotFoundError as exc:
            raise NotFoundError(
                f"no pull request #{number} in {repo.github}: list them with list_pull_requests"
            ) from exc

    def _ours(self, repo: RepoConfig, state: str) -> Iterable[Any]:
        """Issues labelled self-improver that are pull requests, newest first (GitHub filters the label)."""
        issues = self._repo(repo).get_issues(state=state, labels=[LABEL], sort="created", direction="desc")
        for _, issue in zip(range(MAX_SCAN), issues, strict=False):
            if issue.pull_request is not None:
                yield issue

    def find_open_by_signature(self, repo: RepoConfig, signature: str) -> PullRequest | None:
        def scan() -> int | None:
            return next(
                (
                    i.number
                    for i in self._ours(repo, "open")
                    if is_ours([lb.name for lb in i.labels], i.body, signature)
                ),
                None,
            )

        number = self._call(scan, "look for an open pull request of this signature", repo)
        return None if number is None else self.get(repo, number)

    def _open_by_head(self, github_repo: Repository, repo: RepoConfig, branch: str) -> GitHubPull | None:
        owner = self.full_name(repo).split("/")[0]
        return next(iter(github_repo.get_pulls(state="open", head=f"{owner}:{branch}")), None)

    def find_open_by_head(self, repo: RepoConfig, branch: str) -> PullRequest | None:
        github_repo = self._repo(repo)
        found = self._call(
            lambda: self._open_by_head(github_repo, repo, branch), "look up pull requests of the branch", repo
        )
        return (
            None
            if found is None
            else self._call(lambda: self._model(repo, github_repo, found), "read checks", repo)
        )

    def count_open(self, repos: list[RepoConfig]) -> int:
        total = 0
        for repo in repos:
            if repo.github:
                total += self._call(
                    lambda repo=repo: sum(1 for i in self._ours(repo, "open") if parse_marker(i.body)[0]),  # type: ignore[misc]
                    "count open self-improver pull requests",
                    repo,
                )
        return total

    def create(self, draft: PullDraft, run_id: str) -> PullRequest:
        repo = draft.repo
        github_repo = self._repo(repo)

        def send() -> GitHubPull:
            return github_repo.create_pull(
                base=repo.default_branch,
                head=draft.branch,
                title=draft.title,
                body=draft.body,
                draft=draft.draft,
            )

        def existing() -> GitHubPull | None:
            return self._open_by_head(github_repo, repo, draft.branch)

        with self._reaching("create the pull request"):
            try:
                pull = self._once(send, existing, "create the pull request")
            except GithubException as exc:
                already = exc.status == 422 and "already exists" in str(exc.data).lower()
                found = self._call(existing, "look up pull requests of the branch", repo) if already else None
                if found is None:
                    raise self._problem(exc, "create the pull request", repo) from exc
                pull = found
        self._call(lambda: pull.add_to_labels(*draft.labels), "label the pull request", repo)
        return self._call(lambda: self._model(repo, github_repo, pull, draft.labels), "read checks", repo)

    def page(
        self, repo: RepoConfig, state: StateFilter, before_number: int | None, limit: int
    ) -> list[PullRequest]:
        api_state = {"open": "open", "merged": "closed", "closed": "closed", "all": "all"}[state]

        def wanted(merged: bool) -> bool:
            return not ((state == "merged" and not merged) or (state == "closed" and merged))

        def numbers() -> list[int]:
            listed = (
                (issue.number, wanted(issue.pull_request.merged_at is not None))
                for issue in self._ours(repo, api_state)
            )
            return first_numbers(listed, before_number, limit)

        return [self.get(repo, n) for n in self._call(numbers, "list pull requests", repo)]

    def comment(self, repo: RepoConfig, number: int, body: str) -> None:
        """POST /issues/{n}/comments; after a transient failure the comments are read before re-sending."""
        issue = self._repo(repo).get_issue(number)  # lazy: no request yet

        def existing() -> object | None:
            return next((c for c in issue.get_comments() if c.body == body), None)

        with self._reaching("comment on the pull request"):
            try:
                self._once(lambda: issue.create_comment(body), existing, "comment")
            except GithubException as exc:
                raise self._problem(exc, f"comment on pull request #{number}", repo) from exc

    def close(self) -> None:
        self._client.close()

    # -- merging: squash exactly the evaluated head, after the auto-merge policy allowed it ------------

    def merge_snapshot(self, repo: RepoConfig, number: int) -> MergeSnapshot:
        github_repo = self._repo(repo)

        def read() -> MergeSnapshot:
            pull = github_repo.get_pull(number)
            model = self._model(repo, github_repo, pull)  # checks of exactly pull.head.sha
            head = pull.head.sha
            if model.status != "open":
                return MergeSnapshot(model, head, notes=[f"it is {model.status}"], diff_read=False)
            files: list[FileChange] = []
            truncated = False
            for index, changed in enumerate(pull.get_files()):
                if index >= MAX_MERGE_FILES:
                    truncated = True
                    break
                binary = changed.patch is None and changed.changes == 0 and changed.status != "removed"
                files.append(FileChange(changed.filename, changed.additions, changed.deletions, binary))
                if changed.previous_filename:  # a rename also removes the old path
                    files.append(FileChange(changed.previous_filename))
            return MergeSnapshot(model, head, files, truncated, pull.mergeable)

        try:
            return self._call(read, f"read pull request #{number} and its files", repo)
        except NotFoundError as exc:
            raise NotFoundError(
                f"no pull request #{number} in {repo.github}: list them with list_pull_requests"
            ) from exc

    def merge(self, repo: RepoConfig, snapshot: MergeSnapshot, title: str, message: str) -> MergeOutcome:
        """PUT /pulls/{n}/merge with merge_method=squash and sha=<evaluated head>: sent at most once."""
        github_repo = self._repo(repo)
        number, base, head = snapshot.pull.number, snapshot.pull.base, snapshot.head_sha
        if head is None:
            raise ToolInputError(f"the head commit of pull request #{number} is unknown: nothing was merged")
        before = self._call(
            lambda: github_repo.get_git_ref(f"heads/{base}").object.sha, "read the default branch", repo
        )
        pull = github_repo.get_pull(number)  # lazy: the merge is the first request it makes

        def send() -> str:
            status = pull.merge(commit_title=title, commit_message=message, merge_method="squash", sha=head)
            if not status.merged:
                raise ToolInputError(
                    f"GitHub did not merge pull request #{number}: {self.scrub(status.message)}"
                )
            return status.sha

        def merged_meanwhile() -> str | None:
            fresh = github_repo.get_pull(number)
            return fresh.merge_commit_sha if fresh.merged else None

        with self._reaching("merge the pull request"):
            try:
                sha = self._once(send, merged_meanwhile, "merge the pull request")
            except GithubException as exc:
                if exc.status in (405, 409, 422):
                    raise ToolInputError(
                        f"GitHub refused to merge pull request #{number} in {repo.github} "
                        f"({self.scrub(describe(exc))}): nothing was merged. If its head moved, call "
                        "merge_pull_request again to evaluate the new head"
                    ) from exc
                raise self._problem(exc, "merge the pull request", repo) from exc
        return MergeOutcome(before_sha=before, after_sha=sha, method="squash")

    def git_remote(self, repo: RepoConfig) -> tuple[str, dict[str, str]]:
        remote = self.remote_for(repo)
        return remote, self._git_auth(remote)
