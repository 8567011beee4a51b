"""Votes travel with the dataset: pushed to the Hub (the local stub, the real client) when they
grew, fetched back by a wiped disk, and read by the retraining from the repo."""

from __future__ import annotations


from testing.renderings import draw_strokes
from digit.feedback import FeedbackStore, Standing, sample_of
from digit.feedback.votes import VOTES, read_votes, tallies
from helpers import HUB_TOKEN
from training.retrain import vote_files

TOKEN = HUB_TOKEN
REPO = "team/feedback"
FLAGGER, OTHER = "anon:" + "1" * 16, "anon:" + "2" * 16


def shared(folder) -> FeedbackStore:
    store = FeedbackStore(folder, repo_id=REPO, token=TOKEN, every_minutes=60, retry_seconds=0.2)
    store.setup()
    store.sync.stop(10)  # its thread and last push finished (nothing to send yet): the test pushes by hand
    return store


def vote_commits(hub) -> int:
    return sum(any(path.startswith(f"{VOTES}/") for path in commit["paths"]) for commit in hub.state.commits)


def test_votes_reach_the_hub_once_a_wiped_disk_gets_them_back_and_the_retraining_reads_them(hub, tmp_path,
                                                                                          monkeypatch):
    store = shared(tmp_path / "first")
    for digit, label in ((1, 7), (3, 4)):  # two corrections against a confident jury
        store.save(sample_of(draw_strokes(digit, canvas=(200, 200)), label, predicted=digit, confidence=0.95,
                             model_version="test", source="sketch", visitor=FLAGGER))
    confirmed, rejected = (record["id"] for record in store.records())
    store.vote(confirmed, OTHER, agree=True)
    store.vote(rejected, OTHER, agree=False)
    assert store.sync.sync_once() and vote_commits(hub) == 1
    assert store.sync.sync_once() and vote_commits(hub) == 1  # nothing new: nothing sent again
    pushed = hub.files(REPO)[f"{VOTES}/{store.votes_file.path.name}"]
    assert len(pushed.decode().splitlines()) == 2

    wiped = shared(tmp_path / "wiped")  # a Space without persistent storage, restarted
    assert wiped.sync.sync_once()
    assert {sample: tally.standing for sample, tally in wiped.tallies().items()} == {
        confirmed: Standing.CONFIRMED, rejected: Standing.REJECTED}

    # The retraining reads the repo's votes files at the commit it reads the samples at.
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    head = hub.state.repositories[("dataset", REPO)].branches["main"]
    from_hub = read_votes(vote_files(REPO, head, tmp_path / "scratch"))
    flaggers = {record["id"]: record["visitor"] for record in store.records()}
    assert {sample: tally.standing for sample, tally in tallies(from_hub, flaggers).items()} == {
        confirmed: Standing.CONFIRMED, rejected: Standing.REJECTED}
