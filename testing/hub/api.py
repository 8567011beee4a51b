"""The local Hub's /api/ routes: repos (create, delete, info, Space variables), reading a repo
(tree, paths-info, commits, refs), and the two steps of a commit the client makes there
(preupload, which picks LFS or regular per file, and the NDJSON commit itself).

One group because they share the /api/{models,datasets,spaces}/<id>/... routing and the way the
Hub formats entries (siblings, tree entries, cardData). The LFS bytes a commit points to arrive
through git.py and storage.py first.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import yaml

from testing.hub.messages import (HubError, Request, Response, entry_not_found, refusal, repo_not_found,
                                  revision_not_found)
from testing.hub.model import (REPO_TYPES, Commit, Entry, Repo, add_commit, create_repo, directories_in, lfs_patterns,
                               matches_any, now)
from testing.hub.routes import Routes

FRONT_MATTER = re.compile(r"^---\s*\n(.*?)\n---\s*(\n|$)", re.DOTALL)  # README.md's YAML metadata


class ApiRoutes(Routes):
    """/api/...: repos, reading them, preupload and commit."""

    def route_api(self, method: str, s: list[str]):
        if s == ["repos", "create"] and method == "POST":
            return "create", self.create_repo
        if s == ["repos", "delete"] and method == "DELETE":
            return "delete", self.delete_repo
        if s == ["validate-yaml"] and method == "POST":
            return "validate-yaml", self.validate_yaml
        if s == ["agent-harnesses"] and method == "GET":  # huggingface_hub's user-agent registry, read once a day
            return "agent-harnesses", lambda request: Response.of_json({"standardEnvVars": [], "harnesses": {}})
        if len(s) < 3 or s[0] not in ("models", "datasets", "spaces"):
            return None
        repo_type, repo_id, rest = s[0][:-1], f"{s[1]}/{s[2]}", s[3:]
        bind = lambda handler, *args: lambda request: handler(request, repo_type, repo_id, *args)  # noqa: E731
        match method, rest:
            case "GET", []:
                return "info", bind(self.repo_info, "main")
            case "GET", ["revision", revision]:
                return "info", bind(self.repo_info, revision)
            case "GET", ["tree", revision, *path]:
                return "tree", bind(self.tree, revision, "/".join(path))
            case "POST", ["paths-info", revision]:
                return "paths-info", bind(self.paths_info, revision)
            case "GET", ["commits", revision]:
                return "commits", bind(self.list_commits, revision)
            case "GET", ["refs"]:
                return "refs", bind(self.refs)
            case "POST", ["preupload", revision]:
                return "preupload", bind(self.preupload, revision)
            case "POST", ["commit", revision]:
                return "commit", bind(self.commit, revision)
            case "POST", ["variables"] if repo_type == "space":
                return "variables", bind(self.add_variable)
            case "GET", ["variables"] if repo_type == "space":  # HfApi.get_space_variables
                return "variables", lambda request: Response.of_json(
                    self.writable(request, repo_type, repo_id).variables)
        return None

    # repos ------------------------------------------------------------------------------------
    def create_repo(self, request: Request) -> Response:
        if not self.authenticated(request):
            raise refusal(401, "You must be authenticated to create a repo")
        payload = request.json()
        repo_type = payload.get("type") or "model"
        if repo_type not in REPO_TYPES:
            raise HubError(400, f"Invalid repo type: {repo_type}")
        if repo_type == "space" and not payload.get("sdk"):
            raise HubError(400, "A Space needs an sdk")
        repo_id = f"{payload.get('organization') or self.state.user}/{payload['name']}"
        private = payload.get("visibility", "public") != "public" or bool(payload.get("private"))
        existing = self.state.repositories.get((repo_type, repo_id))
        if existing is not None:
            # The Hub's 409 names the existing repo's url: create_repo(exist_ok=True) returns it.
            return Response.of_json({"error": f"You already created this {repo_type} repo",
                                     "url": self.repo_url(existing)}, 409)
        repo = create_repo(self.state, repo_type, repo_id, private=private, sdk=payload.get("sdk"))
        return Response.of_json({"url": self.repo_url(repo), "name": repo_id, "id": uuid.uuid4().hex[:24]})

    def delete_repo(self, request: Request) -> Response:
        if not self.authenticated(request):
            raise refusal(401, "You must be authenticated to delete a repo")
        payload = request.json()
        key = (payload.get("type") or "model", f"{payload.get('organization') or self.state.user}/{payload['name']}")
        if self.state.repositories.pop(key, None) is None:
            raise repo_not_found(True)
        return Response.of_json({})

    def validate_yaml(self, request: Request) -> Response:
        """upload_folder asks the Hub to check README.md's front matter before hashing anything."""
        content = request.json().get("content", "")
        match = FRONT_MATTER.match(content)
        if match:
            try:
                data = yaml.safe_load(match.group(1))
            except yaml.YAMLError as error:
                return Response.of_json({"errors": [{"message": f"Invalid YAML: {error}"}], "warnings": []}, 400)
            if data is not None and not isinstance(data, dict):
                return Response.of_json({"errors": [{"message": "metadata must be a mapping"}], "warnings": []}, 400)
        return Response.of_json({"errors": [], "warnings": []})

    def add_variable(self, request: Request, repo_type: str, repo_id: str) -> Response:
        """A Space variable (HfApi.add_space_variable); answers with all of them, as the Hub does."""
        repo = self.writable(request, repo_type, repo_id)
        body = request.json()
        repo.variables[body["key"]] = {"value": body["value"], "description": body.get("description"),
                                       "updatedAt": now()}
        return Response.of_json(repo.variables)

    def repo_info(self, request: Request, repo_type: str, repo_id: str, revision: str) -> Response:
        repo = self.readable(request, repo_type, repo_id)
        commit = self.commit_at(repo, revision)
        siblings = [sibling(path, entry, request.flag("blobs")) for path, entry in sorted(commit.tree.items())]
        info = {"_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24], "id": repo_id,
                "author": repo_id.split("/")[0], "sha": commit.oid, "lastModified": commit.date,
                "createdAt": repo.created_at, "private": repo.private, "gated": False, "disabled": False,
                "downloads": 0, "likes": 0, "tags": [], "siblings": siblings,
                "usedStorage": sum(entry.size for entry in commit.tree.values())}
        card = card_data(commit.tree.get("README.md"))
        if card is not None:
            info["cardData"] = card
            info["tags"] = list(card.get("tags") or [])
        if repo_type == "model":
            info |= {"modelId": repo_id, "library_name": (card or {}).get("library_name"),
                     "pipeline_tag": (card or {}).get("pipeline_tag")}
        if repo_type == "space":
            info |= {"sdk": repo.sdk, "subdomain": repo_id.replace("/", "-").lower(),
                     "host": f"{self.endpoint}/spaces/{repo_id}"}
        expand = request.query.get("expand") or request.query.get("expand[]")
        if expand:  # only the properties asked for, as the Hub does
            info = {key: value for key, value in info.items() if key in (*expand, "_id", "id")}
        return Response.of_json(info)

    # reading files ----------------------------------------------------------------------------
    def tree(self, request: Request, repo_type: str, repo_id: str, revision: str, path: str) -> Response:
        repo = self.readable(request, repo_type, repo_id)
        commit = self.commit_at(repo, revision)
        path = path.strip("/")
        directories = directories_in(commit.tree)
        if path and path not in directories:
            raise entry_not_found(path, commit)
        prefix = f"{path}/" if path else ""
        recursive, expand = request.flag("recursive"), request.flag("expand")
        names = sorted(name for name in [*commit.tree, *directories] if name.startswith(prefix)
                       and (recursive or "/" not in name[len(prefix):]))
        page_size = min(self.state.tree_page_size, 50) if expand else self.state.tree_page_size
        start = int(request.query.get("cursor", ["0"])[0])
        page = names[start:start + page_size]
        entries = [path_info(repo, commit, name, expand) for name in page]
        headers = {}
        if start + page_size < len(names):  # pagination with a GitHub-style Link header
            query = {key: values[-1] for key, values in request.query.items()} | {"cursor": start + page_size}
            next_url = f"{self.endpoint}{urlsplit(request.path).path}?{urlencode(query)}"
            headers["Link"] = f'<{next_url}>; rel="next"'
        return Response.of_json(entries, headers=headers)

    def paths_info(self, request: Request, repo_type: str, repo_id: str, revision: str) -> Response:
        repo = self.readable(request, repo_type, repo_id)
        commit = self.commit_at(repo, revision)
        form = parse_qs(request.body.decode())  # the client posts a form: paths=a&paths=b&expand=False
        expand = form.get("expand", ["false"])[-1].lower() in ("1", "true")
        known = set(commit.tree) | directories_in(commit.tree)
        paths = [path.strip("/") for path in form.get("paths", [])]
        return Response.of_json([path_info(repo, commit, path, expand) for path in paths if path in known])

    def list_commits(self, request: Request, repo_type: str, repo_id: str, revision: str) -> Response:
        repo = self.readable(request, repo_type, repo_id)
        self.commit_at(repo, revision)
        chain = repo.history(revision)
        start, size = int(request.query.get("p", ["0"])[0]), self.state.commits_page_size
        formatted = "formatted" in request.query.get("expand[]", [])
        items = []
        for commit in chain[start * size:(start + 1) * size]:
            item = {"id": commit.oid, "title": commit.title, "message": commit.message, "date": commit.date,
                    "authors": [{"user": self.state.user, "avatar": None}]}
            if formatted:
                item["formatted"] = {"title": commit.title, "message": commit.message}
            items.append(item)
        headers = {}
        if (start + 1) * size < len(chain):
            query = {key: values[-1] for key, values in request.query.items()} | {"p": start + 1}
            headers["Link"] = f'<{self.endpoint}{urlsplit(request.path).path}?{urlencode(query)}>; rel="next"'
        return Response.of_json(items, headers=headers)

    def refs(self, request: Request, repo_type: str, repo_id: str) -> Response:
        repo = self.readable(request, repo_type, repo_id)
        branches = [{"name": name, "ref": f"refs/heads/{name}", "targetCommit": oid}
                    for name, oid in sorted(repo.branches.items())]
        return Response.of_json({"branches": branches, "converts": [], "tags": [], "pullRequests": []})

    # uploads ----------------------------------------------------------------------------------
    def preupload(self, request: Request, repo_type: str, repo_id: str, revision: str) -> Response:
        repo = self.writable(request, repo_type, repo_id)
        if request.flag("create_pr"):
            raise HubError(400, "pull requests are not spoken by the local hub")
        commit = self.commit_at(repo, revision)
        patterns = lfs_patterns(commit.tree.get(".gitattributes"))
        answers = []
        for file in request.json()["files"]:
            sample = base64.b64decode(file.get("sample", ""))
            lfs = (file["size"] > self.state.lfs_size_threshold or b"\0" in sample
                   or matches_any(file["path"], patterns))
            remote = commit.tree.get(file["path"])
            answer = {"path": file["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False}
            if remote is not None:  # lets the client skip files that did not change
                answer["oid"] = remote.sha256 if remote.lfs else remote.oid
            answers.append(answer)
        return Response.of_json({"files": answers, "commitOid": commit.oid})

    # the commit -------------------------------------------------------------------------------
    def commit(self, request: Request, repo_type: str, repo_id: str, revision: str) -> Response:
        repo = self.writable(request, repo_type, repo_id)
        if request.flag("create_pr"):
            raise HubError(400, "pull requests are not spoken by the local hub")
        lines = [json.loads(line) for line in request.body.splitlines() if line.strip()]
        header = next((line["value"] for line in lines if line["key"] == "header"), None)
        if header is None:
            raise HubError(400, "the commit payload has no header line")
        if revision not in repo.branches:
            raise revision_not_found(revision)  # commits go to a branch
        with self.state.lock:  # read the head, check it, write the new head: one step
            head = repo.resolve(revision)
            parent = header.get("parentCommit")
            if parent is not None and parent != head.oid:
                # What the Hub answers when the branch moved since parent_commit was read.
                raise HubError(412, "A commit has happened since. Please refresh and try again.")
            tree, added, deleted, lfs = dict(head.tree), [], [], []
            for line in lines:
                key, value = line["key"], line.get("value", {})
                if key == "header":
                    continue
                if key == "file":  # inline content: a regular git blob, as the client chose
                    tree[value["path"]] = Entry(base64.b64decode(value["content"]))
                    added.append(value["path"])
                elif key == "lfsFile":
                    oid = value["oid"]
                    if oid not in repo.lfs_objects or value.get("size", len(self.state.blobs[oid])) != len(
                            self.state.blobs[oid]):
                        raise HubError(400, "Your push was rejected because an LFS pointer points to a file "
                                            f"that does not exist: {value['path']}")
                    tree[value["path"]] = Entry(self.state.blobs[oid], lfs=True)
                    added.append(value["path"])
                    lfs.append(value["path"])
                elif key == "deletedFile":
                    if tree.pop(value["path"], None) is None:
                        raise entry_not_found(value["path"], head)
                    deleted.append(value["path"])
                elif key == "deletedFolder":
                    folder = value["path"].strip("/") + "/"
                    gone = [path for path in tree if path.startswith(folder)]
                    if not gone:
                        raise entry_not_found(value["path"], head)
                    for path in gone:
                        del tree[path]
                    deleted += gone
                else:
                    self.state.unknown.append(f"commit operation {key!r}")
                    raise HubError(400, f"commit operation {key!r} is not spoken by the local hub")
            commit = add_commit(repo, revision, tree, header.get("summary") or "", header.get("description") or "",
                                added, deleted)
            self.state.commits.append({"repo": repo_id, "repo_type": repo_type, "oid": commit.oid,
                                       "parent": commit.parent, "summary": commit.title, "paths": added,
                                       "lfs": lfs, "deleted": deleted})
        return Response.of_json({"success": True, "commitOid": commit.oid,
                                 "commitUrl": f"{self.repo_url(repo)}/commit/{commit.oid}",
                                 "commitMessage": commit.title, "hookOutput": "", "pullRequestUrl": None})


# -- how the Hub writes entries ---------------------------------------------------------------------
def sibling(path: str, entry: Entry, blobs: bool) -> dict:
    """A file in repo info; size, blob id and LFS details only with ?blobs=True (files_metadata)."""
    if not blobs:
        return {"rfilename": path}
    lfs = {"lfs": {"size": entry.size, "sha256": entry.sha256, "pointerSize": len(entry.pointer)}} if entry.lfs else {}
    return {"rfilename": path, "size": entry.size, "blobId": entry.oid} | lfs


def path_info(repo: Repo, commit: Commit, path: str, expand: bool) -> dict:
    """A tree / paths-info entry, as the Hub writes it."""
    entry = commit.tree.get(path)
    if entry is not None:
        info = {"type": "file", "oid": entry.oid, "size": entry.size, "path": path}
        if entry.lfs:
            info["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": len(entry.pointer)}
    else:
        children = sorted((name, item.oid) for name, item in commit.tree.items() if name.startswith(path + "/"))
        info = {"type": "directory", "oid": hashlib.sha1(repr(children).encode()).hexdigest(), "size": 0,
                "path": path}
    if expand:
        last = last_commit_touching(repo, commit, path)
        info["lastCommit"] = {"id": last.oid, "title": last.title, "date": last.date}
    return info


def last_commit_touching(repo: Repo, commit: Commit, path: str) -> Commit:
    def snapshot(tree: dict[str, Entry]) -> list:
        return sorted((name, item.oid) for name, item in tree.items() if name == path or name.startswith(path + "/"))

    while commit.parent is not None:
        parent = repo.commits[commit.parent]
        if snapshot(commit.tree) != snapshot(parent.tree):
            return commit
        commit = parent
    return commit


def card_data(readme: Entry | None) -> dict | None:
    """The YAML front matter of README.md, which the Hub serves as cardData."""
    if readme is None:
        return None
    match = FRONT_MATTER.match(readme.content.decode(errors="replace"))
    if not match:
        return None
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None
