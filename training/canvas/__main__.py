"""`python -m training.canvas`: the shipped jury on the canvas-style set, by digit and style."""

from training.canvas.report import main

main()
