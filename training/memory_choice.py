"""How near a visitor's own example must be to take part in their reading, and how much it weighs
(digit/live/memory.py), chosen on the canvas set's validation writers, never its report part
and never MNIST test.

The writers' simulation: each writer draws their eighteen drawings (the set's first pass), the
jury reads them, and the writer corrects what it read wrong: those corrections are the writer's
memory. Then the writer draws eighteen fresh ones in the same habits (the second pass: other
random draws of the same writer) and the jury reads them with the memory. For each setting of
`near` and `weight`: the second pass's errors among writers who had errors in the first, and the
right readings the memory made wrong (of every second-pass reading of a writer with a memory). The
harm is also measured with every first-pass reading taught (corrected, or marked right): 1,800
readings under a memory instead of a few hundred.

Chosen: the most first-pass errors removed with at most HARM_LIMIT of right readings made wrong
(half of the 0.2 % target: room for writers the choice did not see); among equals the lowest
weight and `near` (the memory intrudes least). The choice and its figures go to MEMORY_FILE.

    python -m training.memory_choice                 # choose on validation writers, write the file
    python -m training.memory_choice --part report   # measure the written choice on report writers
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import asdict, dataclass

import numpy as np

from digit.reading.classifier import Classifier
from digit.jurors import KNN_NAME
from digit.reading.images import NoDigit
from digit.model.store import load_model
from digit.reading.preprocess import normalize
from digit.live.memory import CHOICE, MEMORY_FILE, MemoryChoice, Taught, blended, nearest_taught
from training.canvas.drawings import VALIDATION_WRITERS, WRITERS, Drawing, draw, hands
from training.canvas.writers import SEED, make_writer

NEAR = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25)
WEIGHT = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9)
HARM_LIMIT = 0.001  # right readings made wrong, share of the readings of writers with a memory


@dataclass(frozen=True)
class Pass:
    """One pass of drawings, as the jury reads them."""

    pixels: np.ndarray  # (n, 784) uint8
    labels: np.ndarray
    writers: np.ndarray


@dataclass(frozen=True)
class Outcome:
    """A setting's figures on the second pass."""

    near: float
    weight: float
    first_errors: int  # first-pass errors of the writers who had any
    second_errors_without: int  # their second-pass errors, no memory
    second_errors: int  # with the memory
    made_wrong: int  # right readings without the memory, wrong with it
    readings: int  # second-pass readings of writers with a memory

    @property
    def harm(self) -> float:
        return self.made_wrong / max(self.readings, 1)


def writer_pass(writer_indices: list[int], second: bool) -> Pass:
    """Each writer's eighteen drawings: the set's own (first pass) or fresh ones (second)."""
    drawings: list[Drawing] = []
    for index in writer_indices:
        writer = make_writer(index, SEED)
        rng = np.random.default_rng([SEED, index, 11 if second else 1])
        drawings += [draw(digit, writer, rng) for digit in range(10)]
        drawings += hands(writer, np.random.default_rng([SEED, index, 13 if second else 3]))
    read, pixels = [], []
    for drawing in drawings:  # a fresh drawing the app would refuse (no clear digit) is not read
        try:
            pixels.append(normalize(drawing.image()).pixels.reshape(-1))
            read.append(drawing)
        except NoDigit:
            continue
    return Pass(np.stack(pixels), np.array([d.label for d in read]), np.array([d.writer for d in read]))


def writers_of(part: str, count: int | None) -> list[int]:
    indices = list(range(VALIDATION_WRITERS)) if part == "validation" else list(range(VALIDATION_WRITERS, WRITERS))
    return indices[:count] if count else indices


def simulate(classifier: Classifier, first: Pass, second: Pass, settings: list[MemoryChoice],
             confirmed: bool = False) -> list[Outcome]:
    """Every setting's outcome: memories from the first pass's errors (corrected; confirmed: and the
    right readings, marked right), read into the second."""
    wrong_first = classifier.predict_proba(first.pixels).argmax(axis=1) != first.labels
    voted = classifier.predict_proba(second.pixels)
    plain = voted.argmax(axis=1)
    knn = classifier.jury.jurors_[KNN_NAME]
    teaching = np.ones_like(wrong_first) if confirmed else wrong_first
    taught_writers = np.unique(first.writers[teaching])
    rows = np.flatnonzero(np.isin(second.writers, taught_writers))
    recalled = {}
    for writer in taught_writers:
        mine = teaching & (first.writers == writer)
        taught = Taught(first.pixels[mine].reshape(-1, 28, 28), first.labels[mine])
        theirs = rows[second.writers[rows] == writer]
        features = classifier.jury.features(second.pixels[theirs])
        recalled.update(zip(theirs, nearest_taught(knn, features, taught)))
    outcomes = []
    for setting in settings:
        read = plain.copy()
        for row, found in recalled.items():
            if found.nearness <= setting.near:
                read[row] = int(np.argmax(blended(voted[row], found.label, setting.weight)))
        outcomes.append(Outcome(setting.near, setting.weight, int(wrong_first[np.isin(first.writers, taught_writers)].sum()),
                                int((plain[rows] != second.labels[rows]).sum()),
                                int((read[rows] != second.labels[rows]).sum()),
                                int(((plain[rows] == second.labels[rows]) & (read[rows] != second.labels[rows])).sum()),
                                len(rows)))
    return outcomes


def choose(outcomes: list[Outcome], confirmed: list[Outcome]) -> Outcome:
    """The fewest second-pass errors with harm within HARM_LIMIT, with corrections only and with
    every reading corrected or marked right; then the lowest weight and near."""
    allowed = [outcome for outcome, every in zip(outcomes, confirmed) if max(outcome.harm, every.harm) <= HARM_LIMIT]
    return min(allowed, key=lambda outcome: (outcome.second_errors, outcome.weight, outcome.near))


def main() -> None:
    parser = argparse.ArgumentParser(description="Choose the visitor memory's nearness and weight on the canvas "
                                                 "set's validation writers (or measure the choice on report writers).")
    parser.add_argument("--part", choices=("validation", "report"), default="validation")
    parser.add_argument("--writers", type=int, default=None, help="only the first N writers of the part")
    arguments = parser.parse_args()
    classifier = load_model().classifier
    indices = writers_of(arguments.part, arguments.writers)
    first, second = writer_pass(indices, second=False), writer_pass(indices, second=True)
    if arguments.part == "report":  # measured, never chosen
        for confirmed in (False, True):
            outcome = simulate(classifier, first, second, [CHOICE], confirmed)[0]
            print(json.dumps({"part": "report", "memory": "corrections and confirmations" if confirmed
                              else "corrections", **asdict(outcome), "harm": round(outcome.harm, 5)}))
        return
    settings = [MemoryChoice(near, weight) for near, weight in itertools.product(NEAR, WEIGHT)]
    outcomes = simulate(classifier, first, second, settings)
    every = simulate(classifier, first, second, settings, confirmed=True)
    for outcome, confirmed in zip(outcomes, every):
        print(f"near {outcome.near:4.2f} weight {outcome.weight:.2f}: second-pass errors {outcome.second_errors:3d} "
              f"(without memory {outcome.second_errors_without}, first pass {outcome.first_errors}), "
              f"right made wrong {outcome.made_wrong} of {outcome.readings}; every reading taught: errors "
              f"{confirmed.second_errors} (without {confirmed.second_errors_without}), right made wrong "
              f"{confirmed.made_wrong} of {confirmed.readings}")
    chosen = choose(outcomes, every)
    confirmed = every[outcomes.index(chosen)]
    MEMORY_FILE.write_text(json.dumps({
        "chosen": {"near": chosen.near, "weight": chosen.weight},
        "why": (f"the fewest second-pass errors of the canvas set's validation writers ({len(indices)} writers) "
                f"with at most {HARM_LIMIT:.1%} of right readings made wrong; among equals the lowest weight and "
                f"nearness (python -m training.memory_choice)"),
        "validation": {**asdict(chosen), "harm": round(chosen.harm, 5)},
        "validation_every_reading_taught": {**asdict(confirmed), "harm": round(confirmed.harm, 5)},
        "model_version": classifier.version,
    }, indent=2) + "\n")
    print(json.dumps({"chosen": asdict(chosen), "written": str(MEMORY_FILE)}))


if __name__ == "__main__":
    main()
