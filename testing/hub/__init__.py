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
- scheduled Jobs: whoami, create, list (one label filter), delete, in the shapes HfApi reads;
  none ever runs (a test runs the command itself).
- errors the clients understand: 404 + X-Error-Code RepoNotFound / RevisionNotFound /
  EntryNotFound, 401 for a wrong token or a private repo read anonymously.

huggingface_hub uploads LFS content through Xet (a separate storage protocol, hf_xet) whenever
the hf_xet package is installed; this server does not speak Xet, so the client must run with
HF_HUB_DISABLE_XET=1 (tests/conftest.py sets it) and then uses the git-LFS batch API, the path
huggingface_hub keeps for Hubs without Xet. A Xet request is refused and listed in `unknown`.

Tests read `hub.state` (HubState, in model.py) and the helpers on LocalHub. `state.unknown` lists every
request the server did not understand: assert it stays empty to prove the stub covers what the
clients did. The state lives in the LocalHub object, so stop()/start() (the Hub going down and
coming back) keeps every repo.

One module per part, so that each route group reads on its own:

- model.py: repos, commits, file entries and HubState; creating repos and commits.
- messages.py: the parsed request, the answer, the errors as the Hub writes them.
- routes.py: what every route group shares: the state, the two origins, who may read or write.
- api.py: /api/ routes: create, delete, info, tree, paths-info, commits, refs, preupload, commit.
- jobs.py: /api/whoami-v2 and /api/scheduled-jobs/.
- git.py: a repo's own URLs: /resolve/ downloads and the git-LFS batch and verify API.
- storage.py: the LFS storage and CDN behind signed URLs, on the other origin.
- server.py: the HTTP server, the routing table, LocalHub.
"""

from testing.hub.model import Commit, Entry, HubState, Repo
from testing.hub.server import KINDS, LocalHub

__all__ = ["KINDS", "Commit", "Entry", "HubState", "LocalHub", "Repo"]
