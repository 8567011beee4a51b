"""What travels between the client and the local Hub: a parsed request, an answer, and the errors
as the Hub writes them (status, X-Error-Code, X-Error-Message), which huggingface_hub maps to its
exceptions (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError...).

Apart from the routes because every route group raises the same errors and answers the same way,
and the server turns both into bytes on the wire.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from testing.hub.model import Commit


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


def refusal(status: int, message: str, code: str | None = None) -> HubError:
    return HubError(status, message, code, refused=True)


def repo_not_found(authenticated: bool) -> HubError:
    # The Hub answers 401 to anonymous callers rather than reveal whether a repo exists.
    return HubError(404 if authenticated else 401, "Repository not found", "RepoNotFound")


def revision_not_found(revision: str) -> HubError:
    return HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


def entry_not_found(path: str, commit: Commit | None = None) -> HubError:
    headers = {"X-Repo-Commit": commit.oid} if commit else {}  # lets the client cache the absence
    return HubError(404, f"Entry not found: {path}", "EntryNotFound", headers)


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


def error_response(error: HubError) -> Response:
    headers = {"X-Error-Message": error.message} | ({"X-Error-Code": error.code} if error.code else {})
    return Response.of_json({"error": error.message}, error.status, headers | error.headers)
