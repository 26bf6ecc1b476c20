"""A small GitHub REST API on 127.0.0.1 for the pull-request tests: PyGithub talks to it over real HTTP.

It speaks the endpoints the github provider uses, with GitHub's status codes and error bodies, keeps
branches in a real bare git repository (what `git push` reached), and can inject failures: a status
before or *after* handling a request (a 502 after the pull request was created), Retry-After headers,
and slow answers. Every request is logged (method, path, query) so tests can count them.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pull_requests.fake_forge import FakeForge, FakeForgeHandler, utc_now

DOCS = "https://docs.github.com/rest"
SECONDARY_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out "
    "to GitHub Support for help, please include the request ID 0000:1111:2222."
)


_now = partial(utc_now, "seconds")


@dataclass
class FakeRepo:
    full_name: str
    git_dir: Path
    default_branch: str = "main"
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # pull requests are issues too
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    check_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # issue comments per number

    def branch_sha(self, branch: str) -> str | None:
        done = subprocess.run(
            [
                "git",
                "--git-dir",
                str(self.git_dir),
                "rev-parse",
                "--verify",
                "--quiet",
                f"refs/heads/{branch}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() or None


class FakeGitHub(FakeForge):
    def __init__(self, token: str):
        super().__init__(token, _handler_for)
        self.repos: dict[str, FakeRepo] = {}

    # -- test controls -------------------------------------------------------------------------------

    def add_repo(self, full_name: str, git_dir: Path, default_branch: str = "main") -> FakeRepo:
        self.repos[full_name] = FakeRepo(full_name, git_dir, default_branch)
        return self.repos[full_name]

    def pulls(self, full_name: str) -> list[dict[str, Any]]:
        return [i for i in self.repos[full_name].issues.values() if "pr" in i]

    def set_state(self, full_name: str, number: int, state: str) -> None:
        """Merge or close a pull request as a reviewer would."""
        with self.lock:
            issue = self.repos[full_name].issues[number]
            issue["state"] = "open" if state == "open" else "closed"
            issue["closed_at"] = None if state == "open" else _now()
            issue["pr"]["merged_at"] = _now() if state == "merged" else None
            issue["updated_at"] = _now()

    def add_pull(
        self, full_name: str, head: str, head_sha: str, title: str, body: str, labels: list[str]
    ) -> int:
        """A pull request someone (an earlier night) opened."""
        with self.lock:
            repo = self.repos[full_name]
            number = len(repo.issues) + 1
            at = _now()
            repo.issues[number] = {
                "number": number,
                "title": title,
                "body": body,
                "state": "open",
                "labels": list(labels),
                "created_at": at,
                "updated_at": at,
                "closed_at": None,
                "pr": {
                    "head": head,
                    "head_sha": head_sha,
                    "base": "main",
                    "base_sha": "0" * 40,
                    "draft": False,
                    "merged_at": None,
                },
            }
            return number

    def add_status(self, full_name: str, sha: str, state: str, context: str) -> None:
        self.repos[full_name].statuses.setdefault(sha, []).append(
            {"state": state, "context": context, "description": f"{context} {state}", "target_url": None}
        )

    def add_check_run(self, full_name: str, sha: str, name: str, status: str, conclusion: str | None) -> None:
        runs = self.repos[full_name].check_runs.setdefault(sha, [])
        runs.append(
            {"id": len(runs) + 1, "name": name, "status": status, "conclusion": conclusion, "head_sha": sha}
        )

    # -- JSON shapes ---------------------------------------------------------------------------------

    def repo_json(self, repo: FakeRepo) -> dict[str, Any]:
        owner, name = repo.full_name.split("/")
        return {
            "id": abs(hash(repo.full_name)) % 10**6,
            "name": name,
            "full_name": repo.full_name,
            "owner": {"login": owner, "id": 1, "type": "Organization"},
            "private": True,
            "default_branch": repo.default_branch,
            "url": f"{self.base_url}/repos/{repo.full_name}",
            "html_url": f"https://github.example/{repo.full_name}",
        }

    @staticmethod
    def _labels(issue: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"id": i + 1, "name": n, "color": "ededed", "default": False}
            for i, n in enumerate(issue["labels"])
        ]

    def issue_json(self, repo: FakeRepo, issue: dict[str, Any]) -> dict[str, Any]:
        n = issue["number"]
        shown = {
            k: issue[k] for k in ("number", "title", "body", "state", "created_at", "updated_at", "closed_at")
        }
        shown.update(
            url=f"{self.base_url}/repos/{repo.full_name}/issues/{n}",
            html_url=f"https://github.example/{repo.full_name}/pull/{n}",
            labels=self._labels(issue),
            user={"login": "self-improver-bot", "id": 7, "type": "Bot"},
        )
        if "pr" in issue:
            shown["pull_request"] = {
                "url": f"{self.base_url}/repos/{repo.full_name}/pulls/{n}",
                "html_url": f"https://github.example/{repo.full_name}/pull/{n}",
                "merged_at": issue["pr"]["merged_at"],
            }
        return shown

    def pull_json(self, repo: FakeRepo, issue: dict[str, Any]) -> dict[str, Any]:
        n, pr = issue["number"], issue["pr"]
        owner = repo.full_name.split("/")[0]
        shown = self.issue_json(repo, issue)
        shown.pop("pull_request")
        shown.update(
            id=1000 + n,
            url=f"{self.base_url}/repos/{repo.full_name}/pulls/{n}",
            issue_url=f"{self.base_url}/repos/{repo.full_name}/issues/{n}",
            draft=pr["draft"],
            merged=pr["merged_at"] is not None,
            merged_at=pr["merged_at"],
            merge_commit_sha=pr.get("merge_commit_sha"),
            head={
                "ref": pr["head"],
                "sha": pr["head_sha"],
                "label": f"{owner}:{pr['head']}",
                "repo": self.repo_json(repo),
            },
            base={
                "ref": pr["base"],
                "sha": pr["base_sha"],
                "label": f"{owner}:{pr['base']}",
                "repo": self.repo_json(repo),
            },
        )
        return shown


def _handler_for(fake: FakeGitHub) -> type[FakeForgeHandler]:
    class Handler(FakeForgeHandler):
        json_type = "application/json; charset=utf-8"
        default_headers = {"X-GitHub-Request-Id": "0000:1111"}
        unauthorized = {"message": "Bad credentials", "documentation_url": DOCS}
        bad_json = {"message": "Problems parsing JSON", "documentation_url": DOCS}

        def do_PATCH(self) -> None:
            self._dispatch("PATCH")

        def _authorized(self) -> bool:
            return self.headers.get("Authorization", "") in (f"token {fake.token}", f"Bearer {fake.token}")

        def _route(
            self, method: str, path: str, query: dict[str, list[str]], payload: dict[str, Any]
        ) -> tuple[int, Any, dict[str, str] | None]:
            found = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
            repo = fake.repos.get(found.group(1)) if found else None
            if repo is None:
                return 404, {"message": "Not Found", "documentation_url": DOCS}, None
            rest = found.group(2) or ""
            routes = [
                ("GET", r"", lambda m: (200, fake.repo_json(repo), None)),
                ("GET", r"/git/refs?/heads/(.+)", lambda m: self._ref(repo, m.group(1))),
                ("GET", r"/pulls", lambda m: self._list_pulls(repo, query, path)),
                ("POST", r"/pulls", lambda m: self._create_pull(repo, payload)),
                ("GET", r"/pulls/(\d+)", lambda m: self._pull(repo, int(m.group(1)))),
                ("PATCH", r"/pulls/(\d+)", lambda m: self._patch_pull(repo, int(m.group(1)), payload)),
                ("GET", r"/issues", lambda m: self._list_issues(repo, query, path)),
                ("GET", r"/issues/(\d+)", lambda m: self._issue(repo, int(m.group(1)))),
                ("POST", r"/issues/(\d+)/labels", lambda m: self._add_labels(repo, int(m.group(1)), payload)),
                (
                    "GET",
                    r"/issues/(\d+)/comments",
                    lambda m: self._comments(repo, int(m.group(1)), query, path),
                ),
                ("POST", r"/issues/(\d+)/comments", lambda m: self._comment(repo, int(m.group(1)), payload)),
                ("GET", r"/commits/([^/]+)/status", lambda m: self._combined_status(repo, m.group(1))),
                (
                    "GET",
                    r"/commits/([^/]+)/check-runs",
                    lambda m: self._check_runs(repo, m.group(1), query, path),
                ),
                (
                    "GET",
                    r"/pulls/(\d+)/files",
                    lambda m: self._pull_files(repo, int(m.group(1)), query, path),
                ),
                ("PUT", r"/pulls/(\d+)/merge", lambda m: self._merge_pull(repo, int(m.group(1)), payload)),
            ]
            return self._first_route(routes, method, rest) or (
                404,
                {"message": "Not Found", "documentation_url": DOCS},
                None,
            )

        # -- endpoints ---------------------------------------------------------------------------

        def _page(
            self, items: list[Any], query: dict[str, list[str]], path: str
        ) -> tuple[list[Any], dict[str, str]]:
            per_page = int(query.get("per_page", ["30"])[0])
            page = int(query.get("page", ["1"])[0])
            chunk = items[(page - 1) * per_page : page * per_page]
            headers: dict[str, str] = {}
            if page * per_page < len(items):
                flat = {k: v[0] for k, v in query.items()} | {"page": str(page + 1)}
                headers["Link"] = f'<{fake.base_url}{path}?{urlencode(flat)}>; rel="next"'
            return chunk, headers

        def _ref(self, repo: FakeRepo, branch: str) -> tuple[int, Any, None]:
            sha = repo.branch_sha(branch)
            if sha is None:
                return 404, {"message": "Not Found", "documentation_url": DOCS}, None
            ref = f"refs/heads/{branch}"
            return (
                200,
                {
                    "ref": ref,
                    "url": f"{fake.base_url}/repos/{repo.full_name}/git/{ref}",
                    "object": {"sha": sha, "type": "commit"},
                },
                None,
            )

        def _list_pulls(
            self, repo: FakeRepo, query: dict[str, list[str]], path: str
        ) -> tuple[int, Any, dict[str, str]]:
            state = query.get("state", ["open"])[0]
            head = query.get("head", [None])[0]
            pulls = [i for i in sorted(repo.issues.values(), key=lambda i: -i["number"]) if "pr" in i]
            owner = repo.full_name.split("/")[0]
            chosen = [
                fake.pull_json(repo, i)
                for i in pulls
                if (state == "all" or i["state"] == state)
                and (head is None or head == f"{owner}:{i['pr']['head']}")
            ]
            items, headers = self._page(chosen, query, path)
            return 200, items, headers

        def _create_pull(self, repo: FakeRepo, payload: dict[str, Any]) -> tuple[int, Any, None]:
            head, base = payload.get("head"), payload.get("base")
            failed = {
                "message": "Validation Failed",
                "documentation_url": f"{DOCS}/pulls/pulls#create-a-pull-request",
                "status": "422",
            }
            if not payload.get("title"):
                return (
                    422,
                    failed
                    | {"errors": [{"resource": "PullRequest", "field": "title", "code": "missing_field"}]},
                    None,
                )
            head_sha, base_sha = repo.branch_sha(str(head)), repo.branch_sha(str(base))
            if head_sha is None:
                return (
                    422,
                    failed | {"errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}]},
                    None,
                )
            if base_sha is None:
                return (
                    422,
                    failed | {"errors": [{"resource": "PullRequest", "field": "base", "code": "invalid"}]},
                    None,
                )
            owner = repo.full_name.split("/")[0]
            if any(
                i["state"] == "open" and i.get("pr", {}).get("head") == head for i in repo.issues.values()
            ):
                message = f"A pull request already exists for {owner}:{head}."
                return (
                    422,
                    failed | {"errors": [{"resource": "PullRequest", "code": "custom", "message": message}]},
                    None,
                )
            number = len(repo.issues) + 1
            at = _now()
            repo.issues[number] = {
                "number": number,
                "title": payload["title"],
                "body": payload.get("body"),
                "state": "open",
                "labels": [],
                "created_at": at,
                "updated_at": at,
                "closed_at": None,
                "pr": {
                    "head": head,
                    "head_sha": head_sha,
                    "base": base,
                    "base_sha": base_sha,
                    "draft": bool(payload.get("draft")),
                    "merged_at": None,
                },
            }
            return 201, fake.pull_json(repo, repo.issues[number]), None

        def _pull(self, repo: FakeRepo, number: int) -> tuple[int, Any, None]:
            issue = repo.issues.get(number)
            if issue is None or "pr" not in issue:
                return 404, {"message": "Not Found", "documentation_url": DOCS}, None
            return 200, fake.pull_json(repo, issue), None

        def _patch_pull(self, repo: FakeRepo, number: int, payload: dict[str, Any]) -> tuple[int, Any, None]:
            issue = repo.issues.get(number)
            if issue is None or "pr" not in issue:
                return 404, {"message": "Not Found", "documentation_url": DOCS}, None
            for key in ("title", "body", "state"):
                if key in payload:
                    issue[key] = payload[key]
            issue["updated_at"] = _now()
            return 200, fake.pull_json(repo, issue), None

        def _list_issues(
            self, repo: FakeRepo, query: dict[str, list[str]], path: str
        ) -> tuple[int, Any, dict[str, str]]:
            state = query.get("state", ["open"])[0]
            wanted = [n for n in query.get("labels", [""])[0].split(",") if n]
            descending = query.get("direction", ["desc"])[0] == "desc"
            issues = sorted(repo.issues.values(), key=lambda i: i["number"], reverse=descending)
            chosen = [
                fake.issue_json(repo, i)
                for i in issues
                if (state == "all" or i["state"] == state) and all(n in i["labels"] for n in wanted)
            ]
            items, headers = self._page(chosen, query, path)
            return 200, items, headers

        def _issue(self, repo: FakeRepo, number: int) -> tuple[int, Any, None]:
            issue = repo.issues.get(number)
            if issue is None:
                return 404, {"message": "Not Found", "documentation_url": DOCS}, None
            return 200, fake.issue_json(repo, issue), None

        def _add_labels(self, repo: FakeRepo, number: int, payload: dict[str, Any]) -> tuple[int, Any, None]:
            issue = repo.issues.get(number)
            if issue is None:
                return 404, {"message": "Not Found", "documentation_url": DOCS}, None
            labels = payload.get("labels") if isinstance(payload, dict) else payload
            for name in labels or []:
                if name not in issue["labels"]:
                    issue["labels"].append(name)
            return 200, FakeGitHub._labels(issue), None

        def _comment_json(self, repo: FakeRepo, number: int, comment: dict[str, Any]) -> dict[str, Any]:
            url = f"{fake.base_url}/repos/{repo.full_name}/issues/comments/{comment['id']}"
            return comment | {
                "url": url,
                "html_url": f"https://github.com/{repo.full_name}/pull/{number}#issuecomment-{comment['id']}",
                "issue_url": f"{fake.base_url}/repos/{repo.full_name}/issues/{number}",
                "user": {"login": "self-improver-bot", "id": 2, "type": "User"},
            }

        def _comments(
            self, repo: FakeRepo, number: int, query: dict[str, list[str]], path: str
        ) -> tuple[int, Any, Any]:
            if number not in repo.issues:
                return 404, {"message": "Not Found", "documentation_url": DOCS}, None
            chosen = [self._comment_json(repo, number, c) for c in repo.comments.get(number, [])]
            items, headers = self._page(chosen, query, path)
            return 200, items, headers

        def _comment(self, repo: FakeRepo, number: int, payload: dict[str, Any]) -> tuple[int, Any, None]:
            if number not in repo.issues:
                return 404, {"message": "Not Found", "documentation_url": DOCS}, None
            if not payload.get("body"):
                return 422, {"message": "Validation Failed", "documentation_url": DOCS}, None
            made = sum(len(c) for c in repo.comments.values()) + 1
            at = _now()
            comment = {"id": made, "body": payload["body"], "created_at": at, "updated_at": at}
            repo.comments.setdefault(number, []).append(comment)
            return 201, self._comment_json(repo, number, comment), None

        def _combined_status(self, repo: FakeRepo, sha: str) -> tuple[int, Any, None]:
            latest: dict[str, dict[str, Any]] = {}
            for status in repo.statuses.get(sha, []):
                latest[status["context"]] = status
            states = [s["state"] for s in latest.values()]
            combined = (
                "failure"
                if {"failure", "error"} & set(states)
                else "pending"
                if not states or "pending" in states
                else "success"
            )
            shown = [
                s | {"id": i + 1, "url": f"{fake.base_url}/statuses/{i}"}
                for i, s in enumerate(latest.values())
            ]
            body = {
                "state": combined,
                "statuses": shown,
                "sha": sha,
                "total_count": len(shown),
                "repository": fake.repo_json(repo),
            }
            return 200, body, None

        def _check_runs(
            self, repo: FakeRepo, sha: str, query: dict[str, list[str]], path: str
        ) -> tuple[int, Any, dict[str, str]]:
            runs = repo.check_runs.get(sha, [])
            items, headers = self._page(runs, query, path)
            return 200, {"total_count": len(runs), "check_runs": items}, headers

        # -- merging (the auto-merge tests) --------------------------------------------------------

        def _pull_files(
            self, repo: FakeRepo, number: int, query: dict[str, list[str]], path: str
        ) -> tuple[int, Any, dict[str, str]]:
            issue = repo.issues.get(number)
            if issue is None or "pr" not in issue:
                return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
            base = repo.branch_sha(issue["pr"]["base"]) or issue["pr"]["base_sha"]
            out = _bare_git(
                repo, "diff", "--numstat", "-z", "--no-renames", f"{base}...{issue['pr']['head_sha']}"
            )
            files = []
            for record in (r for r in out.split("\0") if r.strip()):
                added, deleted, name = record.split("\t", 2)
                additions, deletions = int(added), int(deleted)
                status = (
                    "added" if deleted == "0" and additions else "removed" if added == "0" else "modified"
                )
                files.append(
                    {
                        "sha": "0" * 40,
                        "filename": name,
                        "status": status,
                        "additions": additions,
                        "deletions": deletions,
                        "changes": additions + deletions,
                        "patch": "@@ ... @@",
                    }
                )
            items, headers = self._page(files, query, path)
            return 200, items, headers

        def _merge_pull(self, repo: FakeRepo, number: int, payload: dict[str, Any]) -> tuple[int, Any, None]:
            """Squash the head onto the base branch of the bare repository, as GitHub's merge button does."""
            issue = repo.issues.get(number)
            if issue is None or "pr" not in issue:
                return 404, {"message": "Not Found", "documentation_url": DOCS}, None
            pr = issue["pr"]
            if issue["state"] != "open" or pr["draft"]:
                return 405, {"message": "Pull Request is not mergeable", "documentation_url": DOCS}, None
            if payload.get("sha") not in (None, pr["head_sha"]):
                message = "Head branch was modified. Review and try the merge again."
                return 409, {"message": message, "documentation_url": DOCS}, None
            base = repo.branch_sha(pr["base"])
            tree = _bare_git(repo, "merge-tree", "--write-tree", str(base), pr["head_sha"]).split("\n")[0]
            title = payload.get("commit_title") or f"{issue['title']} (#{number})"
            text = f"{title}\n\n{payload.get('commit_message') or ''}"
            squash = _bare_git(repo, "commit-tree", tree, "-p", str(base), "-m", text).strip()
            _bare_git(repo, "update-ref", f"refs/heads/{pr['base']}", squash, str(base))
            pr["merged_at"] = _now()
            pr["merge_method"] = payload.get("merge_method")
            pr["merge_commit_sha"] = squash
            issue["state"], issue["closed_at"], issue["updated_at"] = "closed", _now(), _now()
            return 200, {"sha": squash, "merged": True, "message": "Pull Request successfully merged"}, None

    return Handler


def _bare_git(repo: FakeRepo, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "GitHub",
        "GIT_AUTHOR_EMAIL": "noreply@github.example",
        "GIT_COMMITTER_NAME": "GitHub",
        "GIT_COMMITTER_EMAIL": "noreply@github.example",
        "HOME": "/nonexistent",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    done = subprocess.run(
        ["git", "--git-dir", str(repo.git_dir), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout
