"""The one way to talk to the Hub: huggingface_hub's client at the Hub the settings name."""

from __future__ import annotations

from huggingface_hub import HfApi

from digit.config import hub_endpoint, hub_token


def hub_api(token: str | None = None) -> HfApi:
    """A client for HF_ENDPOINT (read now, so tests can point it at the local Hub), with this
    token or, by default, HF_TOKEN."""
    return HfApi(endpoint=hub_endpoint(), token=token if token is not None else hub_token())
