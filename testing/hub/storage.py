"""The local Hub's LFS storage (S3 on the Hub) and its CDN, on the "localhost" origin: signed
upload URLs (basic PUT, multipart parts and completion), the sha256 and size checked on arrival,
and signed downloads.

Apart because it plays another service: reached only through signed URLs handed out by git.py,
on another origin, so the client must not send the Hub token here (and a request that does is
refused, as S3 refuses it).
"""

from __future__ import annotations

import hashlib

from testing.hub.messages import HubError, Request, Response, ranged, refusal
from testing.hub.routes import Routes


class StorageRoutes(Routes):
    """/lfs-storage/...: the LFS storage (S3 on the Hub) and its CDN: reached through signed URLs only."""

    def route_storage(self, method: str, s: list[str]):
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

    def check_signature(self, request: Request, signed: str) -> None:
        if "authorization" in request.headers:
            # S3 refuses a signed URL that also carries an Authorization header; the client must
            # not send the Hub token off the Hub.
            raise HubError(400, "Only one auth mechanism allowed")
        if request.query.get("sig", [""])[0] != self.state.sign(signed):
            raise refusal(403, "Request has expired or the signature does not match")

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

    def storage_get(self, request: Request, oid: str) -> Response:
        self.check_signature(request, oid)
        if oid not in self.state.blobs:
            raise HubError(404, "No such object")
        return ranged(request, self.state.blobs[oid], {"ETag": f'"{oid}"', "Accept-Ranges": "bytes"})
