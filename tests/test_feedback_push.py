"""The feedback dataset on the Hub (the local Hub stub, the real huggingface_hub client):
each sample pushed once, across restarts and outages, in few files, loadable by repo id."""

from __future__ import annotations

import logging
import resource
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from testing.renderings import draw_strokes
from digit.feedback import FeedbackStore, sample_of
from digit.feedback.merging import FANOUT
from digit.feedback.samples import DATA, rows_in
from helpers import HUB_TOKEN, PROJECT, load_repo_in_fresh_process, stored_samples
from old_feedback import write_old_shard

TOKEN = HUB_TOKEN
REPO = "team/feedback"


@pytest.fixture
def stores():
    """Stores made by a test, closed after it (their push threads stop)."""
    made: list[FeedbackStore] = []
    yield made
    for store in made:
        store.close(2)


@pytest.fixture
def shared_store(stores):
    def make(folder, token: str = TOKEN) -> FeedbackStore:
        """A store that pushes to the local Hub; its thread waits an hour, the tests push by hand."""
        store = FeedbackStore(folder, repo_id=REPO, token=token, every_minutes=60, retry_seconds=0.2)
        store.setup()
        stores.append(store)
        return store

    return make


def flag(store: FeedbackStore, count: int, start: int = 0) -> list[str]:
    return [store.save(sample_of(draw_strokes((start + i) % 10, canvas=(200, 200), width=8), (start + i) % 10))
            for i in range(count)]


def hub_shards(hub) -> dict[str, bytes]:
    return {path: content for path, content in hub.files(REPO).items() if path.startswith(f"{DATA}/")}


def uploaded_shards(hub) -> list[str]:
    """Every shard any commit sent, in order (a shard sent twice appears twice)."""
    return [path for commit in hub.state.commits for path in commit["paths"] if path.startswith(f"{DATA}/")]


def test_samples_reach_the_hub_once_and_load_by_repo_id_with_the_contract_columns(hub, tmp_path, shared_store):
    store = shared_store(tmp_path / "feedback")
    ids = flag(store, 5)
    assert store.sync.sync_once()
    files = hub.files(REPO)
    assert "README.md" in files and "configs:" in files["README.md"].decode()
    assert sum(rows_in(path) for path in hub_shards(hub)) == 5
    commits = len(hub.state.commits)
    assert store.sync.sync_once()  # nothing new: nothing sent
    assert len(hub.state.commits) == commits
    loaded = load_repo_in_fresh_process(hub, REPO, TOKEN, tmp_path)
    assert sorted(loaded["ids"]) == sorted(ids)
    assert {"image", "label", "predicted", "confidence", "model_version", "source", "created_at"} <= set(
        loaded["columns"])
    assert loaded["label_names"] == [str(digit) for digit in range(10)] and loaded["modes"] == ["RGBA"]
    assert not hub.state.unknown and hub.state.refused == 0


def test_a_restart_sends_nothing_twice(hub, tmp_path, shared_store):
    store = shared_store(tmp_path / "feedback")
    flag(store, 3)
    assert store.sync.sync_once()
    store.close(5)
    sent = uploaded_shards(hub)
    again = shared_store(tmp_path / "feedback")  # the app restarted on the same disk
    assert again.sync.sync_once()
    assert uploaded_shards(hub) == sent
    new = flag(again, 2, start=3)
    assert again.sync.sync_once()
    later = uploaded_shards(hub)[len(sent):]
    assert not set(later) & set(sent) and sum(map(rows_in, later)) == 2  # only the two new samples
    loaded = load_repo_in_fresh_process(hub, REPO, TOKEN, tmp_path)
    assert len(loaded["ids"]) == len(set(loaded["ids"])) == 5 and set(new) <= set(loaded["ids"])


def test_an_outage_only_delays_and_the_token_is_never_shown(hub, tmp_path, caplog, shared_store):
    caplog.set_level(logging.DEBUG)
    hub.stop()
    store = shared_store(tmp_path / "feedback")
    flag(store, 4)
    assert not store.sync.sync_once()
    assert store.sync.error and TOKEN not in store.sync.error and TOKEN not in repr(store)
    assert store.count() == 4  # acknowledged and on disk
    hub.start()
    assert store.sync.sync_once()
    assert sum(rows_in(path) for path in hub_shards(hub)) == 4
    assert TOKEN not in caplog.text


def test_a_wrong_token_keeps_samples_on_disk_and_is_never_shown(hub, tmp_path, caplog, shared_store):
    caplog.set_level(logging.DEBUG)
    store = shared_store(tmp_path / "feedback", token="hf_wrong_token_value")
    flag(store, 1)
    assert not store.sync.sync_once()
    assert hub.state.refused >= 1 and store.count() == 1
    assert "hf_wrong_token_value" not in (store.sync.error or "") + caplog.text + repr(store)


def test_small_shards_on_the_hub_are_merged_and_each_sample_stays_once(hub, tmp_path, shared_store):
    store = shared_store(tmp_path / "feedback")
    ids = []
    for push in range(FANOUT + 2):  # one small shard per push, then merges
        ids += flag(store, 1, start=push)
        assert store.sync.sync_once()
    shards = hub_shards(hub)
    assert len(shards) < FANOUT
    assert sum(rows_in(path) for path in shards) == len(ids)
    loaded = load_repo_in_fresh_process(hub, REPO, TOKEN, tmp_path)
    assert sorted(loaded["ids"]) == sorted(ids)
    assert sorted(store.shards()) == sorted(path.split("/")[-1] for path in shards)  # the folder mirrors the Hub


def test_a_merge_whose_commit_failed_is_finished_by_the_next_push(hub, tmp_path, shared_store):
    store = shared_store(tmp_path / "feedback")
    ids = []
    for push in range(FANOUT - 1):
        ids += flag(store, 1, start=push)
        assert store.sync.sync_once()
    ids += flag(store, 1)
    assert store.sync.sync_once(final=True)  # a last push only sends: ten small shards on the Hub now
    hub.fail_next("commit", times=1, status=500)  # the merge's commit fails: merged here, not on the Hub
    assert not store.sync.sync_once()
    assert len(hub_shards(hub)) == FANOUT
    assert store.sync.sync_once()
    assert len(hub_shards(hub)) == 1
    loaded = load_repo_in_fresh_process(hub, REPO, TOKEN, tmp_path)
    assert sorted(loaded["ids"]) == sorted(ids)  # each sample once: the merge's commit deleted what it replaced


def test_a_wiped_disk_gets_the_shared_dataset_back_without_sending_it_again(hub, tmp_path, shared_store):
    first = shared_store(tmp_path / "first")
    ids = flag(first, 6)
    assert first.sync.sync_once()
    sent = uploaded_shards(hub)
    fresh = shared_store(tmp_path / "wiped")  # a Space without persistent storage, restarted
    assert fresh.sync.sync_once()
    assert fresh.count() == 6 and sorted(record["id"] for record in fresh.records()) == sorted(ids)
    assert uploaded_shards(hub) == sent
    assert sorted(row["id"] for row in stored_samples(tmp_path / "wiped")) == sorted(ids)


def test_an_older_dataset_on_the_hub_is_rewritten_with_visitors_and_still_loads_by_repo_id(hub, tmp_path, shared_store):
    from huggingface_hub import HfApi

    old_ids = write_old_shard(tmp_path / "before", [draw_strokes(digit, canvas=(200, 200), width=8) for digit in (1, 2)],
                              [1, 2])
    (old_shard,) = (tmp_path / "before" / DATA).iterdir()
    api = HfApi(endpoint=hub.endpoint, token=TOKEN)
    api.create_repo(REPO, repo_type="dataset", private=True)
    api.upload_file(path_or_fileobj=str(old_shard), path_in_repo=f"{DATA}/{old_shard.name}", repo_id=REPO,
                    repo_type="dataset")
    store = shared_store(tmp_path / "app")
    assert store.sync.sync_once()  # fetched, and rewritten here with the visitor column
    new_ids = [store.save(sample_of(draw_strokes(digit, canvas=(200, 200), width=8), digit, visitor="hf:carol"))
               for digit in (3, 4)]
    assert store.sync.sync_once()  # the rewritten shard replaces the old one on the Hub, in one commit
    assert f"{DATA}/{old_shard.name}" not in hub_shards(hub)
    loaded = load_repo_in_fresh_process(hub, REPO, TOKEN, tmp_path)
    assert "visitor" in loaded["columns"] and sorted(loaded["ids"]) == sorted(old_ids + new_ids)


BACKLOG = textwrap.dedent("""
    import io, resource, sys
    from pathlib import Path
    import numpy as np
    from PIL import Image
    from digit.feedback import FeedbackStore
    from digit.feedback.samples import rows_table, write_shard
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[3]), int(sys.argv[3])))
    data = Path(sys.argv[1]) / "data"
    data.mkdir(parents=True)
    png = io.BytesIO(); Image.fromarray(np.eye(20, dtype=np.uint8) * 255).save(png, format="PNG")
    for index in range(int(sys.argv[5])):  # acknowledged one-sample shards left by flags before a restart
        write_shard(data, rows_table([{"id": f"{index:032x}", "image": {"bytes": png.getvalue(), "path": None},
                    "label": index % 10, "predicted": None, "confidence": None, "model_version": "v",
                    "source": "api", "created_at": "2026-11-27T00:00:00"}]))
    store = FeedbackStore(sys.argv[1], repo_id=sys.argv[2], token=sys.argv[4], every_minutes=60)
    store.setup()  # the start-up push sends the backlog
    print(store.close(120), store.sync.error)
""")


def test_a_backlog_is_pushed_in_bounded_batches_under_a_low_open_file_limit(hub, tmp_path):
    count, limit = 400, 40  # more files than the process may open at once
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] > limit
    result = subprocess.run([sys.executable, "-c", BACKLOG, str(tmp_path / "feedback"), REPO, str(limit), TOKEN,
                             str(count)], cwd=PROJECT, capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ, **hub.env()})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1].startswith("True"), result.stdout
    shards = hub_shards(hub)
    assert sum(rows_in(path) for path in shards) == count
    assert len(shards) == 1  # packed into one shard before it was pushed
    assert not hub.state.unknown


def test_two_stores_on_one_folder_push_each_sample_once(hub, tmp_path, shared_store):
    # README: one process pushes at a time (the folder's lock file). Two pushes at once: the one
    # that gets the lock second finds the Hub already holds everything.
    first, second = shared_store(tmp_path / "feedback"), shared_store(tmp_path / "feedback")
    flag(first, 3)
    flag(second, 3, start=3)
    start = threading.Barrier(2)

    def push(store: FeedbackStore) -> bool:
        start.wait(10)
        return store.sync.sync_once()

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(push, [first, second])) == [True, True]
    sent = uploaded_shards(hub)
    assert len(sent) == len(set(sent)) and sum(rows_in(path) for path in hub_shards(hub)) == 6
    assert not hub.state.unknown and hub.state.refused == 0
