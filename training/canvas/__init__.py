"""The canvas-style EVALUATION set: digits as people draw them on the app's drawing pad.

Nothing here comes from MNIST. Each digit has several allographs (the shapes people use:
flat or hooked tops, boxy strokes, open and closed loops, feet and flags on 1s, crossed
7s, ...), drawn by simulated writers who each keep their own habits: slant, proportions,
brush size, speed of the mouse (how far apart its events land: jerky straight segments),
hand wobble, overshoot or gaps where a loop closes. The pen path is sampled like mouse
events and rendered the way Gradio 6.31's Sketchpad rendered a stroke.

- shapes.py     pen-path pieces, the allographs of each digit, the hands of issue 21
- writers.py    the writers' habits, and how a writer puts a shape on the canvas
- rendering.py  mouse events, and the stroke drawn on the 400x400 canvas as the Sketchpad did
- drawings.py   the set: every writer's ten digits and eight hands, two parts
- report.py     the parts as the jury reads them (kept on disk), and the jury's figures
- styles.py     drawings of one style by writers outside the set (the feedback loop's tests)

This package is for measuring only. The training generator (`training/stroke_digits.py`)
is separate code with its own shape definitions and seeds.

    python -m training.canvas            # the shipped jury on the set, by digit and style
"""
