"""The local Hub's data model: repos, their commits and files, and HubState, everything the
server knows (tests read it through LocalHub.state).

Apart from the routes so that a test, or LocalHub's seeding helpers, can build and inspect repos
without HTTP, and so that each route group reads the same few types. Nothing here knows about
requests: the routes (api.py, git.py, storage.py) turn these into the Hub's answers.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import posixpath
import re
import secrets
import threading
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from functools import cached_property

REPO_TYPES = ("model", "dataset", "space")
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}  # as in /resolve/ and .git URLs
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")

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


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _git_blob_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


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
    created_at: str = field(default_factory=now)
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
    requests      Counter of requests by kind (see server.KINDS), including refused and failed ones.
    refused       requests refused for credentials: wrong token, write without a token, private
                  repo read without the token.
    unknown       "METHOD /path" of every request the server does not speak; should stay empty.
    injected      Counter of the failures injected with LocalHub.fail_next, by kind.
    log           (method, path, status) of every request, in order: what to read when a test fails.
    scheduled_jobs  id -> the scheduled Job as the Jobs routes answer it (jobs.py); none ever runs.
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
    scheduled_jobs: dict[str, dict] = field(default_factory=dict)
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


# -- changing repos: shared by the routes and LocalHub's seeding helpers ---------------------------
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
    date = now()
    digest = hashlib.sha1(f"{parent_oid}\n{date}\n{title}\n{uuid.uuid4()}".encode())
    for path in sorted(tree):
        digest.update(f"{path}\0{tree[path].oid}\n".encode())
    commit = Commit(digest.hexdigest(), parent_oid, date, title, message, tree, list(added), list(deleted))
    repo.commits[commit.oid] = commit
    repo.branches[branch] = commit.oid
    return commit


def directories_in(tree: dict[str, Entry]) -> set[str]:
    """Every folder that holds a file (git has no empty folders)."""
    return {"/".join(path.split("/")[:depth]) for path in tree for depth in range(1, path.count("/") + 1)}


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
