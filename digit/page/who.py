"""Who is asking, as the page knows them: a request's visitor (a keyed hash of its address, or
"hf:<username>" when logged in), its network, the memory key of their browser, and the per-minute
limits their flags are held to."""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache

import gradio as gr

from digit.config import feedback_dir, flags_per_minute, logged_in_flags_per_minute, proxy_hops, visitor_key
from digit.live.memory import page_key
from digit.rate_window import MINUTE, RateWindow
from digit.visitors import UNKNOWN_VISITOR, VisitorIds, is_logged_in, logged_in, visitor_address


@lru_cache(maxsize=1)
def _visitor_ids() -> VisitorIds:
    return VisitorIds.from_folder(feedback_dir(), visitor_key())


def _address(headers, peer: str | None) -> str:
    """The address a request came from: the peer, or the one PROXY_HOPS trusted proxies say they saw."""
    return visitor_address(headers.get("x-forwarded-for"), peer, proxy_hops())


def _peer(request: gr.Request) -> str | None:
    return request.client.host if request.client else None


def visitor_of(headers, peer: str | None) -> str:
    """Who sent a request, as the samples and the limits know them: a keyed hash of the address."""
    return _visitor_ids().of(_address(headers, peer))


def visitor(request: gr.Request | None, profile: gr.OAuthProfile | None = None) -> str:
    """Who is asking: "hf:<username>" when logged in with Hugging Face, else their address's hash."""
    if profile is not None:
        return logged_in(profile.username)
    if request is None:  # called in process, not through the server
        return UNKNOWN_VISITOR
    return visitor_of(request.headers, _peer(request))


def network(request: gr.Request | None) -> str | None:
    """The network a request came from (a keyed hash of its /24 or /48), from the same address as `visitor`."""
    if request is None:
        return None
    return _visitor_ids().network(_address(request.headers, _peer(request)))


_BROWSERS: OrderedDict[str, str] = OrderedDict()  # the page's session -> the browser id its pad sent
_BROWSERS_HELD = 10_000


def page_memory(request: gr.Request | None, browser: str | None = None,
                profile: gr.OAuthProfile | None = None) -> str | None:
    """The page's memory key: the visitor and their browser (the id the pad keeps, remembered for
    the session, so that its corrections teach the same key); the session itself until the pad
    has said it. None when called in process."""
    if request is None:
        return None
    session = getattr(request, "session_hash", None) or ""
    if browser:
        _BROWSERS[session] = browser
        _BROWSERS.move_to_end(session)
        while len(_BROWSERS) > _BROWSERS_HELD:
            _BROWSERS.popitem(last=False)
    return page_key(visitor(request, profile), _BROWSERS.get(session) or (f"session-{session}" if session else None))


@lru_cache(maxsize=1)
def _flag_limit() -> RateWindow:
    return RateWindow(flags_per_minute(), MINUTE)


@lru_cache(maxsize=None)
def _logged_in_limit(things: str) -> RateWindow:
    return RateWindow(logged_in_flags_per_minute(), MINUTE)


def flag_limit(who: str, anonymous: RateWindow | None = None, things: str = "corrections") -> RateWindow:
    """The per-minute limit a visitor's `things` are held to: a higher one when logged in with
    Hugging Face (LOGGED_IN_FLAGS_PER_MINUTE), else `anonymous` (the flags' FLAGS_PER_MINUTE)."""
    if is_logged_in(who):
        return _logged_in_limit(things)
    return anonymous or _flag_limit()
