"""Who is asking, without keeping their address: a visitor is a keyed hash of where they come from.

On a Space the app sits behind the Hub's proxy, so the socket's peer is the proxy; the proxy
appends the address it saw to X-Forwarded-For. Only the entries our own proxies appended can be
trusted (a client may send the header with anything in it), so the address is the entry
`proxy_hops` from the right; with no proxy in front (proxy_hops 0) the header is ignored and the
peer is the visitor. The hash is keyed (HMAC) so that an address cannot be found again by hashing
every address; the key lives beside the feedback (or in VISITOR_KEY), so a visitor keeps the
same id across restarts and in the shared dataset.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_FILE = ".visitor-key"  # in the feedback folder; never pushed (not under data/)


def visitor_address(forwarded_for: str | None, peer: str | None, proxy_hops: int) -> str:
    """The visitor's address: the peer's, or the one our proxy_hops proxies say they saw."""
    if proxy_hops > 0 and forwarded_for:
        hops = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if hops:
            return hops[-min(proxy_hops, len(hops))]
    return peer or "unknown"


class VisitorIds:
    """Turns an address into "anon:" and 16 hex digits, the same for the same address and key."""

    def __init__(self, key: bytes):
        self._key = key

    @classmethod
    def from_folder(cls, folder: Path, secret: str | None = None) -> "VisitorIds":
        """The key from `secret` (VISITOR_KEY) if given, else from folder's key file, made once."""
        if secret:
            return cls(secret.encode())
        path = folder / KEY_FILE
        try:
            return cls(bytes.fromhex(path.read_text().strip()))
        except (OSError, ValueError):
            pass
        folder.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        staged = path.with_suffix(".new")
        staged.write_text(key.hex())
        os.replace(staged, path)
        return cls(key)

    def of(self, address: str) -> str:
        return "anon:" + hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()[:16]
