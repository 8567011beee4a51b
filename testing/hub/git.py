"""The local Hub's routes under a repo's own URL rather than /api/: /resolve/ downloads (HEAD and
GET, Range requests, LFS files redirected to the "CDN") and the git-LFS batch and verify API at
<repo>.git/info/lfs/objects/, which hands out the signed storage URLs storage.py answers.

One group because the Hub routes them the same way (an optional datasets/ or spaces/ prefix, then
owner/name), not through /api/.
"""

from __future__ import annotations

import uuid

from testing.hub.messages import HubError, Request, Response, entry_not_found, ranged
from testing.hub.routes import Routes


class GitRoutes(Routes):
    """<repo>/resolve/<revision>/<path> and <repo>.git/info/lfs/objects/{batch,verify}."""

    def route_git_and_resolve(self, method: str, s: list[str]):
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

    def lfs_verify(self, request: Request, repo_type: str, repo_id: str) -> Response:
        repo = self.writable(request, repo_type, repo_id)
        payload = request.json()
        content = self.state.blobs.get(payload["oid"])
        if payload["oid"] not in repo.lfs_objects or content is None or len(content) != payload["size"]:
            raise HubError(404, f"LFS object {payload['oid']} was not uploaded")
        return Response.of_json({"success": True})
