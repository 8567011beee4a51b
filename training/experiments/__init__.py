"""Accuracy experiments, re-runnable: `python -m experiments NAME [NAME ...] [--limit N]`.

The record of what was tried: README quotes their lines. Validation split only (the MNIST test
set is never read here), or folds of the training digits. Each prints one line per variant.
Pieces that take long are cached in artifacts/experiments/ (`common.Study`). Full-size runs
take hours on 2 cores; `--limit 2000` runs each in a minute or two, to check that it works.

Tried and dropped (`dropped`):
    augment         the recipe's SVC on the training digits plus as many distorted copies (elastic, rotated, thicker)
    tta             the recipe's jury averaged over rotated, scaled, shifted, thickened copies of each digit
    idm             the recipe's k-NN's re-ranking with other blurs, contexts, warps, channels, candidates

Issue 14, what more accuracy would take (`knn`, `svc`, `juries`):
    knn-references  the IDM k-NN against the number of stored digits (10k..50k), extrapolated to 60k
    knn-parameters  more candidates to re-rank, k and tau, the space the candidates are found in
    svc-features    the SVC on 15k digits: the old histogram features against gradient directions
    svc-sizes       the gradient-direction SVC on 10k/20k/30k digits, extrapolated to 50k and 60k
    svc-grid        the gradient-direction SVC on 50k digits, 7x7 against 8x8 sampling points
    vsv             virtual support vectors (shifted copies) for the gradient-direction SVC
    combine         juries of the candidate jurors; weights chosen on validation or out of fold
    recipe          the recipe's jury with three k-NN settings: accuracy, file size, load time, latency
    latency         the shipped model and the recipe's juries taking turns on canvas drawings
    final-fit       the recipe on all 60k digits, weights out of fold: cost and cross-validated figure

Issue 21, canvas-style digits (`canvas_knn`):
    knn-canvas      the k-NN keeping stroke digits (training generator) as references too, against its doubt weight

"The recipe's jury" is the first stage of `training.train` (training split + stroke digits),
fitted once and cached: the shipped model has seen the validation split in its final fit.
"""
