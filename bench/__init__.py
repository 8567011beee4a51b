"""The benchmarks: `python -m bench` (`make bench`) writes docs/benchmarks.md (bench/run.py)."""

import os

# Every Hub the bench talks to is the local stub (testing/hub/), which takes uploads through git-LFS,
# not Xet. huggingface_hub reads this once, when it is imported: set before any bench module imports it.
os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
