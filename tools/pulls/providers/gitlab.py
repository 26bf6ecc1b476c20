"""The `gitlab` provider: merge requests through python-gitlab, on gitlab.com or a self-managed instance.

The token (a project, group or personal access token with the `api` scope) reaches GitLab in the
PRIVATE-TOKEN header and git as `oauth2:<token>` basic credentials in an environment-scoped
http.extraHeader, never a command line, a URL, a log line or a message: every text that leaves this
module is scrubbed of it. python-gitlab's own retries are off; `gitlab_client.py` decides what to
retry, and a merge request is looked up (by its branch) before a create is ever sent again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from gitlab.exceptions import GitlabError
from gitlab.v4.objects import Project

from ...code.repo_config import RepoConfig
from ...support.problems import NotFoundError, ToolInputError, UnavailableError
from .. import git
from ..marker import LABEL, is_ours, parse_marker
from ..models import PullRequest, StateFilter
from ..retry import RetryPolicy, Sleep
from .base import MergeOutcome, MergeSnapshot, PullDraft
from .forge import ForgeProvider, first_numbers
from .gitlab_client import (
    GITLAB,
    GitLabClient,
    describe,
    git_auth,
    problem,
    project_path,
    push_hint,
    status_of,
    web_base,
)
from .gitlab_merge import (
    draft_title,
    file_changes,
    head_checks,
    label_names,
    mergeability,
    merged_sha,
    mr_status,
    pull_request,
    read_diffs,
    same_note,
)

MAX_SCAN = 500  # merge requests looked at when searching for ours (open ones are few: max_open_prs)
MAX_MERGE_FILES = 100  # files read for the auto-merge policy; far above any max_files it allows
MERGE_POLLS = 5  # GitLab may finish a merge just after answering; how often to look again


class GitLabProvider(ForgeProvider[GitlabError]):
    name: Literal["gitlab"] = "gitlab"
    keeps_own_records = False  # pulls.db only remembers what GitLab said
    forge, home, error, classifier = "GitLab", "project", GitlabError, GITLAB
    scrubbed = (ToolInputError,)

    def __init__(
        self,
        token: str | None,
        base_url: str = "https://gitlab.com",
        data_dir: Path | None = None,
        *,
        policy: RetryPolicy | None = None,
        timeout: float = 15,
        sleep: Sleep = time.sleep,
    ):
        super().__init__()
        self._token = token or ""
        self.base_url = web_base(base_url)
        self.data_dir = data_dir
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._client = GitLabClient(self.base_url, private_token=token or None, timeout=timeout)

    def _problem(self, exc: GitlabError, what: str, repo: RepoConfig) -> Exception:
        return problem(exc, what, repo, self.scrub(describe(exc)), has_token=bool(self._token))

    # -- projects and branches -----------------------------------------------------------------------

    def _project(self, repo: RepoConfig) -> Project:
        path = project_path(repo)
        return self._cached(path, lambda: self._client.projects.get(path, lazy=True))

    def remote_for(self, repo: RepoConfig) -> str:
        return repo.remote or f"{self.base_url}/{project_path(repo)}.git"

    def _branch_head(self, project: Project, branch: str) -> str:
        return str(project.branches.get(branch).commit["id"])

    def _push_failed(self, text: str) -> str:
        return push_hint(text, has_token=bool(self._token))

    def push(self, repo: RepoConfig, branch: str) -> str:
        """Push, then confirm GitLab sees the branch at our commit (so `remote` is really that project)."""
        remote = self.remote_for(repo)
        shown = self.scrub(git.redact_remote(remote))
        self._push(repo, remote, branch, git_auth(self.base_url, self._token, remote))
        project = self._project(repo)
        self._confirm_pushed(
            repo, branch, shown, project_path(repo), lambda: self._branch_head(project, branch)
        )
        return shown

    # -- merge requests ------------------------------------------------------------------------------

    def _model(self, repo: RepoConfig, project: Project, mr: dict[str, Any]) -> PullRequest:
        web = f"{self.base_url}/{project_path(repo)}/-/merge_requests/{mr['iid']}"
        return pull_request(repo.name, mr, head_checks(project, mr), web)

    def _read(self, project: Project, number: int) -> dict[str, Any]:
        return dict(project.mergerequests.get(number).attributes)

    def _not_found(self, repo: RepoConfig, number: int) -> NotFoundError:
        return NotFoundError(
            f"no merge request !{number} in {project_path(repo)}: list them with list_pull_requests"
        )

    def get(self, repo: RepoConfig, number: int) -> PullRequest:
        project = self._project(repo)
        try:
            return self._call(
                lambda: self._model(repo, project, self._read(project, number)),
                f"read merge request !{number}",
                repo,
            )
        except NotFoundError as exc:
            raise self._not_found(repo, number) from exc

    def _ours(self, repo: RepoConfig, state: str) -> Iterator[dict[str, Any]]:
        """Merge requests labelled self-improver, newest first (GitLab filters the label)."""
        listed = self._project(repo).mergerequests.list(
            state=state, labels=[LABEL], order_by="created_at", sort="desc", per_page=100, iterator=True
        )
        for _, mr in zip(range(MAX_SCAN), listed, strict=False):
            yield dict(mr.attributes)

    def _open_by_signature(self, repo: RepoConfig, signature: str) -> int | None:
        return next(
            (
                int(mr["iid"])
                for mr in self._ours(repo, "opened")
                if is_ours(label_names(mr.get("labels")), mr.get("description"), signature)
            ),
            None,
        )

    def find_open_by_signature(self, repo: RepoConfig, signature: str) -> PullRequest | None:
        number = self._call(
            lambda: self._open_by_signature(repo, signature),
            "look for an open merge request of this signature",
            repo,
        )
        return None if number is None else self.get(repo, number)

    def _open_by_head(self, project: Project, repo: RepoConfig, branch: str) -> dict[str, Any] | None:
        listed = project.mergerequests.list(
            state="opened",
            source_branch=branch,
            target_branch=repo.default_branch,
            per_page=20,
            get_all=False,
        )
        return dict(listed[0].attributes) if listed else None

    def find_open_by_head(self, repo: RepoConfig, branch: str) -> PullRequest | None:
        project = self._project(repo)
        found = self._call(
            lambda: self._open_by_head(project, repo, branch), "look up merge requests of the branch", repo
        )
        return None if found is None else self.get(repo, int(found["iid"]))

    def count_open(self, repos: list[RepoConfig]) -> int:
        total = 0
        for repo in repos:
            if getattr(repo, "project", None) or repo.github:
                total += self._call(
                    lambda repo=repo: sum(  # type: ignore[misc]
                        1 for mr in self._ours(repo, "opened") if parse_marker(mr.get("description"))[0]
                    ),
                    "count open self-improver merge requests",
                    repo,
                )
        return total

    def create(self, draft: PullDraft, run_id: str) -> PullRequest:
        """Look for an open MR of the signature first; after a failed POST, look (by branch) again."""
        repo = draft.repo
        already = self.find_open_by_signature(repo, draft.signature)
        if already is not None:
            return already
        project = self._project(repo)
        labels = sorted({LABEL, *draft.labels})

        def send() -> dict[str, Any]:
            created = project.mergerequests.create(
                {
                    "source_branch": draft.branch,
                    "target_branch": repo.default_branch,
                    "title": draft_title(draft.title, draft.draft),
                    "description": draft.body,
                    "labels": ",".join(labels),  # GitLab's documented form: comma-separated
                }
            )
            return dict(created.attributes)

        def existing() -> dict[str, Any] | None:
            return self._open_by_head(project, repo, draft.branch)

        with self._reaching("create the merge request"):
            try:
                mr = self._once(send, existing, "create the merge request")
            except GitlabError as exc:
                # 409: "Another open merge request already exists for this source branch"
                found = (
                    self._call(existing, "look up merge requests of the branch", repo)
                    if status_of(exc) == 409
                    else None
                )
                if found is None:
                    raise self._problem(exc, "create the merge request", repo) from exc
                mr = found
        return self.get(repo, int(mr["iid"]))

    def page(
        self, repo: RepoConfig, state: StateFilter, before_number: int | None, limit: int
    ) -> list[PullRequest]:
        api_state = {"open": "opened", "merged": "merged", "closed": "closed", "all": "all"}[state]

        def numbers() -> list[int]:
            listed = (
                (int(mr["iid"]), state == "all" or mr_status(mr.get("state")) == state)
                for mr in self._ours(repo, api_state)
            )
            return first_numbers(listed, before_number, limit)

        return [self.get(repo, n) for n in self._call(numbers, "list merge requests", repo)]

    def comment(self, repo: RepoConfig, number: int, body: str) -> None:
        """A note on the merge request; after a transient failure its notes are read before re-sending."""
        notes = self._project(repo).mergerequests.get(number, lazy=True).notes
        send, existing = lambda: notes.create({"body": body}), lambda: same_note(notes, body)
        with self._reaching("comment on the merge request"):
            try:
                self._once(send, existing, "comment")
            except GitlabError as exc:
                raise self._problem(exc, f"comment on merge request !{number}", repo) from exc

    def close(self) -> None:
        self._client.session.close()

    # -- merging: exactly the evaluated head, after the auto-merge policy allowed it -----------------

    def merge_snapshot(self, repo: RepoConfig, number: int) -> MergeSnapshot:
        project = self._project(repo)

        def read() -> MergeSnapshot:
            mr = self._read(project, number)
            model = self._model(repo, project, mr)  # the pipeline of exactly mr["sha"]
            head = mr.get("sha")
            if model.status != "open":
                return MergeSnapshot(model, head, notes=[f"it is {model.status}"], diff_read=False)
            entries, truncated = read_diffs(self._client, project.mergerequests.path, number, MAX_MERGE_FILES)
            files, notes = file_changes(entries)
            mergeable, why = mergeability(mr)
            return MergeSnapshot(model, head, files, truncated, mergeable, notes + ([why] if why else []))

        try:
            return self._call(read, f"read merge request !{number} and its changes", repo)
        except NotFoundError as exc:
            raise self._not_found(repo, number) from exc

    def _squash_allowed(self, path: str) -> bool:
        """Squash unless the project forbids it (`squash_option = never`: GitLab refuses a squash then)."""
        return getattr(self._client.projects.get(path), "squash_option", None) != "never"

    def merge(self, repo: RepoConfig, snapshot: MergeSnapshot, title: str, message: str) -> MergeOutcome:
        """PUT …/merge_requests/:iid/merge with sha=<evaluated head>, squashed where the project allows it:
        sent at most once."""
        project = self._project(repo)
        number, base, head = snapshot.pull.number, snapshot.pull.base, snapshot.head_sha
        refused = (
            "nothing was merged. If its head moved, call merge_pull_request again to evaluate the new head"
        )
        if head is None:
            raise ToolInputError(f"the head commit of merge request !{number} is unknown: nothing was merged")
        try:
            before: str | None = self._call(
                lambda: self._branch_head(project, base), "read the default branch", repo
            )
        except NotFoundError:
            before = None
        current = self._call(lambda: self._read(project, number), f"read merge request !{number}", repo)
        if current.get("sha") != head:
            raise ToolInputError(
                f"merge request !{number} moved from {head[:12]} to {str(current.get('sha'))[:12]} after it "
                f"was evaluated: {refused}"
            )
        text = f"{title}\n\n{message}".strip()
        squash = self._call(
            lambda: self._squash_allowed(project_path(repo)), "read the project's merge settings", repo
        )
        body = {"sha": head, "squash": squash, "squash_commit_message": text, "merge_commit_message": text}
        path = f"{project.mergerequests.path}/{number}/merge"

        def merged_meanwhile() -> dict[str, Any] | None:
            fresh = self._read(project, number)
            return fresh if merged_sha(fresh) else None

        def send() -> dict[str, Any]:
            answer = self._client.http_put(path, post_data=body)
            mr = dict(answer) if isinstance(answer, dict) else {}
            for _ in range(MERGE_POLLS):
                if merged_sha(mr):
                    return mr
                self._sleep(1.0)  # accepted, still merging: GitLab finishes in the background
                mr = self._read(project, number)
            raise UnavailableError(
                f"GitLab accepted the merge of !{number} but had not finished it after {MERGE_POLLS}s: "
                "call sync_pull_requests later to see whether it merged"
            )

        with self._reaching("merge the merge request"):
            try:
                mr = self._once(send, merged_meanwhile, "merge the merge request")
            except GitlabError as exc:
                if status_of(exc) in (405, 406, 409, 422):
                    raise ToolInputError(
                        f"GitLab refused to merge merge request !{number} in {project_path(repo)} "
                        f"({self.scrub(describe(exc))}): {refused}"
                    ) from exc
                raise self._problem(exc, "merge the merge request", repo) from exc
        method: Literal["merge", "squash"] = "squash" if mr.get("squash_commit_sha") else "merge"
        return MergeOutcome(before_sha=before, after_sha=str(merged_sha(mr)), method=method)

    def git_remote(self, repo: RepoConfig) -> tuple[str, dict[str, str]]:
        remote = self.remote_for(repo)
        return remote, git_auth(self.base_url, self._token, remote)
