"""How far the jury's confidence can be trusted: `python -m bench.calibration [--out DIR]`.

Expected calibration error (top label, 15 equal-width bins) and a reliability diagram for
MNIST validation and the canvas-style set's report part. MNIST validation is the first
training stage's (from the model card): the shipped k-NN keeps the validation digits as
references, so reading them again would flatter it. The canvas report part is read here,
by the jury as shipped. Writes reliability.png and calibration.json into DIR (artifacts/).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digit.calibration import ECE_BINS, expected_calibration_error, reliability, unsure_rates
from digit.config import PROJECT_DIR
from digit.model.store import load_model
from training.canvas.report import canvas_pixels

PANEL, MARGIN = 420, 60  # pixels: a square plot and the room for its axes


def calibration_report() -> dict:
    """The figures and bins of both sets, for the diagram and the bench table."""
    loaded = load_model()
    jury, metrics = loaded.classifier.jury, loaded.card.metrics
    pixels, labels = canvas_pixels("report")
    voted = jury.predict_proba(pixels)
    return {
        "temperature": jury.temperature, "unsure_below": jury.unsure_below, "bins": ECE_BINS,
        "mnist_validation": {"ece": metrics.get("validation_ece"), "bins": metrics.get("validation_reliability", []),
                             "unsure": metrics.get("validation_unsure"), "source": "model card, first stage"},
        "canvas_report": {"ece": round(expected_calibration_error(labels, voted), 4), "bins": reliability(labels, voted),
                          "unsure": unsure_rates(labels, voted, jury.unsure_below), "source": "read now"},
    }


def _panel(title: str, bins: list[dict], ece: float | None) -> Image.Image:
    image = Image.new("RGB", (PANEL + 2 * MARGIN, PANEL + 2 * MARGIN), "white")
    pen = ImageDraw.Draw(image)
    font, small = ImageFont.load_default(16), ImageFont.load_default(12)

    def at(x: float, y: float) -> tuple[float, float]:
        return MARGIN + x * PANEL, MARGIN + (1 - y) * PANEL

    total = sum(b["count"] for b in bins) or 1
    for b in bins:  # a bar per bin: its accuracy; the red part is the gap to its confidence
        left, right = at(b["low"], 0)[0] + 1, at(b["high"], 0)[0] - 1
        pen.rectangle([left, at(0, b["accuracy"])[1], right, at(0, 0)[1]], fill=(70, 110, 200))
        low, high = sorted((b["accuracy"], b["confidence"]))
        pen.rectangle([left, at(0, high)[1], right, at(0, low)[1]], fill=(230, 90, 80))
        pen.text((left, at(0, 0)[1] + 2), f"{b['count'] / total:.0%}" if b["count"] / total >= 0.01 else "",
                 fill="grey", font=small)
    pen.line([at(0, 0), at(1, 1)], fill="black", width=2)  # perfect calibration
    pen.rectangle([*at(0, 1), *at(1, 0)], outline="black")
    for tick in np.linspace(0, 1, 6):
        pen.text((at(tick, 0)[0] - 8, at(0, 0)[1] + 18), f"{tick:.1f}", fill="black", font=small)
        pen.text((MARGIN - 30, at(0, tick)[1] - 6), f"{tick:.1f}", fill="black", font=small)
    pen.text((MARGIN, 12), title, fill="black", font=font)
    pen.text((MARGIN, 32), f"ECE {ece:.2%} ({ECE_BINS} bins), {total:,} digits" if bins and ece is not None
             else "no figures (a jury trained before calibration)",
             fill="black", font=small)
    pen.text((MARGIN + PANEL / 2 - 60, PANEL + MARGIN + 36), "confidence (calibrated)", fill="black", font=small)
    pen.text((MARGIN + 8, MARGIN + 8), "bar top: the accuracy of a bin\nred: its gap to the bin's confidence\n"
             "grey: share of the digits", fill="dimgrey", font=small)
    pen.text((6, MARGIN + PANEL / 2), "accuracy", fill="black", font=small)
    return image


def reliability_diagram(report: dict, path: Path) -> None:
    """Two panels side by side (blue: accuracy per bin, red: its gap to the bin's confidence)."""
    panels = [_panel("MNIST validation (first stage)", report["mnist_validation"]["bins"],
                     report["mnist_validation"]["ece"]),
              _panel("canvas-style report part", report["canvas_report"]["bins"], report["canvas_report"]["ece"])]
    joined = Image.new("RGB", (sum(p.width for p in panels), panels[0].height), "white")
    for index, panel in enumerate(panels):
        joined.paste(panel, (index * panel.width, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    joined.save(path, optimize=True)


def write_calibration(out: Path) -> dict:
    """calibration_report, with the diagram (reliability.png) and the bins (calibration.json) in out."""
    report = calibration_report()
    reliability_diagram(report, out / "reliability.png")
    (out / "calibration.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def rows(report: dict) -> list[tuple[str, str, str]]:
    """The bench table's rows: calibration error and what "unsure" catches and doubts."""
    mnist, canvas = report["mnist_validation"], report["canvas_report"]
    unsure = "catches {caught_wrong} of {wrong} wrong answers ({caught_wrong_share:.0%}), doubts {doubted_right} right " \
             "ones ({doubted_right_share:.1%})"
    return [
        (f"expected calibration error ({ECE_BINS} bins), MNIST validation (first stage) / canvas report part",
         f"{mnist['ece']:.2%} / {canvas['ece']:.2%} (temperature {report['temperature']})", "<= 2 %"),
        (f"\"unsure\" below {report['unsure_below']:.0%} calibrated confidence (chosen on validation), canvas report part",
         unsure.format(**canvas["unsure"]), ""),
        ("  the same, MNIST validation (first stage)", unsure.format(**mnist["unsure"]) if mnist["unsure"] else "?", ""),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Calibration error and reliability diagram of the shipped jury.")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "artifacts")
    arguments = parser.parse_args()
    report = write_calibration(arguments.out)
    print(json.dumps({key: value for key, value in report.items() if key not in ("mnist_validation", "canvas_report")}
                     | {name: {"ece": report[name]["ece"], "unsure": report[name]["unsure"]}
                        for name in ("mnist_validation", "canvas_report")}))


if __name__ == "__main__":
    main()
