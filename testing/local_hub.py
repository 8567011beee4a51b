"""A small HTTP server on 127.0.0.1 that speaks the part of the Hugging Face Hub API our code uses.

The real clients (huggingface_hub 2.4.0, datasets 5.2.0) talk to it through HF_ENDPOINT, so tests
exercise exactly the requests the app, the retraining script and the deploy command make:

- repos: create (409 carries the url, as on the Hub, so `create_repo(exist_ok=True)` works),
  delete; model, dataset and space repos, public or private, each born with the Hub's
  "initial commit" holding a .gitattributes.
- commits: preupload (answers "lfs" or "regular" like the Hub: .gitattributes patterns, binary
  content, size), the git-LFS batch API with the basic and the multipart transfers (the PUTs go
  to "signed" storage URLs, the sha256 and size are checked), the NDJSON commit (inline files,
  LFS pointers, deleted files and folders), `parentCommit` checked (HTTP 412 when stale).
- reads: repo info at a branch or a commit (sha, siblings, cardData from README.md front
  matter), tree listing (recursive, expand, paginated with Link headers), paths-info, commits
  (paginated), refs, and /resolve downloads (HEAD and GET, Range requests) with the headers
  hf_hub_download relies on. LFS files redirect to a "CDN" on http://localhost:<port> - another
  origin, so the client drops the Authorization header exactly as it does with the real CDN.
- errors the clients understand: 404 + X-Error-Code RepoNotFound / RevisionNotFound /
  EntryNotFound, 401 for a wrong token or a private repo read anonymously.

huggingface_hub uploads LFS content through Xet (a separate storage protocol, hf_xet) whenever
the hf_xet package is installed; this server does not speak Xet, so the client must run with
HF_HUB_DISABLE_XET=1 (tests/conftest.py sets it) and then uses the git-LFS batch API, the path
huggingface_hub keeps for Hubs without Xet. A Xet request is refused and listed in `unknown`.

Tests read `hub.state` (HubState below) and the helpers on LocalHub. `state.unknown` lists every
request the server did not understand: assert it stays empty to prove the stub covers what the
clients did. The state lives in the LocalHub object, so stop()/start() (the Hub going down and
coming back) keeps every repo.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import hashlib
import json
import posixpath
import re
import secrets
import threading
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import yaml

REPO_TYPES = ("model", "dataset", "space")
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}  # as in /resolve/ and .git URLs
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
# Request kinds, as counted in HubState.requests and named in LocalHub.fail_next.
KINDS = ("create", "delete", "validate-yaml", "info", "tree", "paths-info", "commits", "refs", "preupload",
         "commit", "lfs-batch", "lfs-upload", "lfs-verify", "resolve", "cdn", "variables", "agent-harnesses", "unknown")
FRONT_MATTER = re.compile(r"^---\s*\n(.*?)\n---\s*(\n|$)", re.DOTALL)  # README.md's YAML metadata

# The .gitattributes the Hub writes in the first commit of a new repo (abridged to the patterns).
# Dataset repos also track media files with LFS, which is why our feedback PNGs go through LFS.
LFS_PATTERNS = ("*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.mlmodel *.model *.msgpack *.npy "
                "*.npz *.onnx *.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors saved_model/**/* "
                "*.tar.* *.tar *.tflite *.tgz *.wasm *.xz *.zip *.zst *tfevents*").split()
DATASET_LFS_PATTERNS = ("*.lz4 *.mds *.pcm *.sam *.raw *.aac *.flac *.mp3 *.ogg *.wav *.bmp *.gif *.png *.tiff "
                        "*.jpg *.jpeg *.webp *.mp4 *.webm").split()


def _gitattributes(repo_type: str) -> bytes:
    patterns = LFS_PATTERNS + (DATASET_LFS_PATTERNS if repo_type == "dataset" else [])
    return "".join(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in patterns).encode()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _git_blob_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


# -- the data model ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One file in one commit. `lfs`: stored in LFS (git holds a pointer, the bytes live in storage)."""

    content: bytes
    lfs: bool = False

    @property
    def size(self) -> int:
        return len(self.content)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @cached_property
    def pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n".encode()

    @cached_property
    def oid(self) -> str:
        """The git blob id: of the content, or of the LFS pointer file (as on the Hub)."""
        return _git_blob_oid(self.pointer if self.lfs else self.content)


@dataclass
class Commit:
    oid: str
    parent: str | None
    date: str  # ISO 8601, UTC
    title: str
    message: str
    tree: dict[str, Entry]  # the full snapshot: every file at this commit
    added: list[str] = field(default_factory=list)  # paths written (new or replaced) by this commit
    deleted: list[str] = field(default_factory=list)


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool = False
    sdk: str | None = None  # spaces
    created_at: str = field(default_factory=_now)
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit oid
    commits: dict[str, Commit] = field(default_factory=dict)  # oid -> commit, every commit ever made
    lfs_objects: set[str] = field(default_factory=set)  # sha256 of the LFS objects uploaded to this repo
    variables: dict[str, dict] = field(default_factory=dict)  # spaces: key -> {"value", "description", "updatedAt"}

    @property
    def url_path(self) -> str:
        return f"{URL_PREFIX[self.repo_type]}{self.repo_id}"

    def resolve(self, revision: str) -> Commit | None:
        """A branch name or a full commit sha -> the commit; None if unknown."""
        oid = self.branches.get(revision) or (revision if COMMIT_RE.match(revision) else None)
        return self.commits.get(oid) if oid else None

    def history(self, revision: str = "main") -> list[Commit]:
        """Newest first, following parents."""
        commit, chain = self.resolve(revision), []
        while commit is not None:
            chain.append(commit)
            commit = self.commits.get(commit.parent) if commit.parent else None
        return chain


@dataclass
class HubState:
    """Everything the server knows; tests read it.

    repositories  (repo_type, repo_id) -> Repo, with its branches and its full commit history.
    commits       one dict per commit received through the commit API, in order: repo,
                  repo_type, oid, parent, summary, paths (files added or replaced, inline or LFS),
                  lfs (the LFS ones among them), deleted. The Hub's "initial commit" is not in it.
    uploads       one dict per LFS object stored: repo, repo_type, oid (sha256), size, transfer
                  ("basic" or "multipart"), parts. An object already on the Hub is not uploaded again.
    requests      Counter of requests by kind (see KINDS), including refused and failed ones.
    refused       requests refused for credentials: wrong token, write without a token, private
                  repo read without the token.
    unknown       "METHOD /path" of every request the server does not speak; should stay empty.
    injected      Counter of the failures injected with LocalHub.fail_next, by kind.
    log           (method, path, status) of every request, in order: what to read when a test fails.
    repos         (property, backward compatible) dataset repo id -> {path: bytes} at main.
    Knobs: lfs_size_threshold (bigger files go to LFS whatever their name), multipart_threshold
    and multipart_chunk_size (LFS objects bigger than the threshold use the multipart transfer),
    tree_page_size and commits_page_size (entries per page before a Link: rel="next").
    """

    token: str
    user: str = "user"  # the namespace of repos created without one
    repositories: dict[tuple[str, str], Repo] = field(default_factory=dict)
    commits: list[dict] = field(default_factory=list)
    uploads: list[dict] = field(default_factory=list)
    requests: Counter = field(default_factory=Counter)
    refused: int = 0
    unknown: list[str] = field(default_factory=list)
    injected: Counter = field(default_factory=Counter)
    log: list[tuple[str, str, int]] = field(default_factory=list)
    failures: dict[str, deque] = field(default_factory=dict)  # kind -> statuses to answer next
    blobs: dict[str, bytes] = field(default_factory=dict)  # sha256 -> bytes: the LFS storage
    pending: dict[str, dict] = field(default_factory=dict)  # upload id -> LFS upload in progress
    secret: str = field(default_factory=lambda: secrets.token_hex(16))  # signs storage URLs
    lfs_size_threshold: int = 10 * 1024 * 1024
    multipart_threshold: int = 4 * 1024 * 1024
    multipart_chunk_size: int = 2 * 1024 * 1024
    tree_page_size: int = 1000  # the Hub: 1000, or 50 with expand=True
    commits_page_size: int = 50
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def repos(self) -> dict[str, dict[str, bytes]]:
        return {repo_id: {path: entry.content for path, entry in repo.resolve("main").tree.items()}
                for (repo_type, repo_id), repo in self.repositories.items() if repo_type == "dataset"}

    def sign(self, oid: str) -> str:
        return hashlib.sha256(f"{self.secret}:{oid}".encode()).hexdigest()[:32]


# -- HTTP plumbing -------------------------------------------------------------------------------
class HubError(Exception):
    """An error answer: status, message, and the X-Error-Code the client maps to an exception."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None,
                 refused: bool = False):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}
        self.refused = refused  # counted in HubState.refused: a credentials problem


@dataclass
class Request:
    method: str
    path: str
    segments: list[str]  # unquoted path segments
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def flag(self, name: str) -> bool:
        return (self.query.get(name, ["false"])[-1]).lower() in ("1", "true")

    def json(self):
        return json.loads(self.body or b"{}")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, value, status: int = 200, headers: dict | None = None,
                content_type: str = "application/json") -> "Response":
        return cls(status, json.dumps(value).encode(), {"Content-Type": content_type, **(headers or {})})


def _refused(status: int, message: str, code: str | None = None) -> HubError:
    return HubError(status, message, code, refused=True)


def repo_not_found(authenticated: bool) -> HubError:
    # The Hub answers 401 to anonymous callers rather than reveal whether a repo exists.
    return HubError(404 if authenticated else 401, "Repository not found", "RepoNotFound")


def revision_not_found(revision: str) -> HubError:
    return HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


def entry_not_found(path: str, commit: Commit | None = None) -> HubError:
    headers = {"X-Repo-Commit": commit.oid} if commit else {}  # lets the client cache the absence
    return HubError(404, f"Entry not found: {path}", "EntryNotFound", headers)


# -- the Hub's logic, one function per route ------------------------------------------------------
class Hub:
    """Routes and answers requests against a HubState. `endpoint`: the API origin (127.0.0.1);
    `cdn`: the same server under another origin (localhost), playing the LFS storage and CDN."""

    def __init__(self, state: HubState, endpoint: str, cdn: str):
        self.state, self.endpoint, self.cdn = state, endpoint, cdn

    # routing ----------------------------------------------------------------------------------
    def route(self, request: Request) -> tuple[str, Callable[[Request], Response]] | None:
        """(kind, handler) for a request, or None when the server does not speak it."""
        method, s = request.method, request.segments
        if s[:1] == ["api"]:
            return self._route_api(method, s[1:])
        if s[:1] == ["lfs-storage"]:
            return self._route_storage(method, s[1:])
        return self._route_git_and_resolve(method, s)

    def _route_api(self, method: str, s: list[str]):
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
        return None

    def _route_git_and_resolve(self, method: str, s: list[str]):
        repo_type = {"datasets": "dataset", "spaces": "space"}.get(s[0] if s else "", "model")
        s = s[1:] if repo_type != "model" else s
        if len(s) == 6 and s[1].endswith(".git") and s[2:5] == ["info", "lfs", "objects"] and method == "POST":
            repo_id = f"{s[0]}/{s[1][:-4]}"
            if s[5] == "batch":
                return "lfs-batch", lambda request: self.lfs_batch(request, repo_type, repo_id)
            if s[5] == "verify":
                return "lfs-verify", lambda request: self.lfs_verify(request, repo_type, repo_id)
        if len(s) >= 5 and s[2] == "resolve" and method in ("GET", "HEAD"):
            repo_id, revision, path = f"{s[0]}/{s[1]}", s[3], "/".join(s[4:])
            return "resolve", lambda request: self.resolve(request, repo_type, repo_id, revision, path)
        return None

    def _route_storage(self, method: str, s: list[str]):
        """The LFS storage (S3 on the Hub) and its CDN: reached through signed URLs only."""
        match method, s:
            case "PUT", ["upload", upload_id]:
                return "lfs-upload", lambda request: self.storage_put(request, upload_id)
            case "PUT", ["upload", upload_id, "part", number] if number.isdigit():
                return "lfs-upload", lambda request: self.storage_put_part(request, upload_id, int(number))
            case "POST", ["upload", upload_id, "complete"]:
                return "lfs-upload", lambda request: self.storage_complete(request, upload_id)
            case ("GET" | "HEAD"), ["objects", oid]:
                return "cdn", lambda request: self.storage_get(request, oid)
        return None

    # access -----------------------------------------------------------------------------------
    def authenticated(self, request: Request) -> bool:
        """True with the right token, False without any; a wrong token is refused outright
        (the Hub answers 401 "Invalid credentials" even on public repos)."""
        authorization = request.headers.get("authorization")
        if authorization is None:
            return False
        if authorization != f"Bearer {self.state.token}":
            raise _refused(401, "Invalid credentials in Authorization header")
        return True

    def readable(self, request: Request, repo_type: str, repo_id: str) -> Repo:
        authenticated = self.authenticated(request)
        repo = self.state.repositories.get((repo_type, repo_id))
        if repo is None:
            raise repo_not_found(authenticated)
        if repo.private and not authenticated:
            # What the Hub answers for a private repo read without credentials.
            raise _refused(401, "Invalid username or password.", "RepoNotFound")
        return repo

    def writable(self, request: Request, repo_type: str, repo_id: str) -> Repo:
        if not self.authenticated(request):
            raise _refused(401, "You must be authenticated to write to a repo")
        repo = self.state.repositories.get((repo_type, repo_id))
        if repo is None:
            raise repo_not_found(True)
        return repo

    def commit_at(self, repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise revision_not_found(revision)
        return commit

    def repo_url(self, repo: Repo) -> str:
        return f"{self.endpoint}/{repo.url_path}"

    # repos ------------------------------------------------------------------------------------
    def create_repo(self, request: Request) -> Response:
        if not self.authenticated(request):
            raise _refused(401, "You must be authenticated to create a repo")
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
            raise _refused(401, "You must be authenticated to delete a repo")
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
                                       "updatedAt": _now()}
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
        directories = _directories(commit.tree)
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
        known = set(commit.tree) | _directories(commit.tree)
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

    def resolve(self, request: Request, repo_type: str, repo_id: str, revision: str, path: str) -> Response:
        repo = self.readable(request, repo_type, repo_id)
        commit = self.commit_at(repo, revision)
        entry = commit.tree.get(path)
        if entry is None:
            raise entry_not_found(path, commit)
        headers = {"X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes"}
        if entry.lfs:
            # The Hub redirects LFS files to its CDN with a signed URL; the metadata the client needs
            # is on the redirect itself (X-Linked-Etag = sha256, X-Linked-Size).
            location = f"{self.cdn}/lfs-storage/objects/{entry.sha256}?sig={self.state.sign(entry.sha256)}"
            return Response(302, b"", headers | {"Location": location, "ETag": f'"{entry.oid}"',
                                                 "X-Linked-Etag": f'"{entry.sha256}"',
                                                 "X-Linked-Size": str(entry.size)})
        return ranged(request, entry.content, headers | {"ETag": f'"{entry.oid}"'})

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

    def lfs_batch(self, request: Request, repo_type: str, repo_id: str) -> Response:
        repo = self.writable(request, repo_type, repo_id)
        payload = request.json()
        if payload.get("operation") != "upload":
            raise HubError(400, "only uploads are spoken by the local hub's LFS batch API")
        transfers = payload.get("transfers") or ["basic"]
        objects, used = [], set()
        for item in payload["objects"]:
            oid, size = item["oid"], item["size"]
            answer = {"oid": oid, "size": size, "authenticated": True}
            if oid in repo.lfs_objects:
                objects.append(answer)  # already stored: no actions, the client skips the upload
                continue
            upload_id = uuid.uuid4().hex  # one per upload: two repos may send the same object at once
            self.state.pending[upload_id] = {"oid": oid, "size": size, "repo": repo, "parts": {}}
            sig = self.state.sign(upload_id)
            upload = f"{self.cdn}/lfs-storage/upload/{upload_id}"
            multipart = "multipart" in transfers and size > self.state.multipart_threshold
            if multipart:
                chunk = self.state.multipart_chunk_size
                parts = -(-size // chunk)
                header = {"chunk_size": str(chunk)} | {
                    str(number): f"{upload}/part/{number}?sig={sig}" for number in range(1, parts + 1)}
                action = {"href": f"{upload}/complete?sig={sig}", "header": header}
                used.add("multipart")
            else:
                action = {"href": f"{upload}?sig={sig}"}
                used.add("basic")
            verify = {"href": f"{self.endpoint}/{repo.url_path}.git/info/lfs/objects/verify",
                      "header": {"Authorization": f"Bearer {self.state.token}"}}
            objects.append(answer | {"actions": {"upload": action, "verify": verify}})
        transfer = "multipart" if "multipart" in used else "basic"
        return Response.of_json({"transfer": transfer, "objects": objects, "hash_algo": "sha256"},
                                content_type="application/vnd.git-lfs+json")

    def check_signature(self, request: Request, signed: str) -> None:
        if "authorization" in request.headers:
            # S3 refuses a signed URL that also carries an Authorization header; the client must
            # not send the Hub token off the Hub.
            raise HubError(400, "Only one auth mechanism allowed")
        if request.query.get("sig", [""])[0] != self.state.sign(signed):
            raise _refused(403, "Request has expired or the signature does not match")

    def _pending(self, request: Request, upload_id: str) -> dict:
        self.check_signature(request, upload_id)
        pending = self.state.pending.get(upload_id)
        if pending is None:
            raise HubError(404, "No such upload in progress")
        return pending

    def _store(self, upload_id: str, content: bytes, transfer: str, parts: int) -> Response:
        """The upload is complete: check the bytes against the announced sha256 and size."""
        pending = self.state.pending[upload_id]
        oid = pending["oid"]
        if len(content) != pending["size"] or hashlib.sha256(content).hexdigest() != oid:
            raise HubError(400, f"Uploaded content does not match oid {oid} and size {pending['size']}")
        repo = pending["repo"]
        self.state.blobs[oid] = content
        repo.lfs_objects.add(oid)
        del self.state.pending[upload_id]
        self.state.uploads.append({"repo": repo.repo_id, "repo_type": repo.repo_type, "oid": oid,
                                   "size": len(content), "transfer": transfer, "parts": parts})
        return Response.of_json({})

    def storage_put(self, request: Request, upload_id: str) -> Response:
        self._pending(request, upload_id)
        return self._store(upload_id, request.body, "basic", 1)

    def storage_put_part(self, request: Request, upload_id: str, number: int) -> Response:
        pending = self._pending(request, upload_id)
        etag = hashlib.md5(request.body).hexdigest()  # S3's part ETag; the client echoes it back
        pending["parts"][number] = (etag, request.body)
        return Response(200, b"", {"ETag": f'"{etag}"'})

    def storage_complete(self, request: Request, upload_id: str) -> Response:
        pending = self._pending(request, upload_id)
        listed = request.json()
        if listed.get("oid") != pending["oid"]:
            raise HubError(400, "completion for another object")
        chunks = []
        for part in listed["parts"]:
            etag, content = pending["parts"].get(part["partNumber"], (None, b""))
            if etag is None or part["etag"].strip('"') != etag:
                raise HubError(400, f"part {part['partNumber']} missing or its etag differs")
            chunks.append(content)
        return self._store(upload_id, b"".join(chunks), "multipart", len(chunks))

    def lfs_verify(self, request: Request, repo_type: str, repo_id: str) -> Response:
        repo = self.writable(request, repo_type, repo_id)
        payload = request.json()
        content = self.state.blobs.get(payload["oid"])
        if payload["oid"] not in repo.lfs_objects or content is None or len(content) != payload["size"]:
            raise HubError(404, f"LFS object {payload['oid']} was not uploaded")
        return Response.of_json({"success": True})

    def storage_get(self, request: Request, oid: str) -> Response:
        self.check_signature(request, oid)
        if oid not in self.state.blobs:
            raise HubError(404, "No such object")
        return ranged(request, self.state.blobs[oid], {"ETag": f'"{oid}"', "Accept-Ranges": "bytes"})

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


# -- helpers shared by routes and tests ---------------------------------------------------------------
def create_repo(state: HubState, repo_type: str, repo_id: str, private: bool = False,
                sdk: str | None = None) -> Repo:
    """A new repo with the Hub's first commit: "initial commit", holding .gitattributes."""
    with state.lock:
        repo = Repo(repo_type, repo_id, private=private, sdk=sdk)
        add_commit(repo, "main", {".gitattributes": Entry(_gitattributes(repo_type))}, "initial commit", "",
                   [".gitattributes"], [])
        state.repositories[(repo_type, repo_id)] = repo
        return repo


def add_commit(repo: Repo, branch: str, tree: dict[str, Entry], title: str, message: str,
               added: list[str], deleted: list[str]) -> Commit:
    """A new commit on top of the branch head (or the root commit of a new repo)."""
    parent_oid = repo.branches.get(branch)
    date = _now()
    digest = hashlib.sha1(f"{parent_oid}\n{date}\n{title}\n{uuid.uuid4()}".encode())
    for path in sorted(tree):
        digest.update(f"{path}\0{tree[path].oid}\n".encode())
    commit = Commit(digest.hexdigest(), parent_oid, date, title, message, tree, list(added), list(deleted))
    repo.commits[commit.oid] = commit
    repo.branches[branch] = commit.oid
    return commit


def _directories(tree: dict[str, Entry]) -> set[str]:
    """Every folder that holds a file (git has no empty folders)."""
    return {"/".join(path.split("/")[:depth]) for path in tree for depth in range(1, path.count("/") + 1)}


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


def ranged(request: Request, content: bytes, headers: dict) -> Response:
    """200 with the whole content, or 206 for a `Range: bytes=a-b` request (HfFileSystem reads
    Parquet footers and row groups that way)."""
    headers = headers | {"Content-Type": "application/octet-stream"}
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", request.headers.get("range", ""))
    if not match or not content:
        return Response(200, content, headers | {"Content-Length": str(len(content))})
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(0, len(content) - int(last)), len(content) - 1
    else:
        start, end = int(first), min(int(last) if last else len(content) - 1, len(content) - 1)
    if start >= len(content):
        return Response(416, b"", headers | {"Content-Range": f"bytes */{len(content)}"})
    return Response(206, content[start:end + 1], headers | {"Content-Range": f"bytes {start}-{end}/{len(content)}"})


def lfs_patterns(gitattributes: Entry | None) -> list[str]:
    if gitattributes is None:
        return []
    return [line.split()[0] for line in gitattributes.content.decode(errors="replace").splitlines()
            if "filter=lfs" in line and not line.lstrip().startswith("#")]


def matches_any(path: str, patterns: list[str]) -> bool:
    """gitattributes matching, as far as the Hub's default patterns need: a pattern without a
    slash matches the file name at any depth, one with a slash matches the whole path."""
    name = posixpath.basename(path)
    return any(fnmatch.fnmatchcase(path, pattern.replace("**/", "*")) if "/" in pattern
               else fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


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


# -- the server ----------------------------------------------------------------------------------
def _handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    state = hub.state

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def _body(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                chunks = []  # http.server does not decode chunked uploads (httpx streams files so)
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(self, response: Response) -> None:
            with state.lock:
                state.log.append((self.command, self.path, response.status))
            self.send_response(response.status)
            headers = response.headers | {"Content-Length": response.headers.get("Content-Length",
                                                                                  str(len(response.body)))}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def _serve(self) -> None:
            split = urlsplit(self.path)
            request = Request(self.command, self.path, [unquote(part) for part in split.path.strip("/").split("/")],
                              parse_qs(split.query, keep_blank_values=True),
                              {name.lower(): value for name, value in self.headers.items()}, self._body())
            routed = hub.route(request)
            if routed is None:
                with state.lock:
                    state.requests["unknown"] += 1
                    state.unknown.append(f"{self.command} {self.path}")
                hint = " (Xet storage: run the client with HF_HUB_DISABLE_XET=1)" if "xet" in self.path else ""
                return self._send(error_response(HubError(404, f"not spoken by the local hub{hint}")))
            kind, handler = routed
            with state.lock:
                state.requests[kind] += 1
                queued = state.failures.get(kind)
                injected = queued.popleft() if queued else None
                if injected is not None:
                    state.injected[kind] += 1
            if injected is not None:
                return self._send(error_response(HubError(injected, f"injected failure ({kind})")))
            try:
                with state.lock:  # handlers work in memory and are quick: one at a time, no races
                    response = handler(request)
            except HubError as error:
                if error.refused:
                    with state.lock:
                        state.refused += 1
                response = error_response(error)
            self._send(response)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - the http.server API

    return Handler


def error_response(error: HubError) -> Response:
    headers = {"X-Error-Message": error.message} | ({"X-Error-Code": error.code} if error.code else {})
    return Response.of_json({"error": error.message}, error.status, headers | error.headers)


class LocalHub:
    """Start, stop and restart the server on one port; the state survives restarts.

    hub = LocalHub(port, token).start()     # endpoint: http://127.0.0.1:<port>
    HfApi(endpoint=hub.endpoint, token=token).create_repo(...)
    hub.files("team/feedback")              # {path: bytes} at main
    hub.stop()                              # the Hub is down (connections refused)
    """

    def __init__(self, port: int, token: str, **knobs):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.cdn = f"http://localhost:{port}"  # the same server as another origin: LFS storage and CDN
        self.state = HubState(token, **knobs)
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> "LocalHub":
        hub = Hub(self.state, self.endpoint, self.cdn)
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(hub))
        self._server.daemon_threads = True
        # A short poll so that stop() returns at once (the default 0.5 s adds up over a test file).
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "LocalHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- for tests --------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """Environment for a client in a subprocess: this Hub, no Xet (see the module docstring)."""
        return {"HF_ENDPOINT": self.endpoint, "HF_HUB_DISABLE_XET": "1"}

    def repo(self, repo_id: str, repo_type: str = "dataset") -> Repo:
        return self.state.repositories[(repo_type, repo_id)]

    def head(self, repo_id: str, repo_type: str = "dataset", branch: str = "main") -> str:
        """The commit sha at the head of a branch."""
        return self.repo(repo_id, repo_type).branches[branch]

    def files(self, repo_id: str, repo_type: str = "dataset", revision: str = "main") -> dict[str, bytes]:
        """Every file at a branch or commit: path -> content."""
        commit = self.repo(repo_id, repo_type).resolve(revision)
        if commit is None:
            raise KeyError(revision)
        return {path: entry.content for path, entry in commit.tree.items()}

    def history(self, repo_id: str, repo_type: str = "dataset", revision: str = "main") -> list[Commit]:
        """Commits newest first, down to the "initial commit"."""
        return self.repo(repo_id, repo_type).history(revision)

    def fail_next(self, kind: str, times: int = 1, status: int = 503) -> None:
        """The next `times` requests of `kind` (one of KINDS; "resolve" is HEAD and GET of
        /resolve/, "cdn" the LFS downloads it redirects to) answer `status`, before any check."""
        if kind not in KINDS:
            raise ValueError(f"unknown request kind {kind!r}; one of {KINDS}")
        with self.state.lock:
            self.state.failures.setdefault(kind, deque()).extend([status] * times)

    def create(self, repo_id: str, repo_type: str = "dataset", private: bool = False,
               sdk: str | None = None) -> Repo:
        """Seed a repo without going through HTTP (for tests that only read)."""
        return create_repo(self.state, repo_type, repo_id, private=private, sdk=sdk)

    def commit(self, repo_id: str, changes: dict[str, bytes | None], repo_type: str = "dataset",
               message: str = "seed") -> str:
        """Seed a commit without going through HTTP: path -> bytes (None deletes). Files matching
        the repo's .gitattributes are stored as LFS. Returns the commit sha."""
        with self.state.lock:
            repo = self.repo(repo_id, repo_type)
            head = repo.resolve("main")
            tree = dict(head.tree)
            patterns = lfs_patterns(tree.get(".gitattributes"))
            for path, content in changes.items():
                if content is None:
                    tree.pop(path, None)
                    continue
                entry = Entry(content, lfs=matches_any(path, patterns))
                tree[path] = entry
                if entry.lfs:
                    self.state.blobs[entry.sha256] = content
                    repo.lfs_objects.add(entry.sha256)
            added = [path for path, content in changes.items() if content is not None]
            deleted = [path for path, content in changes.items() if content is None]
            return add_commit(repo, "main", tree, message, "", added, deleted).oid
