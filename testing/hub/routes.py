"""What every route group of the local Hub shares: the state it answers from, its two origins, and
who may read or write (the Hub's credentials rules: a wrong token is refused outright, a private
repo read anonymously looks missing).

The route groups (api.py, git.py, storage.py) are mixins of Routes, joined into one Hub in
server.py; each checks access the same way through these methods.
"""

from __future__ import annotations

from testing.hub.messages import Request, refusal, repo_not_found, revision_not_found
from testing.hub.model import Commit, HubState, Repo


class Routes:
    """What every route group reads: the HubState and the two origins. `endpoint`: the API origin
    (127.0.0.1); `cdn`: the same server under another origin (localhost), playing the LFS storage
    and CDN."""

    def __init__(self, state: HubState, endpoint: str, cdn: str):
        self.state, self.endpoint, self.cdn = state, endpoint, cdn

    def authenticated(self, request: Request) -> bool:
        """True with the right token, False without any; a wrong token is refused outright
        (the Hub answers 401 "Invalid credentials" even on public repos)."""
        authorization = request.headers.get("authorization")
        if authorization is None:
            return False
        if authorization != f"Bearer {self.state.token}":
            raise refusal(401, "Invalid credentials in Authorization header")
        return True

    def readable(self, request: Request, repo_type: str, repo_id: str) -> Repo:
        authenticated = self.authenticated(request)
        repo = self.state.repositories.get((repo_type, repo_id))
        if repo is None:
            raise repo_not_found(authenticated)
        if repo.private and not authenticated:
            # What the Hub answers for a private repo read without credentials.
            raise refusal(401, "Invalid username or password.", "RepoNotFound")
        return repo

    def writable(self, request: Request, repo_type: str, repo_id: str) -> Repo:
        if not self.authenticated(request):
            raise refusal(401, "You must be authenticated to write to a repo")
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
