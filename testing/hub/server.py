"""The local Hub's HTTP server and LocalHub, the object tests start, stop and read.

The server parses each request, finds its route group (Hub.route), counts it by kind, answers an
injected failure if one is queued (LocalHub.fail_next), and otherwise runs the handler under the
state's lock. Apart from the routes so that the route groups know nothing of http.server.
"""

from __future__ import annotations

import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from testing.hub.api import ApiRoutes
from testing.hub.git import GitRoutes
from testing.hub.jobs import JobsRoutes
from testing.hub.messages import HubError, Request, Response, error_response
from testing.hub.model import Commit, Entry, HubState, Repo, add_commit, create_repo, lfs_patterns, matches_any
from testing.hub.storage import StorageRoutes

# Request kinds, as counted in HubState.requests and named in LocalHub.fail_next.
KINDS = ("create", "delete", "validate-yaml", "info", "tree", "paths-info", "commits", "refs", "preupload",
         "commit", "lfs-batch", "lfs-upload", "lfs-verify", "resolve", "cdn", "variables", "agent-harnesses", "whoami", "scheduled-jobs", "unknown")


class Hub(ApiRoutes, GitRoutes, JobsRoutes, StorageRoutes):
    """Routes and answers requests against a HubState: every route group, one routing table."""

    def route(self, request: Request) -> tuple[str, Callable[[Request], Response]] | None:
        """(kind, handler) for a request, or None when the server does not speak it."""
        method, s = request.method, request.segments
        if s[:1] == ["api"]:
            return self.route_api(method, s[1:]) or self.route_jobs(method, s[1:])
        if s[:1] == ["lfs-storage"]:
            return self.route_storage(method, s[1:])
        return self.route_git_and_resolve(method, s)


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
        """Environment for a client in a subprocess: this Hub, no Xet (see testing/hub/__init__.py)."""
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
