"""A small GitLab (REST v4 and git smart HTTP) on 127.0.0.1 for the gitlab provider tests.

python-gitlab talks to it over real HTTP, and so does git: pushes to `<base>/<group>/<name>.git` go
through `git http-backend` into a real bare repository, with GitLab's rule that the password is the
token (any user name; the provider sends `oauth2`). It speaks the endpoints the provider uses, with
GitLab's status codes and error bodies, and can inject failures: a status before or *after* handling
a request (a 502 after the merge request was created), Retry-After headers, slow answers. Every
request is logged (method, raw path, query) so tests can count them; paths keep GitLab's encoding
(`/api/v4/projects/acme%2Fworker/merge_requests`).
"""

from __future__ import annotations

import base64
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, unquote, urlencode

from pull_requests.fake_forge import FakeForge, FakeForgeHandler, Fault, utc_now

API = "/api/v4"
NOT_FOUND = {"message": "404 Not found"}


_now = partial(utc_now, "milliseconds")


@dataclass
class FakeProject:
    id: int
    path: str
    git_dir: Path
    default_branch: str = "main"
    squash_option: str = "default_off"  # GitLab's project setting: never, always, default_on, default_off
    mrs: dict[int, dict[str, Any]] = field(default_factory=dict)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # merge request notes per iid

    def git(self, *args: str, check: bool = True) -> str:
        env = {
            "GIT_AUTHOR_NAME": "GitLab",
            "GIT_AUTHOR_EMAIL": "noreply@gitlab.example",
            "GIT_COMMITTER_NAME": "GitLab",
            "GIT_COMMITTER_EMAIL": "noreply@gitlab.example",
            "HOME": "/nonexistent",
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        }
        done = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), *args],
            capture_output=True,
            text=True,
            env=env,
            check=check,
        )
        return done.stdout

    def branch_sha(self, branch: str) -> str | None:
        return (
            self.git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).strip() or None
        )


class FakeGitLab(FakeForge):
    def __init__(self, token: str):
        super().__init__(token, _handler_for)
        self.projects: dict[str, FakeProject] = {}
        self.bodies: list[tuple[str, str, Any]] = []  # (method, path, JSON body) of writes
        self.git_logins: list[tuple[str, bool]] = []  # (user name, token right) of git requests
        self.diffs_endpoint = True  # False: a GitLab before 15.7 (only …/changes)

    # -- test controls -------------------------------------------------------------------------------

    def add_project(self, path: str, git_dir: Path, default_branch: str = "main") -> FakeProject:
        self.projects[path] = FakeProject(len(self.projects) + 1, path, git_dir, default_branch)
        return self.projects[path]

    @classmethod
    @contextmanager
    def serving(cls, token: str, project: str, git_dir: Path) -> Iterator[FakeGitLab]:
        """A fake GitLab on 127.0.0.1 with one project, its git served from the bare repository `git_dir`."""
        with cls(token) as fake:
            fake.add_project(project, git_dir)
            yield fake

    def mrs(self, path: str) -> list[dict[str, Any]]:
        return list(self.projects[path].mrs.values())

    def add_mr(
        self, path: str, source: str, sha: str, title: str, description: str, labels: list[str]
    ) -> int:
        """A merge request someone (an earlier night) opened, from a branch that need not exist."""
        with self.lock:
            project = self.projects[path]
            return self._new_mr(project, source, project.default_branch, title, description, labels, sha)

    def add_pipeline(self, path: str, sha: str, status: str, ref: str = "main") -> int:
        with self.lock:
            project = self.projects[path]
            number = len(project.pipelines) + 1
            at = _now()
            project.pipelines.append(
                {
                    "id": 9000 + number,
                    "iid": number,
                    "project_id": project.id,
                    "sha": sha,
                    "ref": ref,
                    "status": status,
                    "source": "push",
                    "created_at": at,
                    "updated_at": at,
                    "web_url": f"https://gitlab.example/{path}/-/pipelines/{9000 + number}",
                }
            )
            return 9000 + number

    def set_state(self, path: str, iid: int, state: str) -> None:
        with self.lock:
            mr = self.projects[path].mrs[iid]
            mr["state"] = state
            mr["merged_at"] = _now() if state == "merged" else None
            mr["updated_at"] = _now()

    def _new_mr(
        self,
        project: FakeProject,
        source: str,
        target: str,
        title: str,
        description: str | None,
        labels: list[str],
        sha: str | None,
    ) -> int:
        iid = len(project.mrs) + 1
        at = _now()
        project.mrs[iid] = {
            "id": 5000 + iid,
            "iid": iid,
            "project_id": project.id,
            "title": title,
            "description": description,
            "state": "opened",
            "created_at": at,
            "updated_at": at,
            "merged_at": None,
            "closed_at": None,
            "source_branch": source,
            "target_branch": target,
            "labels": list(labels),
            "sha": sha,
            "merge_commit_sha": None,
            "squash_commit_sha": None,
            "squash": False,
        }
        return iid

    # -- JSON shapes ---------------------------------------------------------------------------------

    def mr_sha(self, project: FakeProject, mr: dict[str, Any]) -> str | None:
        """An open merge request follows its branch (a push moves it); a closed one keeps its last head."""
        live = project.branch_sha(mr["source_branch"]) if mr["state"] == "opened" else None
        return live or mr["sha"]

    def mr_json(self, project: FakeProject, mr: dict[str, Any], single: bool = False) -> dict[str, Any]:
        sha = self.mr_sha(project, mr)
        draft = bool(re.match(r"(?i)\s*(\[draft\]|\(draft\)|draft:)", mr["title"]))
        detailed = "not_open" if mr["state"] != "opened" else "draft_status" if draft else "mergeable"
        base = project.branch_sha(mr["target_branch"])
        if detailed == "mergeable" and base and sha and project.branch_sha(mr["source_branch"]):
            clean = subprocess.run(
                ["git", "--git-dir", str(project.git_dir), "merge-tree", "--write-tree", base, sha],
                capture_output=True,
                check=False,
            )
            detailed = "mergeable" if clean.returncode == 0 else "conflict"
        shown = {k: v for k, v in mr.items() if not k.startswith("_")}
        shown.update(
            sha=sha,
            draft=draft,
            work_in_progress=draft,
            merge_status="can_be_merged" if detailed == "mergeable" else "cannot_be_merged",
            detailed_merge_status=detailed,
            has_conflicts=detailed == "conflict",
            web_url=f"https://gitlab.example/{project.path}/-/merge_requests/{mr['iid']}",
            references={"short": f"!{mr['iid']}", "full": f"{project.path}!{mr['iid']}"},
            author={"id": 7, "username": "project_1_bot", "name": "self-improver"},
            diff_refs={"base_sha": base, "head_sha": sha, "start_sha": base},
        )
        if single:
            pipelines = [p for p in project.pipelines if p["sha"] == sha]
            shown["head_pipeline"] = pipelines[-1] if pipelines else None
        return shown


def _handler_for(fake: FakeGitLab) -> type[FakeForgeHandler]:
    class Handler(FakeForgeHandler):
        unauthorized = {"message": "401 Unauthorized"}
        bad_json = {"error": "The request body is not valid JSON"}

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return super()._body()

        def _serve(
            self,
            method: str,
            parts: SplitResult,
            query: dict[str, list[str]],
            raw: bytes,
            fault: Fault | None,
        ) -> None:
            if not parts.path.startswith(API + "/"):
                self._git(method, parts.path, parts.query, raw)  # git smart HTTP takes no faults
                return
            super()._serve(method, parts, query, raw, fault)

        def _authorized(self) -> bool:
            return self.headers.get("PRIVATE-TOKEN") == fake.token

        def _route(
            self, method: str, path: str, query: dict[str, list[str]], payload: dict[str, Any]
        ) -> tuple[int, Any, dict[str, str] | None]:
            if method != "GET":
                fake.bodies.append((method, path, payload))
            found = re.fullmatch(rf"{API}/projects/([^/]+)(/.*)?", path)
            key = unquote(found.group(1)) if found else ""
            project = fake.projects.get(key) or next(
                (p for p in fake.projects.values() if str(p.id) == key), None
            )
            if found is None or project is None:
                return 404, {"message": "404 Project Not Found"}, None
            rest = found.group(2) or ""
            params = {k: v[0] for k, v in query.items()} | (payload if isinstance(payload, dict) else {})
            routes = [
                (
                    "GET",
                    r"",
                    lambda m: (
                        200,
                        {
                            "id": project.id,
                            "path_with_namespace": project.path,
                            "squash_option": project.squash_option,
                        },
                        None,
                    ),
                ),
                ("GET", r"/repository/branches/(.+)", lambda m: self._branch(project, unquote(m.group(1)))),
                ("GET", r"/merge_requests", lambda m: self._list_mrs(project, params, path)),
                ("POST", r"/merge_requests", lambda m: self._create_mr(project, params)),
                ("GET", r"/merge_requests/(\d+)", lambda m: self._mr(project, int(m.group(1)))),
                (
                    "GET",
                    r"/merge_requests/(\d+)/diffs",
                    lambda m: self._diffs(project, int(m.group(1)), params, path),
                ),
                ("GET", r"/merge_requests/(\d+)/changes", lambda m: self._changes(project, int(m.group(1)))),
                (
                    "PUT",
                    r"/merge_requests/(\d+)/merge",
                    lambda m: self._merge(project, int(m.group(1)), params),
                ),
                ("GET", r"/pipelines", lambda m: self._pipelines(project, params, path)),
                (
                    "GET",
                    r"/merge_requests/(\d+)/notes",
                    lambda m: self._notes(project, int(m.group(1)), params, path),
                ),
                (
                    "POST",
                    r"/merge_requests/(\d+)/notes",
                    lambda m: self._note(project, int(m.group(1)), params),
                ),
            ]
            return self._first_route(routes, method, rest) or (404, {"error": "404 Not Found"}, None)

        # -- endpoints ---------------------------------------------------------------------------

        def _page(
            self, items: list[Any], params: dict[str, Any], path: str
        ) -> tuple[list[Any], dict[str, str]]:
            per_page, page = int(params.get("per_page", 20)), int(params.get("page", 1))
            chunk = items[(page - 1) * per_page : page * per_page]
            headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items))}
            if page * per_page < len(items):
                flat = {k: str(v) for k, v in params.items()} | {"page": str(page + 1)}
                headers["X-Next-Page"] = str(page + 1)
                headers["Link"] = f'<{fake.base_url}{path}?{urlencode(flat)}>; rel="next"'
            return chunk, headers

        def _notes(
            self, project: FakeProject, iid: int, params: dict[str, Any], path: str
        ) -> tuple[int, Any, Any]:
            if iid not in project.mrs:
                return 404, {"message": "404 Not found"}, None
            items, headers = self._page(list(project.notes.get(iid, [])), params, path)
            return 200, items, headers

        def _note(self, project: FakeProject, iid: int, params: dict[str, Any]) -> tuple[int, Any, None]:
            if iid not in project.mrs:
                return 404, {"message": "404 Not found"}, None
            if not params.get("body"):
                return 400, {"error": "body is missing"}, None
            made = sum(len(n) for n in project.notes.values()) + 1
            note = {
                "id": made,
                "body": params["body"],
                "noteable_iid": iid,
                "noteable_type": "MergeRequest",
                "author": {"id": 2, "username": "self-improver-bot"},
                "created_at": datetime.now(UTC).isoformat(),
                "system": False,
            }
            project.notes.setdefault(iid, []).append(note)
            return 201, note, None

        def _branch(self, project: FakeProject, branch: str) -> tuple[int, Any, None]:
            sha = project.branch_sha(branch)
            if sha is None:
                return 404, {"message": "404 Branch Not Found"}, None
            return 200, {"name": branch, "commit": {"id": sha, "short_id": sha[:8]}, "protected": False}, None

        def _list_mrs(
            self, project: FakeProject, params: dict[str, Any], path: str
        ) -> tuple[int, Any, dict[str, str]]:
            state = params.get("state", "all")
            wanted = [n for n in str(params.get("labels", "")).split(",") if n]
            newest_first = params.get("sort", "desc") == "desc"
            chosen = [
                fake.mr_json(project, mr)
                for mr in sorted(project.mrs.values(), key=lambda m: m["iid"], reverse=newest_first)
                if (state == "all" or mr["state"] == state)
                and all(n in mr["labels"] for n in wanted)
                and params.get("source_branch") in (None, mr["source_branch"])
                and params.get("target_branch") in (None, mr["target_branch"])
            ]
            items, headers = self._page(chosen, params, path)
            return 200, items, headers

        def _create_mr(self, project: FakeProject, params: dict[str, Any]) -> tuple[int, Any, None]:
            for name in ("source_branch", "target_branch", "title"):
                if not params.get(name):
                    return 400, {"error": f"{name} is missing"}, None
            source, target = str(params["source_branch"]), str(params["target_branch"])
            sha = project.branch_sha(source)
            if sha is None or project.branch_sha(target) is None:
                return 422, {"message": ["Source branch or target branch does not exist"]}, None
            clash = next(
                (m for m in project.mrs.values() if m["state"] == "opened" and m["source_branch"] == source),
                None,
            )
            if clash is not None:
                message = f"Another open merge request already exists for this source branch: !{clash['iid']}"
                return 409, {"message": [message]}, None
            labels = params.get("labels") or []
            names = labels.split(",") if isinstance(labels, str) else list(labels)
            iid = fake._new_mr(
                project, source, target, str(params["title"]), params.get("description"), names, sha
            )
            return 201, fake.mr_json(project, project.mrs[iid]), None

        def _mr(self, project: FakeProject, iid: int) -> tuple[int, Any, None]:
            mr = project.mrs.get(iid)
            if mr is None:
                return 404, NOT_FOUND, None
            return 200, fake.mr_json(project, mr, single=True), None

        def _diff_entries(self, project: FakeProject, mr: dict[str, Any]) -> list[dict[str, Any]]:
            sha = fake.mr_sha(project, mr)
            base = project.branch_sha(mr["target_branch"])
            out = project.git("diff", "--no-renames", "--numstat", "-z", f"{base}...{sha}")
            entries = []
            for record in (r for r in out.split("\0") if r.strip()):
                added, deleted, name = record.split("\t", 2)
                patch = project.git("diff", "--no-renames", f"{base}...{sha}", "--", name)
                binary = added == "-"
                body = patch.split("\n@@", 1)
                text = "" if binary else "@@" + body[1] if len(body) > 1 else ""
                entries.append(
                    {
                        "old_path": name,
                        "new_path": name,
                        "a_mode": "100644",
                        "b_mode": "100644",
                        "diff": f"Binary files a/{name} and b/{name} differ\n" if binary else text,
                        "new_file": deleted == "0" and "new file mode" in patch,
                        "renamed_file": False,
                        "deleted_file": "deleted file mode" in patch,
                    }
                )
            return entries

        def _diffs(
            self, project: FakeProject, iid: int, params: dict[str, Any], path: str
        ) -> tuple[int, Any, dict[str, str] | None]:
            mr = project.mrs.get(iid)
            if mr is None or not fake.diffs_endpoint:
                return 404, {"error": "404 Not Found"}, None
            items, headers = self._page(self._diff_entries(project, mr), params, path)
            return 200, items, headers

        def _changes(self, project: FakeProject, iid: int) -> tuple[int, Any, None]:
            mr = project.mrs.get(iid)
            if mr is None:
                return 404, NOT_FOUND, None
            entries = self._diff_entries(project, mr)
            return (
                200,
                fake.mr_json(project, mr)
                | {"changes": entries, "changes_count": str(len(entries)), "overflow": False},
                None,
            )

        def _merge(self, project: FakeProject, iid: int, params: dict[str, Any]) -> tuple[int, Any, None]:
            """Squash the head onto the target branch of the bare repository, as GitLab's merge does."""
            mr = project.mrs.get(iid)
            if mr is None:
                return 404, NOT_FOUND, None
            shown = fake.mr_json(project, mr)
            if mr["state"] != "opened" or shown["draft"]:
                return 405, {"message": "405 Method Not Allowed"}, None
            head = shown["sha"]
            if params.get("sha") not in (None, head):
                return 409, {"message": f"SHA does not match HEAD of source branch: {head}"}, None
            if shown["detailed_merge_status"] != "mergeable":
                return 422, {"message": "Branch cannot be merged"}, None
            asked = params.get("squash") in (True, "true")
            if asked and project.squash_option == "never":
                return (
                    422,
                    {
                        "message": "This project does not allow squashing commits when merge requests are accepted."
                    },
                    None,
                )
            squashed = asked or project.squash_option == "always"
            base = str(project.branch_sha(mr["target_branch"]))
            tree = project.git("merge-tree", "--write-tree", base, head).split("\n")[0]
            key = "squash_commit_message" if squashed else "merge_commit_message"
            text = str(params.get(key) or f"{mr['title']}")
            parents = ["-p", base] if squashed else ["-p", base, "-p", head]
            made = project.git("commit-tree", tree, *parents, "-m", text).strip()
            project.git("update-ref", f"refs/heads/{mr['target_branch']}", made, base)
            at = _now()
            mr.update(state="merged", merged_at=at, updated_at=at, sha=head, squash=squashed)
            if squashed:
                mr.update(squash_commit_sha=made)
            else:
                mr.update(merge_commit_sha=made)
            return 200, fake.mr_json(project, mr), None

        def _pipelines(
            self, project: FakeProject, params: dict[str, Any], path: str
        ) -> tuple[int, Any, dict[str, str]]:
            chosen = [p for p in reversed(project.pipelines) if params.get("sha") in (None, p["sha"])]
            items, headers = self._page(chosen, params, path)
            return 200, items, headers

        # -- git smart HTTP ----------------------------------------------------------------------

        def _git(self, method: str, path: str, query: str, body: bytes) -> None:
            found = re.fullmatch(r"/(.+?)\.git(/.*)", path)
            project = fake.projects.get(found.group(1)) if found else None
            if found is None or project is None:
                self._send(404, "Not Found")
                return
            auth = self.headers.get("Authorization", "")
            user, _, password = (
                base64.b64decode(auth[6:]).decode().partition(":")
                if auth.startswith("Basic ")
                else ("", "", "")
            )
            with fake.lock:
                fake.git_logins.append((user, password == fake.token))
            if not user or password != fake.token:
                self._send(401, "HTTP Basic: Access denied", {"WWW-Authenticate": 'Basic realm="GitLab"'})
                return
            env = {
                "GIT_PROJECT_ROOT": str(project.git_dir.parent),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": f"/{project.git_dir.name}{found.group(2)}",
                "REQUEST_METHOD": method,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": user,
                "REMOTE_ADDR": "127.0.0.1",
                "PATH": "/usr/bin:/bin:/usr/local/bin",
                "HOME": "/nonexistent",
                "GIT_CONFIG_NOSYSTEM": "1",
            }
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            done = subprocess.run(
                ["git", "http-backend"], input=body, capture_output=True, env=env, check=False
            )
            head, _, data = done.stdout.partition(b"\r\n\r\n")
            status, headers = 200, {}
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers[name.strip()] = value.strip()
            self._send_raw(status, data, headers)

    return Handler
