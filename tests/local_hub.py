"""A small HTTP server on 127.0.0.1 that speaks the part of the Hub API our push uses.

The real huggingface_hub client talks to it through HF_ENDPOINT: create a repo, ask how to
upload files (preupload: always "regular", inline), and commit them (NDJSON). It checks the
bearer token, keeps every commit, and can go down and come back with its repos intact.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class HubState:
    token: str
    repos: dict[str, dict[str, bytes]] = field(default_factory=dict)  # repo id -> path -> content
    commits: list[dict] = field(default_factory=list)  # repo, paths
    refused: int = 0  # requests with a wrong token
    unknown: list[str] = field(default_factory=list)  # requests we do not speak


def _handler(state: HubState, endpoint: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                state.refused += 1
                return self._reply(401, {"error": "Invalid credentials in Authorization header"})
            parts = self.path.split("?")[0].strip("/").split("/")
            if parts[:3] == ["api", "repos", "create"]:
                request = json.loads(body)
                repo_id = f"{request.get('organization') or 'user'}/{request['name']}"
                if repo_id in state.repos:
                    return self._reply(409, {"error": "You already created this dataset repo"})
                state.repos[repo_id] = {}
                return self._reply(200, {"url": f"{endpoint}/datasets/{repo_id}"})
            if len(parts) == 6 and parts[:2] == ["api", "datasets"] and parts[4] in ("preupload", "commit"):
                repo_id = f"{parts[2]}/{parts[3]}"
                if repo_id not in state.repos:
                    return self._reply(404, {"error": "Repository not found"})
                if parts[4] == "preupload":
                    files = json.loads(body)["files"]
                    return self._reply(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                        "shouldIgnore": False} for f in files]})
                paths = []
                for line in body.splitlines():
                    item = json.loads(line)
                    if item["key"] == "file":
                        value = item["value"]
                        state.repos[repo_id][value["path"]] = base64.b64decode(value["content"])
                        paths.append(value["path"])
                state.commits.append({"repo": repo_id, "paths": paths})
                oid = uuid.uuid4().hex + "00000000"
                return self._reply(200, {"commitUrl": f"{endpoint}/datasets/{repo_id}/commit/{oid}",
                                         "commitOid": oid})
            state.unknown.append(f"POST {self.path}")
            return self._reply(404, {"error": "not spoken here"})

        def do_GET(self) -> None:  # noqa: N802
            state.unknown.append(f"GET {self.path}")
            self._reply(404, {"error": "not spoken here"})

    return Handler


class LocalHub:
    """Start, stop and restart the server on one port; the state survives restarts."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.state = HubState(token)
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> "LocalHub":
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self.state, self.endpoint))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
