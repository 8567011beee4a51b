"""Settings read from the environment, in one place. Read when asked, not at import, so a
test or a launcher can set them first."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Size limits: what a request may bring before it is refused, and what is kept of a picture.
MAX_FILE_BYTES = 20 * 1024 * 1024  # an upload larger than this is refused before decoding
MAX_BODY_BYTES = MAX_FILE_BYTES * 4 // 3 + 2**20  # a reading's request: such a file as base64, and room for the rest
HEAD_LIMIT = 32 * 1024  # a request's head: browsers send a few KB (cookies included); h11 refuses past 16 KB
MAX_PIXELS = 40_000_000  # ~6300x6300: refused from the header, whatever the format
MAX_DECODED_BYTES = 64 * 2**20  # what decoding one picture may allocate, estimated from its header
MAX_SIDE = 1024  # a decoded picture's long side: the jury reads a 256 px copy, the feedback store keeps STORED_SIDE
STORED_SIDE = 512  # the feedback dataset keeps the input as sent, capped to this long side


def _text(name: str) -> str | None:
    return os.environ.get(name) or None


def model_dir() -> Path:
    """Where the jury and its card live (MODEL_DIR, default: the shipped models/)."""
    return Path(_text("MODEL_DIR") or PROJECT_DIR / "models")


def feedback_dir() -> Path:
    """The local feedback dataset folder (FEEDBACK_DIR, default: data/feedback)."""
    return Path(_text("FEEDBACK_DIR") or "data/feedback")


def feedback_repo() -> str | None:
    """The Hub dataset repo the feedback is pushed to (FEEDBACK_REPO), if any."""
    return _text("FEEDBACK_REPO")


def hub_token() -> str | None:
    """The Hub token (HF_TOKEN): never logged, never shown."""
    return _text("HF_TOKEN")


def hub_endpoint() -> str | None:
    """The Hub's address (HF_ENDPOINT; unset: huggingface.co). Read now, not when
    huggingface_hub was imported."""
    return _text("HF_ENDPOINT")


def concurrency() -> int:
    """Requests the app computes at once (DIGIT_CONCURRENCY, default 2: see README, Serving)."""
    return int(_text("DIGIT_CONCURRENCY") or 2)


def push_minutes() -> float:
    """Minutes between two pushes of the feedback to the Hub (FEEDBACK_PUSH_MINUTES, default 5:
    the Hub asks for a commit every 5 minutes at most)."""
    return float(_text("FEEDBACK_PUSH_MINUTES") or 5)


def flags_per_day() -> int:
    """Samples one visitor may add to the feedback dataset in 24 hours (FLAGS_PER_DAY, default
    200; 0: no cap). A person correcting the jury sends a few; a script sends thousands."""
    return int(_text("FLAGS_PER_DAY") or 200)


def model_repo() -> str | None:
    """A Hub model repo whose newest promoted jury the app serves and follows (MODEL_REPO)."""
    return _text("MODEL_REPO")


def model_poll_minutes() -> float:
    """Minutes between two looks for a newer jury in MODEL_REPO (MODEL_POLL_MINUTES, default 10)."""
    return float(_text("MODEL_POLL_MINUTES") or 10)


def model_cache_dir() -> Path:
    """Where juries fetched from MODEL_REPO are kept (MODEL_CACHE, default data/models)."""
    return Path(_text("MODEL_CACHE") or "data/models")


def classify_per_minute() -> int:
    """Readings one visitor may ask for in a minute, page and API together (CLASSIFY_PER_MINUTE,
    default 600: a person drawing live makes about one a second; 0: no limit)."""
    return int(_text("CLASSIFY_PER_MINUTE") or 600)


def flags_per_minute() -> int:
    """Flags one visitor may send in a minute (FLAGS_PER_MINUTE, default 30; 0: no limit)."""
    return int(_text("FLAGS_PER_MINUTE") or 30)


def logged_in_flags_per_minute() -> int:
    """Flags (and votes) a visitor logged in with Hugging Face may send in a minute
    (LOGGED_IN_FLAGS_PER_MINUTE, default 120; 0: no limit): a name answers for them, an address does not."""
    return int(_text("LOGGED_IN_FLAGS_PER_MINUTE") or 120)


def hub_login() -> bool:
    """Whether the page offers "Sign in with Hugging Face": on a Space with `hf_oauth: true`, which
    sets OAUTH_CLIENT_ID. Elsewhere Gradio's stand-in login needs the Hub's whoami, so none is offered."""
    return bool(_text("OAUTH_CLIENT_ID") and _text("SPACE_ID"))


def proxy_hops() -> int:
    """How many proxies in front of the app append to X-Forwarded-For (PROXY_HOPS; default 1 on
    a Space, which sets SPACE_ID, else 0: with no proxy in front, the header is the client's word)."""
    return int(_text("PROXY_HOPS") or (1 if _text("SPACE_ID") else 0))


def reading_wait_seconds() -> float:
    """How long a reading off the queue waits for its turn before "busy" (READING_WAIT_SECONDS, default 2)."""
    return float(_text("READING_WAIT_SECONDS") or 2)


def reading_body_seconds() -> float:
    """How long a reading's body off the queue may take to arrive, past which it must keep up
    64 KB/s (READING_BODY_SECONDS, default 10): a slower one is refused (408) before it takes a turn."""
    return float(_text("READING_BODY_SECONDS") or 10)


def visitor_key() -> str | None:
    """The key of the visitors' hashes (VISITOR_KEY, a secret); unset: a key kept in FEEDBACK_DIR."""
    return _text("VISITOR_KEY")


def upload_cache_seconds() -> int:
    """How long Gradio keeps an upload or an output file in its cache (UPLOAD_CACHE_SECONDS, default
    900: time to correct a reading); a sweep every third of that removes older ones."""
    return max(int(_text("UPLOAD_CACHE_SECONDS") or 900), 2)
