"""Pad readings with their strokes, with and without the stroke juror: `python -m bench.strokes [--most N]`.

The canvas set's REPORT part (never chosen on), each drawing's picture read with the strokes the
pad would send (training/canvas/strokes.py): accuracy, wrong answers given as sure (not "unsure"),
ECE, long-flag 1s read as 1, once by the jury alone (what an upload gets) and once with the stroke
juror shipped beside it (what a pad reading gets). The figures come from the batch calls; a sample
of drawings is also read one by one through `Classifier.predict(picture, strokes=...)`, the pad's
path, which must agree, and times it on one core (the p50 of a pad reading).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from digit.model.store import load_model
from training.canvas.drawings import canvas_set
from training.canvas.report import _spread, canvas_pixels, canvas_tags
from training.canvas.strokes import canvas_strokes, drawing_strokes
from training.train_strokes import pad_figures, stroke_probabilities

PATH_SAMPLE = 100  # drawings read one by one through the pad's path


def pad_strokes_report(most: int | None = None) -> dict:
    loaded = load_model()
    classifier = loaded.classifier
    jury, juror = classifier.jury, classifier.stroke_juror
    pixels, labels = canvas_pixels("report", most)
    long_flag = np.array(["long_flag" in tags for tags in canvas_tags("report", most)])
    by_juror = jury.juror_probabilities(pixels)
    alone = jury.vote(by_juror)
    report = {"count": len(labels), "jury_version": classifier.version,
              "without": asdict(pad_figures(labels, alone, jury.unsure(alone), long_flag))}
    if juror is None:
        report["with"] = None  # no stroke juror shipped beside this jury
        return report
    strokes = stroke_probabilities(juror, canvas_strokes("report", most))
    pixel_vote = jury.raw_vote(by_juror)
    voted = juror.vote(pixel_vote, strokes)
    report["with"] = asdict(pad_figures(labels, voted, juror.unsure(voted, pixel_vote, strokes), long_flag))
    report["vote"] = {key: value for key, value in juror.get_params().items() if key != "svc_c"}
    report["stroke_juror_alone_accuracy"] = round(float(np.mean(strokes.argmax(axis=1) == labels)), 6)
    report |= _through_the_pad_path(classifier, voted, most)
    return report


def _through_the_pad_path(classifier, voted: np.ndarray, most: int | None) -> dict:
    drawings = canvas_set("report")
    chosen = _spread(len(drawings), most)
    picks = np.linspace(0, len(chosen) - 1, min(PATH_SAMPLE, len(chosen))).round().astype(int)
    cv2.setNumThreads(1)
    times, agree = [], 0
    with threadpool_limits(1):
        for pick in picks:
            drawing = drawings[chosen[pick]]
            picture, strokes = drawing.image(), drawing_strokes(drawing)
            start = time.perf_counter()
            reading = classifier.predict(picture, strokes=strokes)
            times.append((time.perf_counter() - start) * 1000)
            agree += reading.digit == int(voted[pick].argmax())
    return {"pad_path_agrees": f"{agree} of {len(picks)}",
            "pad_reading_ms_one_core": {"p50": round(float(np.percentile(times, 50)), 2),
                                        "p99": round(float(np.percentile(times, 99)), 2)}}


def rows(report: dict) -> list[tuple[str, str, str]]:
    """The bench table's rows: the report part read as pad readings, without and with the juror."""
    def said(figures: dict) -> str:
        return (f"{figures['accuracy']:.2%}; wrong given as sure {figures['wrong_sure']} of {figures['wrong']} "
                f"({figures['wrong_sure'] / max(figures['wrong'], 1):.0%}); ECE {figures['ece']:.2%}; "
                f"long-flag 1s read as 1 {figures['long_flag_ones']:.1%}")

    out = [(f"pad readings with strokes (canvas report part, {report['count']}), jury alone", said(report["without"]), "")]
    if report["with"] is None:
        out.append(("  with the stroke juror", "not shipped (no models/strokes.skops)", ""))
    else:
        out.append(("  with the stroke juror (weight {weight}, temperature {temperature}, unsure below {unsure_below})"
                    .format(**report["vote"]), said(report["with"]) + "; pad reading p50 {p50} ms on one core"
                    .format(**report["pad_reading_ms_one_core"]),
                    "wrong as sure <= 10 % of wrong, >= 99 %, ECE <= 2 %, long-flag 1s >= 97 %, p50 <= 10 ms"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.strokes", description=__doc__.split("\n")[0])
    parser.add_argument("--most", type=int, default=None, help="read at most this many drawings of the report part")
    arguments = parser.parse_args()
    report = pad_strokes_report(arguments.most)
    print("\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows(report)))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
