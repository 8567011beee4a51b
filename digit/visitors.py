"""Who is asking, without keeping their address: a visitor is a keyed hash of where they come from.

On a Space the app sits behind the Hub's proxy, so the socket's peer is the proxy; the proxy
appends the address it saw to X-Forwarded-For. Only the entries our own proxies appended can be
trusted (a client may send the header with anything in it), so the address is the entry
`proxy_hops` from the right; with no proxy in front (proxy_hops 0) the header is ignored and the
peer is the visitor. The hash is keyed (HMAC) so that an address cannot be found again by hashing
every address; the key lives beside the feedback (or in VISITOR_KEY), so a visitor keeps the
same id across restarts and in the shared dataset.

An IPv6 visitor is their /64, not their address: one home or phone is given a /64 and may use
any of its 2^64 addresses. A visitor's network (`network`) is wider, the IPv4 /24 or the IPv6
/48 (a site), also a keyed hash: votes count once per network (digit/feedback/votes.py), so
that one client with many addresses cannot confirm a correction by itself. A visitor logged in
with their Hub account is "hf:<username>" instead (`is_logged_in`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from pathlib import Path

from digit.atomic import write_text

KEY_FILE = ".visitor-key"  # in the feedback folder; never pushed (not under data/)
LOGGED_IN = "hf:"  # the id of a visitor logged in with their Hub account: "hf:<username>"
VISITOR_PREFIX = {4: 32, 6: 64}  # IP version -> the prefix that is one visitor
NETWORK_PREFIX = {4: 24, 6: 48}  # IP version -> the prefix that is one network


def is_logged_in(visitor: str) -> bool:
    return visitor.startswith(LOGGED_IN)


def prefix_of(address: str, prefixes: dict[int, int]) -> str:
    """The address's network of the prefix length its IP version is given ("2001:db8::/48");
    an IPv4 address mapped into IPv6 as IPv4; what is not an IP address (a test client's name) as it is."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ipaddress.ip_network(f"{ip}/{prefixes[ip.version]}", strict=False))


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
        write_text(path, key.hex())
        return cls(key)

    def of(self, address: str) -> str:
        """The visitor at this address: "anon:" and 16 hex digits (IPv4: the address; IPv6: its /64)."""
        visitor = prefix_of(address, VISITOR_PREFIX).removesuffix("/32")  # an IPv4 id as it always was
        return "anon:" + self._hash(visitor)

    def network(self, address: str) -> str:
        """The network of this address: "net:" and 16 hex digits (IPv4: its /24; IPv6: its /48)."""
        return "net:" + self._hash("network " + prefix_of(address, NETWORK_PREFIX))

    def _hash(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:16]
