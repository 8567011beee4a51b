"""Train the stroke juror and choose how it joins the vote: `python -m training.train_strokes`.

1. Fit a calibrated RBF SVC on the stroke features of the training generator's digits (training
   writers only, with the other habits: training/stroke_digits.py) and of the feedback's pad
   samples that kept their strokes, when the dataset has them.
2. On the canvas set's VALIDATION part and MORE_WRITERS new writers of its generator (writers 200
   on: the validation part alone holds 2 wrong readings with the juror, too few to choose a rule
   by), read with their strokes beside the jury it will serve with (the one in the model folder):
   the weight (WEIGHT_GRID) and the temperature by log loss; then the unsure rule: where pixels
   and strokes name different digits the reading is always unsure (the page asks "7 or 1?"), and
   the two thresholds (the joint vote's, the pixel jury's raw vote's) are those that doubt the
   fewest right answers while leaving at most WRONG_SURE_SHARE of the wrong ones sure (when no
   pair does, the least cost as the jury's own rule counts it, digit/calibration.py). The report
   part and MNIST test are never read here.
3. Ship it (models/strokes.skops and its card) only if, on those drawings, it reads more right and
   gives fewer wrong answers as sure than the jury alone; otherwise say so and write nothing.

    python -m training.train_strokes [--count 20000] [--more-writers 400] [--keep-juror] [--feedback DIR]
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
from digit.model.store import STROKES_CARD_FILE, STROKES_FILE, load_model, load_stroke_juror, save_stroke_juror
from digit.reading.sample import UNKNOWN_VISITOR
from digit.stroke_features import BadStrokes, features_of, stroke_features
from digit.stroke_juror import StrokeJuror
from training.stroke_digits import TRAINING_SEED, stroke_drawings

WEIGHT_GRID = np.round(np.arange(0.1, 0.95, 0.1), 2)
PIXELS_GRID = np.round(np.arange(0.0, 0.96, 0.01), 2)  # the pixel jury's raw vote: doubted below
WRONG_SURE_SHARE = 0.10  # of the wrong readings, at most this share given as sure (the target)
MORE_WRITERS = 400  # new writers of the canvas generator beside the validation part's 100
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


def choose_vote(pixel_vote: np.ndarray, strokes: np.ndarray, labels: np.ndarray,
                wrong_sure_share: float = WRONG_SURE_SHARE) -> dict:
    """The weight whose calibrated vote has the least log loss (a proper score: it rewards right
    answers and honest confidence), its temperature, and the unsure rule: a disagreement of pixels
    and strokes always doubted (the page offers both digits), and the thresholds (joint vote,
    pixel jury's raw vote) that doubt the fewest right answers with at most wrong_sure_share of
    the wrong ones sure; without such a pair, the least MISS_COST cost. Ties: the smaller weight;
    the lowest thresholds."""
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
    pixels = pixel_vote.max(axis=1)
    choices = []
    for below in np.r_[0.0, UNSURE_GRID]:
        for pixels_below in PIXELS_GRID:
            doubted = disagree | (confidence < below) | (pixels < pixels_below)
            wrong_sure, doubted_right = int(np.sum(~right & ~doubted)), int(np.sum(right & doubted))
            choices.append((wrong_sure <= wrong_sure_share * np.sum(~right), MISS_COST * wrong_sure + doubted_right,
                            doubted_right, float(below), float(pixels_below)))
    within = [choice for choice in choices if choice[0]]
    # Within the target: fewest right answers doubted; else the least cost. Lowest thresholds on ties.
    chosen = min(within, key=lambda c: (c[2], c[3], c[4])) if within else min(choices, key=lambda c: (c[1], c[3], c[4]))
    return {"weight": weight, "temperature": temperature, "unsure_below": chosen[3], "doubt_disagreement": True,
            "pixels_unsure_below": chosen[4]}


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
          validation_most: int | None = None, force: bool = False, more: int = MORE_WRITERS,
          keep_juror: bool = False, wrong_sure_share: float = WRONG_SURE_SHARE) -> dict | None:
    """Train, choose on validation (its `validation_most` drawings and `more` new writers'), and save
    beside the jury in folder when validation says so (or force). keep_juror: choose the vote again
    for the stroke juror already in folder, without fitting it. Returns the card written, or None."""
    from training.canvas.report import canvas_pixels, canvas_tags
    from training.canvas.strokes import canvas_strokes, more_writers

    folder = folder or model_dir()
    start = time.perf_counter()
    if keep_juror:
        juror, old = load_stroke_juror(folder), json.loads((folder / STROKES_CARD_FILE).read_text())
        if juror is None:
            raise SystemExit(f"no stroke juror in {folder} to keep")
        data = {key: old["data"][key] for key in ("stroke_drawings", "feedback_strokes")}
    else:
        drawn = stroke_drawings(count, seed=TRAINING_SEED, variants=True, pictures=False)
        extra, extra_labels = feedback_strokes(feedback) if feedback else ([], np.zeros(0, np.int64))
        features = features_of(drawn.strokes + extra)
        labels = np.concatenate([drawn.labels, extra_labels])
        print(f"{len(drawn.labels)} generated drawings and {len(extra)} pad samples with strokes "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
        juror = StrokeJuror().fit(features, labels).for_serving()
        data = {"stroke_drawings": len(drawn.labels), "feedback_strokes": len(extra)}
        print(f"fitted ({time.perf_counter() - start:.0f} s)", flush=True)

    loaded = load_model(folder)
    jury = loaded.classifier.jury
    pixels, truth = canvas_pixels("validation", validation_most)
    tags = canvas_tags("validation", validation_most)
    drawings = canvas_strokes("validation", validation_most)
    newer = more_writers(more)
    pixels, truth = np.concatenate([pixels, newer.pixels]), np.concatenate([truth, newer.labels])
    long_flag = np.array(["long_flag" in each for each in tags + newer.tags], bool)
    strokes = stroke_probabilities(juror, drawings + newer.strokes)
    print(f"validation: {len(drawings)} drawings of the validation part and {len(newer.labels)} of {more} more "
          f"writers ({time.perf_counter() - start:.0f} s)", flush=True)
    by_juror = jury.juror_probabilities(pixels)
    alone_vote = jury.vote(by_juror)
    alone = pad_figures(truth, alone_vote, jury.unsure(alone_vote), long_flag)
    pixel_vote = jury.raw_vote(by_juror)
    juror.set_params(**choose_vote(pixel_vote, strokes, truth, wrong_sure_share))
    voted = juror.vote(pixel_vote, strokes)
    joined = pad_figures(truth, voted, juror.unsure(voted, pixel_vote, strokes), long_flag)
    strokes_only = round(float(np.mean(strokes.argmax(axis=1) == truth)), 6)
    print(f"canvas validation and more writers ({len(truth)} drawings): jury alone {asdict(alone)}\n"
          f"  with the stroke juror {juror.get_params()}: {asdict(joined)}\n"
          f"  the stroke juror alone: accuracy {strokes_only:.2%}", flush=True)
    better = joined.accuracy >= alone.accuracy and joined.wrong_sure < alone.wrong_sure
    if not better and not force:
        print(f"validation says no: {joined.accuracy:.2%} with {joined.wrong_sure} wrong given as sure with strokes, "
              f"{alone.accuracy:.2%} with {alone.wrong_sure} without; nothing written")
        return None
    now = datetime.now(timezone.utc)
    card = {
        "version": now.strftime("%Y%m%d-%H%M%S"),
        "date": now.isoformat(timespec="seconds"),
        "jury_version": loaded.classifier.version,
        "data": {**data, "canvas_validation": len(drawings), "canvas_more_writers": len(newer.labels)},
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
    parser.add_argument("--more-writers", type=int, default=MORE_WRITERS,
                        help="new writers of the canvas generator read beside the validation part")
    parser.add_argument("--keep-juror", action="store_true",
                        help="choose the vote again for the stroke juror in the model folder, without fitting")
    parser.add_argument("--wrong-sure-share", type=float, default=WRONG_SURE_SHARE,
                        help="of the wrong readings on validation, at most this share given as sure")
    parser.add_argument("--force", action="store_true", help="write it even when validation says no")
    arguments = parser.parse_args()
    train(arguments.count, arguments.feedback, arguments.model_dir, arguments.validation_most, arguments.force,
          arguments.more_writers, arguments.keep_juror, arguments.wrong_sure_share)


if __name__ == "__main__":
    main()
