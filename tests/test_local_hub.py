"""The local Hub answers the real clients (huggingface_hub, datasets) as the Hub does.

Every test drives the real client against testing/hub/ and ends by checking that the
server understood every request it got (`state.unknown` empty): that is what shows the stub
covers what our app, retraining script and deploy command do.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from huggingface_hub import (CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download,
                             snapshot_download)
from huggingface_hub.errors import (EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError,
                                    RevisionNotFoundError)
from PIL import Image as PILImage

from helpers import PROJECT
from testing.hub import LocalHub
from testing.local_app import free_port

TOKEN = "hf_local_hub_test_token"
MB = 1024 * 1024


@pytest.fixture
def hub():
    hub = LocalHub(free_port(), TOKEN).start()
    yield hub
    hub.stop()
    assert hub.state.unknown == [], hub.state.unknown  # the stub understood everything the clients asked


@pytest.fixture
def api(hub):
    return HfApi(endpoint=hub.endpoint, token=TOKEN)


def download(hub, repo_id, filename, tmp_path, **kwargs):
    return hf_hub_download(repo_id, filename, endpoint=hub.endpoint, cache_dir=tmp_path / "cache",
                           token=kwargs.pop("token", TOKEN), **kwargs)


def skops_bytes(size: int) -> bytes:
    """Like a .skops file: a zip archive, binary from its first bytes (the Hub sends it to LFS)."""
    return b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + os.urandom(size - 10)


def write(folder, files: dict[str, bytes]):
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return folder


# -- repos --------------------------------------------------------------------------------------
def test_create_repo_twice_with_exist_ok_returns_the_url_each_time_even_after_a_restart(hub, api):
    first = api.create_repo("team/feedback", repo_type="dataset", exist_ok=True)
    second = api.create_repo("team/feedback", repo_type="dataset", exist_ok=True)
    assert first == second == f"{hub.endpoint}/datasets/team/feedback"
    assert second.repo_id == "team/feedback" and second.repo_type == "dataset"
    with pytest.raises(HfHubHTTPError) as conflict:
        api.create_repo("team/feedback", repo_type="dataset")
    assert conflict.value.response.status_code == 409

    hub.stop()
    hub.start()  # the Hub went down and came back: the repo is still there
    assert api.create_repo("team/feedback", repo_type="dataset", exist_ok=True).repo_id == "team/feedback"
    model = api.create_repo("team/digit-model", exist_ok=True)
    space = api.create_repo("team/digit-space", repo_type="space", space_sdk="gradio", exist_ok=True)
    assert model == f"{hub.endpoint}/team/digit-model" and space == f"{hub.endpoint}/spaces/team/digit-space"
    [(name, gitattributes)] = hub.files("team/feedback").items()  # the Hub's first commit
    assert name == ".gitattributes" and b"*.png filter=lfs" in gitattributes
    assert [commit.title for commit in hub.history("team/digit-model", "model")] == ["initial commit"]
    assert hub.state.requests["create"] == 6


def test_a_wrong_or_missing_token_is_refused_and_counted(hub):
    with pytest.raises(HfHubHTTPError) as wrong:
        HfApi(endpoint=hub.endpoint, token="hf_wrong").create_repo("team/feedback", repo_type="dataset")
    assert wrong.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError):
        HfApi(endpoint=hub.endpoint, token=False).create_repo("team/feedback", repo_type="dataset")
    assert hub.state.refused == 2 and hub.state.repositories == {}


# -- uploads --------------------------------------------------------------------------------------
def test_upload_folder_sends_small_files_inline_and_large_or_binary_ones_through_lfs_once(hub, api, tmp_path):
    api.create_repo("team/digit-model", exist_ok=True)
    hub.state.lfs_size_threshold = 2 * MB  # the Hub's is 10 MB; lowered to keep the test small
    files = {"README.md": b"---\nlibrary_name: sklearn\nlicense: mit\n---\n# Digits\n",
             "config.json": b'{"version": 3}',
             "model.skops": skops_bytes(1500 * 1024),  # binary: LFS whatever its name
             "weights/big.bin": os.urandom(5 * MB),  # over 4 MiB: the multipart transfer
             "notes/large.txt": b"x" * (2 * MB + 1)}  # text, but over the size limit for git
    write(tmp_path / "model", files)
    info = api.upload_folder(folder_path=tmp_path / "model", repo_id="team/digit-model")

    assert info.oid == hub.head("team/digit-model", "model")
    assert hub.files("team/digit-model", "model") | {".gitattributes": b""} == files | {".gitattributes": b""}
    [commit] = hub.state.commits
    assert sorted(commit["paths"]) == sorted(files)
    assert sorted(commit["lfs"]) == ["model.skops", "notes/large.txt", "weights/big.bin"]
    transfers = {upload["size"]: (upload["transfer"], upload["parts"]) for upload in hub.state.uploads}
    assert transfers == {1500 * 1024: ("basic", 1), 5 * MB: ("multipart", 3), 2 * MB + 1: ("basic", 1)}
    assert hub.state.requests["lfs-upload"] == 1 + (3 + 1) + 1  # PUTs, parts and the completion

    # The same folder again: the Hub tells the client what it already has, nothing is sent twice.
    api.upload_folder(folder_path=tmp_path / "model", repo_id="team/digit-model")
    assert len(hub.state.commits) == 1 and len(hub.state.uploads) == 3
    assert hub.state.requests["lfs-upload"] == 6


def test_create_commit_adds_and_deletes_files_and_folders(hub, api):
    api.create_repo("team/feedback", repo_type="dataset")
    api.create_commit("team/feedback", repo_type="dataset", commit_message="first samples", operations=[
        CommitOperationAdd("data/a/1.png", _png(1)), CommitOperationAdd("data/a/metadata.jsonl", b'{"label": 1}\n'),
        CommitOperationAdd("data/b/2.png", _png(2)), CommitOperationAdd("notes.txt", b"keep")])
    info = api.create_commit("team/feedback", repo_type="dataset", commit_message="tidy", operations=[
        CommitOperationDelete("data/a/"), CommitOperationDelete("notes.txt"),
        CommitOperationAdd("data/b/metadata.jsonl", b'{"label": 2}\n')])

    assert sorted(hub.files("team/feedback")) == [".gitattributes", "data/b/2.png", "data/b/metadata.jsonl"]
    first, second = hub.state.commits
    assert first["lfs"] == ["data/a/1.png", "data/b/2.png"]  # dataset repos keep images in LFS
    assert sorted(second["deleted"]) == ["data/a/1.png", "data/a/metadata.jsonl", "notes.txt"]
    assert second["paths"] == ["data/b/metadata.jsonl"] and second["oid"] == info.oid
    assert info.commit_url == f"{hub.endpoint}/datasets/team/feedback/commit/{info.oid}"
    with pytest.raises(EntryNotFoundError):
        api.delete_file("notes.txt", "team/feedback", repo_type="dataset")


def test_a_stale_parent_commit_is_refused_so_concurrent_writers_see_the_conflict(hub, api):
    api.create_repo("team/digit-model")
    seen = api.model_info("team/digit-model").sha
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="VERSION", repo_id="team/digit-model", parent_commit=seen)
    with pytest.raises(HfHubHTTPError, match="A commit has happened since") as conflict:
        api.upload_file(path_or_fileobj=b"v3", path_in_repo="VERSION", repo_id="team/digit-model",
                        parent_commit=seen)
    assert conflict.value.response.status_code == 412
    assert hub.files("team/digit-model", "model")["VERSION"] == b"v2" and len(hub.state.commits) == 1


def test_an_injected_503_is_retried_by_the_client_and_the_upload_succeeds(hub, api):
    api.create_repo("team/feedback", repo_type="dataset")
    hub.fail_next("preupload", status=503)
    api.upload_file(path_or_fileobj=b"hello", path_in_repo="a.txt", repo_id="team/feedback", repo_type="dataset")
    assert hub.state.injected["preupload"] == 1 and hub.state.requests["preupload"] == 2
    assert hub.files("team/feedback")["a.txt"] == b"hello"

    hub.fail_next("commit", status=500)  # the commit call is not retried: the caller sees the 500
    with pytest.raises(HfHubHTTPError) as failure:
        api.upload_file(path_or_fileobj=b"v2", path_in_repo="a.txt", repo_id="team/feedback", repo_type="dataset")
    assert failure.value.response.status_code == 500 and hub.files("team/feedback")["a.txt"] == b"hello"


def test_xet_uploads_are_not_spoken_and_show_in_unknown(hub, api, monkeypatch):
    """With hf_xet installed and Xet enabled, huggingface_hub sends LFS content to Xet storage,
    which this stub does not emulate: the client fails and the request is flagged, never faked."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    api.create_repo("team/digit-model")
    with pytest.raises(Exception, match="xet-write-token"):  # raised by hf_xet itself
        api.upload_file(path_or_fileobj=skops_bytes(2048), path_in_repo="model.skops", repo_id="team/digit-model")
    assert [request.split("?")[0] for request in hub.state.unknown] == [
        "GET /api/models/team/digit-model/xet-write-token/main"]
    hub.state.unknown.clear()


# -- reading ---------------------------------------------------------------------------------------
@pytest.fixture
def two_commits(hub, api):
    """A dataset repo with a first commit (a.txt, data/1.bin) and a second (deletes a.txt, adds b.txt)."""
    api.create_repo("team/feedback", repo_type="dataset")
    first = api.create_commit("team/feedback", repo_type="dataset", commit_message="first", operations=[
        CommitOperationAdd("a.txt", b"alpha"), CommitOperationAdd("data/1.bin", os.urandom(2048))]).oid
    second = api.create_commit("team/feedback", repo_type="dataset", commit_message="second", operations=[
        CommitOperationDelete("a.txt"), CommitOperationAdd("b.txt", b"beta")]).oid
    return first, second


def test_files_and_trees_are_listed_at_main_and_at_an_old_sha(hub, api, two_commits):
    first, second = two_commits
    assert api.list_repo_files("team/feedback", repo_type="dataset") == [".gitattributes", "b.txt", "data/1.bin"]
    assert api.list_repo_files("team/feedback", repo_type="dataset", revision=first) == [
        ".gitattributes", "a.txt", "data/1.bin"]
    top = list(api.list_repo_tree("team/feedback", repo_type="dataset", revision=first, expand=True))
    assert [(type(item).__name__, item.path) for item in top] == [
        ("RepoFile", ".gitattributes"), ("RepoFile", "a.txt"), ("RepoFolder", "data")]
    assert top[1].size == 5 and top[1].lfs is None and top[1].last_commit.title == "first"
    [blob] = api.list_repo_tree("team/feedback", "data", repo_type="dataset")
    assert blob.lfs.size == 2048 and blob.lfs.sha256 == hub.repo("team/feedback").resolve(second).tree[
        "data/1.bin"].sha256
    paths = api.get_paths_info("team/feedback", ["b.txt", "data", "missing"], repo_type="dataset")
    assert [item.path for item in paths] == ["b.txt", "data"]
    hub.state.tree_page_size = 2  # a long listing comes in pages, linked by the Link header
    before = hub.state.requests["tree"]
    everything = list(api.list_repo_tree("team/feedback", repo_type="dataset", recursive=True))
    assert [item.path for item in everything] == [".gitattributes", "b.txt", "data", "data/1.bin"]
    assert hub.state.requests["tree"] - before == 2
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree("team/feedback", "nowhere", repo_type="dataset"))


def test_commits_and_refs_are_listed(hub, api, two_commits):
    first, second = two_commits
    commits = api.list_repo_commits("team/feedback", repo_type="dataset")
    assert [(c.commit_id, c.title) for c in commits][:2] == [(second, "second"), (first, "first")]
    assert commits[-1].title == "initial commit" and len(commits) == 3
    hub.state.commits_page_size = 1
    assert len(api.list_repo_commits("team/feedback", repo_type="dataset", revision=first)) == 2
    refs = api.list_repo_refs("team/feedback", repo_type="dataset")
    assert [(ref.name, ref.target_commit) for ref in refs.branches] == [("main", second)]


def test_hf_hub_download_and_snapshot_download_at_a_pinned_sha(hub, api, two_commits, tmp_path):
    first, second = two_commits
    assert open(download(hub, "team/feedback", "a.txt", tmp_path, repo_type="dataset", revision=first)).read() \
        == "alpha"
    lfs_file = download(hub, "team/feedback", "data/1.bin", tmp_path, repo_type="dataset", revision=second)
    assert open(lfs_file, "rb").read() == hub.files("team/feedback")["data/1.bin"]
    assert hub.state.requests["cdn"] == 1  # LFS content comes from the "CDN", after a redirect

    folder = snapshot_download("team/feedback", repo_type="dataset", revision=first, endpoint=hub.endpoint,
                               cache_dir=tmp_path / "cache", token=TOKEN)
    assert sorted(os.listdir(folder)) == [".gitattributes", "a.txt", "data"] and first in folder
    local = snapshot_download("team/feedback", repo_type="dataset", endpoint=hub.endpoint, token=TOKEN,
                              local_dir=tmp_path / "main")
    assert sorted(os.listdir(local)) == [".cache", ".gitattributes", "b.txt", "data"]

    with pytest.raises(EntryNotFoundError):
        download(hub, "team/feedback", "a.txt", tmp_path, repo_type="dataset")  # deleted at main
    with pytest.raises(RevisionNotFoundError):
        download(hub, "team/feedback", "b.txt", tmp_path, repo_type="dataset", revision="no-such-branch")
    with pytest.raises(RepositoryNotFoundError):
        download(hub, "team/nothing", "b.txt", tmp_path, repo_type="dataset")


def test_repo_info_for_models_datasets_and_spaces(hub, api, tmp_path):
    api.create_repo("team/digit-model")
    api.upload_file(path_or_fileobj=b"---\nlibrary_name: sklearn\ntags: [digits]\n---\n# Model\n",
                    path_in_repo="README.md", repo_id="team/digit-model")
    api.upload_file(path_or_fileobj=skops_bytes(4096), path_in_repo="model.skops", repo_id="team/digit-model")
    model = api.model_info("team/digit-model", files_metadata=True)
    assert model.sha == hub.head("team/digit-model", "model") and model.library_name == "sklearn"
    assert model.card_data.library_name == "sklearn" and model.tags == ["digits"]
    siblings = {sibling.rfilename: sibling for sibling in model.siblings}
    assert sorted(siblings) == [".gitattributes", "README.md", "model.skops"]
    assert siblings["model.skops"].lfs.size == 4096 and siblings["README.md"].lfs is None
    old = api.model_info("team/digit-model", revision=hub.history("team/digit-model", "model")[1].oid)
    assert [sibling.rfilename for sibling in old.siblings] == [".gitattributes", "README.md"]

    api.create_repo("team/digit-space", repo_type="space", space_sdk="gradio")
    write(tmp_path / "app", {"app.py": b"import gradio\n", "requirements.txt": b"gradio==6.31.0\n",
                             "README.md": b"---\ntitle: Digits\nsdk: gradio\napp_file: app.py\n---\n"})
    api.upload_folder(folder_path=tmp_path / "app", repo_id="team/digit-space", repo_type="space")
    space = api.space_info("team/digit-space")
    assert space.sdk == "gradio" and space.card_data.title == "Digits" and space.sha == hub.head(
        "team/digit-space", "space")
    assert sorted(sibling.rfilename for sibling in space.siblings) == [
        ".gitattributes", "README.md", "app.py", "requirements.txt"]

    api.create_repo("team/feedback", repo_type="dataset", private=True)
    dataset = api.repo_info("team/feedback", repo_type="dataset", expand=["sha", "private"])
    assert dataset.private is True and dataset.sha == hub.head("team/feedback") and dataset.siblings is None


def test_a_private_repo_is_hidden_without_the_token(hub, api, tmp_path):
    api.create_repo("team/feedback", repo_type="dataset", private=True)
    api.upload_file(path_or_fileobj=b"secret", path_in_repo="a.txt", repo_id="team/feedback", repo_type="dataset")
    anonymous = HfApi(endpoint=hub.endpoint, token=False)
    with pytest.raises(RepositoryNotFoundError):
        anonymous.dataset_info("team/feedback")
    with pytest.raises(RepositoryNotFoundError):
        download(hub, "team/feedback", "a.txt", tmp_path, repo_type="dataset", token=False)
    assert hub.state.refused == 2
    assert open(download(hub, "team/feedback", "a.txt", tmp_path, repo_type="dataset")).read() == "secret"


# -- datasets.load_dataset ---------------------------------------------------------------------------
CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/*.parquet
dataset_info:
  features:
  - name: image
    dtype: image
  - name: label
    dtype:
      class_label:
        names:
%s
---
# Digit feedback
""" % "\n".join(f"          '{digit}': '{digit}'" for digit in range(10))

LOAD = textwrap.dedent("""
    import json, sys
    from datasets import ClassLabel, load_dataset
    out = {}
    for name, repo_id, revision in json.loads(sys.argv[1]):
        data = load_dataset(repo_id, split="train", revision=revision)
        label = data.features["label"]
        out[name] = {"labels": sorted(data["label"]), "size": list(data[0]["image"].size),
                     "names": label.names if isinstance(label, ClassLabel) else None}
    from training.retrain import load_feedback  # what `python -m training.retrain --revision` reads
    pinned = load_feedback("team/app-feedback", sys.argv[2])
    out["pinned"] = {"labels": sorted(pinned.labels.tolist()), "revision": pinned.origin["feedback_revision"]}
    print(json.dumps(out))
""")


def _png(digit: int) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(np.full((28, 28), digit * 25, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _shard(labels: list[int], path) -> None:
    from datasets import ClassLabel, Dataset, Image

    data = Dataset.from_dict({"image": [{"bytes": _png(label), "path": None} for label in labels], "label": labels})
    data = data.cast_column("image", Image()).cast_column("label", ClassLabel(names=[str(d) for d in range(10)]))
    data.to_parquet(str(path))


def test_load_dataset_and_the_retraining_read_the_repos_at_main_and_at_an_older_revision(hub, api, tmp_path):
    """Parquet shards with a dataset card (at main and at the first commit), and the folder the
    app's FeedbackStore writes (its Parquet shards under data/, no card, a private repo), uploaded
    as it lies on disk. HubSync's own pushes: tests/test_feedback_push.py."""
    folder = tmp_path / "feedback"
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text(CARD)
    _shard([1, 2, 3], folder / "data" / "train-00000.parquet")
    api.create_repo("team/feedback", repo_type="dataset", private=True)
    first = api.upload_folder(folder_path=folder, repo_id="team/feedback", repo_type="dataset").oid
    _shard([4, 5], folder / "data" / "train-00001.parquet")
    api.upload_folder(folder_path=folder, repo_id="team/feedback", repo_type="dataset")
    assert [path for commit in hub.state.commits for path in commit["lfs"]] == [
        "data/train-00000.parquet", "data/train-00001.parquet"]  # each shard uploaded once

    from digit.feedback import FeedbackStore, sample_of

    store = FeedbackStore(tmp_path / "app-feedback", repo_id="", token="")  # saves locally only
    store.setup()
    for digit in (2, 7, 7):
        store.save(sample_of(np.pad(np.full((60, 16), 255, np.uint8), 40), digit, source="sketch"))
    api.create_repo("team/app-feedback", repo_type="dataset", private=True)
    app_first = api.upload_folder(folder_path=store.folder, repo_id="team/app-feedback", repo_type="dataset",
                                  ignore_patterns=["*.tmp"]).oid
    store.save(sample_of(np.pad(np.full((60, 16), 255, np.uint8), 40), 1, source="sketch"))
    api.upload_folder(folder_path=store.folder, repo_id="team/app-feedback", repo_type="dataset",
                      ignore_patterns=["*.tmp"])

    # A fresh process with empty caches, as the retraining script runs: nothing read from a cache.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("HF_", "HUGGINGFACE_"))} | hub.env() | {
        "HF_HOME": str(tmp_path / "hf_home"), "HF_DATASETS_CACHE": str(tmp_path / "datasets_cache"),
        "HF_TOKEN": TOKEN, "HF_HUB_DISABLE_TELEMETRY": "1"}
    loads = [("main", "team/feedback", None), ("old", "team/feedback", first), ("app", "team/app-feedback", None)]
    result = subprocess.run([sys.executable, "-c", LOAD, json.dumps(loads), app_first], env=env, cwd=PROJECT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["main"]["labels"] == [1, 2, 3, 4, 5] and loaded["old"]["labels"] == [1, 2, 3]
    assert loaded["main"]["size"] == [28, 28] and loaded["main"]["names"] == [str(d) for d in range(10)]
    assert loaded["app"]["labels"] == [1, 2, 7, 7] and loaded["app"]["size"] == [96, 140]
    assert loaded["pinned"] == {"labels": [2, 7, 7], "revision": app_first}  # the retraining's --revision
    statuses = {(method, path.split("?")[0].rsplit("/", 1)[-1], status) for method, path, status in hub.state.log}
    assert ("HEAD", "dataset_infos.json", 404) in statuses  # what datasets probes and the Hub lacks
    assert hub.state.refused == 0
