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

This module owns the ids' format: what makes them (`VisitorIds`, `logged_in`), what checks them
(`checked_visitor`, `checked_network`: the feedback store refuses anything else) and the words
that describe them (the dataset card).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from pathlib import Path
from typing import Any

from digit.atomic import write_text

KEY_FILE = ".visitor-key"  # in the feedback folder; never pushed (not under data/)
ANONYMOUS = "anon:"  # a visitor's id: "anon:" and HASH_DIGITS hex digits of a keyed hash of their address
LOGGED_IN = "hf:"  # the id of a visitor logged in with their Hub account: "hf:<username>"
NETWORK = "net:"  # a network's id: "net:" and HASH_DIGITS hex digits of a keyed hash of its prefix
UNKNOWN_VISITOR = "unknown"  # a caller that does not say who sent a sample; every sample from before the column
UNKNOWN_NETWORK = "unknown"  # a vote or a sample from before networks were recorded
HASH_DIGITS = 16
_VISITOR = re.compile(rf"^({ANONYMOUS}[0-9a-f]{{{HASH_DIGITS}}}|{LOGGED_IN}[A-Za-z0-9][A-Za-z0-9._-]{{0,95}}"
                      rf"|{UNKNOWN_VISITOR})$")
_NETWORK = re.compile(rf"^{NETWORK}[0-9a-f]{{{HASH_DIGITS}}}$")
# The ids in words, for a refusal and for the dataset card.
VISITOR_WORDS = f'"{ANONYMOUS}" and {HASH_DIGITS} hex digits, "{LOGGED_IN}" and a Hub username, or "{UNKNOWN_VISITOR}"'
NETWORK_WORDS = f'"{NETWORK}" and {HASH_DIGITS} hex digits'
VISITOR_PREFIX = {4: 32, 6: 64}  # IP version -> the prefix that is one visitor
NETWORK_PREFIX = {4: 24, 6: 48}  # IP version -> the prefix that is one network


def is_logged_in(visitor: str) -> bool:
    return visitor.startswith(LOGGED_IN)


def logged_in(username: str) -> str:
    """The id of a visitor logged in with this Hub account."""
    return LOGGED_IN + username


def checked_visitor(visitor: Any) -> str:
    """A visitor id (None: UNKNOWN_VISITOR). Anything else is the caller's mistake (perhaps an
    address) and is refused (ValueError) without repeating it."""
    if visitor is None:
        return UNKNOWN_VISITOR
    if not isinstance(visitor, str) or not _VISITOR.match(visitor):
        raise ValueError(f"visitor must be {VISITOR_WORDS}")
    return visitor


def checked_network(network: Any) -> str | None:
    """A network id, or None (not known); anything else (perhaps an address) is refused (ValueError)."""
    if network is None:
        return None
    if not isinstance(network, str) or not _NETWORK.match(network):
        raise ValueError(f"network must be {NETWORK_WORDS}, or None")
    return network


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
    """Turns an address into a visitor id ("anon:" and 16 hex digits), the same for the same address and key."""

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
        return ANONYMOUS + self._hash(visitor)

    def network(self, address: str) -> str:
        """The network of this address: "net:" and 16 hex digits (IPv4: its /24; IPv6: its /48)."""
        return NETWORK + self._hash("network " + prefix_of(address, NETWORK_PREFIX))

    def _hash(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:HASH_DIGITS]
