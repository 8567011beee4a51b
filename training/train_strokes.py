"""Train the stroke juror and choose how it joins the vote: `python -m training.train_strokes`.

1. Fit a calibrated RBF SVC on the stroke features of the training generator's digits (training
   writers only, with the other habits: training/stroke_digits.py) and of the feedback's pad
   samples that kept their strokes, when the dataset has them.
2. On the canvas set's VALIDATION part, read with its strokes beside the jury it will serve with
   (the one in the model folder): the weight (WEIGHT_GRID) and the temperature by log loss, the unsure
   threshold by the cost the jury's own unsure rule is chosen by (digit/calibration.py: MISS_COST per
   wrong answer given as sure, 1 per right answer doubted); where pixels and strokes name different
   digits the reading is always unsure (the page asks "7 or 1?"). The report part and MNIST test are
   never read here.
3. Ship it (models/strokes.skops and its card) only if that cost is below the jury's alone on the
   same drawings; otherwise say so and write nothing.

    python -m training.train_strokes [--count 20000] [--feedback DIR] [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sklearn.metrics import log_loss

from digit.calibration import (MISS_COST, UNSURE_GRID, calibrated, expected_calibration_error,
                               fit_temperature)
from digit.config import feedback_dir, model_dir
from digit.feedback.votes import VOTES, Sender, Standing, read_votes, tallies, to_check
from digit.model.store import STROKES_FILE, load_model, save_stroke_juror
from digit.reading.sample import UNKNOWN_VISITOR
from digit.stroke_features import BadStrokes, features_of, stroke_features
from digit.stroke_juror import StrokeJuror
from training.stroke_digits import TRAINING_SEED, stroke_drawings

WEIGHT_GRID = np.round(np.arange(0.1, 0.95, 0.1), 2)
COUNT = 20_000  # training drawings: ~1,500 support vectors, ~0.6 MB in the file


@dataclass(frozen=True)
class PadFigures:
    """A set of pad readings, as the issue measures them."""

    count: int
    accuracy: float
    wrong: int
    wrong_sure: int  # wrong and not said to be unsure
    doubted_right: int
    ece: float
    long_flag_ones: float  # the share of long-flag 1s read as 1 (nan without any)

    @property
    def cost(self) -> float:
        return MISS_COST * self.wrong_sure + self.doubted_right


def pad_figures(labels: np.ndarray, voted: np.ndarray, unsure: np.ndarray, long_flag: np.ndarray) -> PadFigures:
    right = voted.argmax(axis=1) == labels
    return PadFigures(len(labels), round(float(right.mean()), 6), int((~right).sum()), int((~right & ~unsure).sum()),
                      int((right & unsure).sum()), round(expected_calibration_error(labels, voted), 6),
                      round(float(right[long_flag].mean()), 6) if long_flag.any() else float("nan"))


def stroke_probabilities(juror: StrokeJuror, drawings: list) -> np.ndarray:
    """The stroke juror's probabilities for each drawing's strokes, (n, 10)."""
    return juror.predict_proba(features_of(drawings))


def choose_vote(pixel_vote: np.ndarray, strokes: np.ndarray, labels: np.ndarray) -> dict:
    """The weight whose calibrated vote has the least log loss (a proper score: it rewards right
    answers and honest confidence), its temperature, and the unsure threshold of least cost, a
    disagreement of pixels and strokes always doubted (the page offers both digits). Ties: the
    smaller weight; the middle of the thresholds that cost least (farthest from the readings on
    either side)."""
    best = None
    for weight in WEIGHT_GRID:
        mixed = (1 - weight) * pixel_vote + weight * strokes
        temperature = fit_temperature(mixed, labels)
        loss = log_loss(labels, calibrated(mixed, temperature), labels=np.arange(10))
        if best is None or loss < best[0] - 1e-9:
            best = (loss, float(weight), temperature)
    _, weight, temperature = best
    voted = calibrated((1 - weight) * pixel_vote + weight * strokes, temperature)
    confidence, right = voted.max(axis=1), voted.argmax(axis=1) == labels
    disagree = pixel_vote.argmax(axis=1) != strokes.argmax(axis=1)
    costs = np.array([MISS_COST * np.sum(~right & ~((confidence < below) | disagree))
                      + np.sum(right & ((confidence < below) | disagree)) for below in UNSURE_GRID])
    least = np.flatnonzero(costs == costs.min())
    return {"weight": weight, "temperature": temperature, "unsure_below": float(UNSURE_GRID[least[len(least) // 2]]),
            "doubt_disagreement": True}


def feedback_strokes(folder: Path) -> tuple[list, np.ndarray]:
    """The pad samples of a feedback folder that kept their strokes, with their labels (none when
    the dataset has no `strokes` column or no folder), by the retraining's trust rule: a contested
    correction only once others confirmed it, a rejected one never (digit/feedback/votes.py)."""
    if not folder.is_dir() or not any(folder.rglob("*.parquet")):
        return [], np.zeros(0, np.int64)
    from datasets import load_dataset

    data = load_dataset(str(folder), split="train")
    if "strokes" not in data.column_names:
        return [], np.zeros(0, np.int64)
    rows = data.remove_columns([name for name in ("image", "digit") if name in data.column_names]).to_list()
    standing = tallies(read_votes(sorted((folder / VOTES).glob("*.jsonl"))),
                       {str(row["id"]): Sender(row.get("visitor") or UNKNOWN_VISITOR, row.get("network"))
                        for row in rows})
    drawings, labels = [], []
    for row in rows:
        strokes, label = row["strokes"], row["label"]
        strokes = json.loads(strokes) if isinstance(strokes, str) and strokes else strokes
        if label is None or not 0 <= int(label) <= 9 or not strokes:
            continue
        said = standing[str(row["id"])].standing if str(row["id"]) in standing else Standing.UNCONFIRMED
        if said is Standing.REJECTED or (to_check(row) and said is not Standing.CONFIRMED):
            continue
        try:
            stroke_features(strokes)
        except BadStrokes:
            continue
        drawings.append(strokes)
        labels.append(int(label))
    return drawings, np.asarray(labels, np.int64)


def train(count: int = COUNT, feedback: Path | None = None, folder: Path | None = None,
          validation_most: int | None = None, force: bool = False) -> dict | None:
    """Train, choose on validation, and save beside the jury in folder when validation says so (or
    force). Returns the card written, or None."""
    from training.canvas.report import canvas_pixels, canvas_tags
    from training.canvas.strokes import canvas_strokes

    folder = folder or model_dir()
    start = time.perf_counter()
    drawn = stroke_drawings(count, seed=TRAINING_SEED, variants=True, pictures=False)
    extra, extra_labels = feedback_strokes(feedback) if feedback else ([], np.zeros(0, np.int64))
    features = features_of(drawn.strokes + extra)
    labels = np.concatenate([drawn.labels, extra_labels])
    print(f"{len(drawn.labels)} generated drawings and {len(extra)} pad samples with strokes "
          f"({time.perf_counter() - start:.0f} s)", flush=True)
    juror = StrokeJuror().fit(features, labels).for_serving()
    print(f"fitted ({time.perf_counter() - start:.0f} s)", flush=True)

    loaded = load_model(folder)
    jury = loaded.classifier.jury
    pixels, truth = canvas_pixels("validation", validation_most)
    long_flag = np.array(["long_flag" in tags for tags in canvas_tags("validation", validation_most)])
    strokes = stroke_probabilities(juror, canvas_strokes("validation", validation_most))
    by_juror = jury.juror_probabilities(pixels)
    alone_vote = jury.vote(by_juror)
    alone = pad_figures(truth, alone_vote, jury.unsure(alone_vote), long_flag)
    pixel_vote = jury.raw_vote(by_juror)
    juror.set_params(**choose_vote(pixel_vote, strokes, truth))
    voted = juror.vote(pixel_vote, strokes)
    joined = pad_figures(truth, voted, juror.unsure(voted, pixel_vote, strokes), long_flag)
    strokes_only = round(float(np.mean(strokes.argmax(axis=1) == truth)), 6)
    print(f"canvas validation ({len(truth)} drawings): jury alone {asdict(alone)}\n"
          f"  with the stroke juror {juror.get_params()}: {asdict(joined)}\n"
          f"  the stroke juror alone: accuracy {strokes_only:.2%}", flush=True)
    if joined.cost >= alone.cost and not force:
        print(f"validation says no: cost {joined.cost:g} with strokes, {alone.cost:g} without; nothing written")
        return None
    now = datetime.now(timezone.utc)
    card = {
        "version": now.strftime("%Y%m%d-%H%M%S"),
        "date": now.isoformat(timespec="seconds"),
        "jury_version": loaded.classifier.version,
        "data": {"stroke_drawings": len(drawn.labels), "feedback_strokes": len(extra),
                 "canvas_validation": len(truth)},
        "vote": {key: value for key, value in juror.get_params().items() if key != "svc_c"},
        "metrics": {"canvas_validation_jury_alone": asdict(alone), "canvas_validation_with_strokes": asdict(joined),
                    "canvas_validation_stroke_juror_accuracy": strokes_only},
    }
    card = save_stroke_juror(juror, folder, card)
    print(f"wrote {folder / STROKES_FILE} ({card['files'][STROKES_FILE] / 1e6:.2f} MB) "
          f"in {time.perf_counter() - start:.0f} s")
    return card


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m training.train_strokes", description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=COUNT, help="generated training drawings")
    parser.add_argument("--feedback", type=Path, default=feedback_dir(), help="a feedback folder with strokes")
    parser.add_argument("--model-dir", type=Path, default=None, help="the jury's folder, where the juror goes")
    parser.add_argument("--validation-most", type=int, default=None, help="read at most this many validation drawings")
    parser.add_argument("--force", action="store_true", help="write it even when validation says no")
    arguments = parser.parse_args()
    train(arguments.count, arguments.feedback, arguments.model_dir, arguments.validation_most, arguments.force)


if __name__ == "__main__":
    main()
