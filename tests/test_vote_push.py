"""Votes travel with the dataset: pushed to the Hub (the local stub, the real client) when they
grew, fetched back by a wiped disk, and read by the retraining from the repo."""

from __future__ import annotations


from testing.renderings import draw_strokes
from digit.feedback import FeedbackStore, Standing, sample_of
from digit.feedback.votes import VOTES, Sender, read_votes, tallies
from helpers import HUB_TOKEN
from training.retrain import vote_files

TOKEN = HUB_TOKEN
REPO = "team/feedback"
FLAGGER, OTHER, THIRD = "anon:" + "1" * 16, "anon:" + "2" * 16, "anon:" + "5" * 16
NET_B, NET_C = "net:" + "b" * 16, "net:" + "c" * 16


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
    store.vote(confirmed, OTHER, agree=True, network=NET_B)
    store.vote(confirmed, THIRD, agree=True, network=NET_C)  # two networks: confirmed
    store.vote(rejected, OTHER, agree=False, network=NET_B)
    assert store.sync.sync_once() and vote_commits(hub) == 1
    assert store.sync.sync_once() and vote_commits(hub) == 1  # nothing new: nothing sent again
    pushed = hub.files(REPO)[f"{VOTES}/{store.votes_file.path.name}"]
    assert len(pushed.decode().splitlines()) == 3

    wiped = shared(tmp_path / "wiped")  # a Space without persistent storage, restarted
    assert wiped.sync.sync_once()
    assert {sample: tally.standing for sample, tally in wiped.tallies().items()} == {
        confirmed: Standing.CONFIRMED, rejected: Standing.REJECTED}

    # The retraining reads the repo's votes files at the commit it reads the samples at.
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    head = hub.state.repositories[("dataset", REPO)].branches["main"]
    from_hub = read_votes(vote_files(REPO, head, tmp_path / "scratch"))
    flaggers = {record["id"]: Sender(record["visitor"], record["network"]) for record in store.records()}
    assert {sample: tally.standing for sample, tally in tallies(from_hub, flaggers).items()} == {
        confirmed: Standing.CONFIRMED, rejected: Standing.REJECTED}


def requests_of(hub, *kinds: str) -> dict[str, int]:
    return {kind: hub.state.requests[kind] for kind in kinds}


def test_with_new_samples_at_every_push_the_votes_file_goes_only_when_it_grew_and_the_others_votes_come_at_once(
        hub, tmp_path):
    first = shared(tmp_path / "first")
    first.save(sample_of(draw_strokes(1, canvas=(200, 200)), 7, predicted=1, confidence=0.95, model_version="test",
                         source="sketch", visitor=FLAGGER))
    (contested,) = (record["id"] for record in first.records())
    assert first.sync.sync_once()
    other = shared(tmp_path / "other")  # another disk on the same repo: it votes, and pushes its votes
    assert other.sync.sync_once()
    other.vote(contested, OTHER, agree=True, network=NET_B)
    assert other.sync.sync_once() and vote_commits(hub) == 1

    sent, counted = [], []
    voters = [("anon:" + "3" * 16, "net:" + "3" * 16), None, ("anon:" + "4" * 16, "net:" + "4" * 16), None]
    for cycle, voter in enumerate(voters):
        first.save(sample_of(draw_strokes(cycle % 10, canvas=(200, 200)), cycle % 10, source="sketch",
                             visitor=f"anon:{cycle + 16:016x}"))  # a new sample at every push
        if voter:
            first.vote(contested, voter[0], agree=True, network=voter[1])
        commits_before, before = vote_commits(hub), requests_of(hub, "preupload", "commit")
        assert first.sync.sync_once(), first.sync.error
        after = requests_of(hub, "preupload", "commit")
        sent.append(vote_commits(hub) - commits_before)
        # Every commit the push prepares is made: none prepared (preupload) for a file the Hub holds already.
        assert after["preupload"] - before["preupload"] == after["commit"] - before["commit"], (cycle, before, after)
        counted.append(first.tallies()[contested].agree)
    assert sent == [1, 0, 1, 0]  # this disk's votes file: sent when it grew, only then
    assert counted == [2, 2, 3, 3]  # the other disk's vote counted from the first push on
