"""Who a visitor is (a keyed hash of the address our proxy saw) and how many requests they may make."""

from __future__ import annotations

import pytest

from digit.rate_window import MINUTE, RateWindow
from digit.feedback.card import dataset_card
from digit.visitors import UNKNOWN_VISITOR, VisitorIds, checked_network, checked_visitor, logged_in, visitor_address


def test_without_a_proxy_the_forwarded_header_is_the_clients_word_and_ignored():
    assert visitor_address("198.51.100.9", "203.0.113.7", proxy_hops=0) == "203.0.113.7"


def test_behind_one_proxy_the_address_it_appended_counts_not_what_the_client_sent():
    assert visitor_address("198.51.100.9, 203.0.113.7", "10.0.0.2", proxy_hops=1) == "203.0.113.7"
    assert visitor_address("203.0.113.7, 10.1.1.1", "10.0.0.2", proxy_hops=2) == "203.0.113.7"
    assert visitor_address(None, "10.0.0.2", proxy_hops=1) == "10.0.0.2"


def test_a_visitor_id_is_the_same_for_the_same_address_and_key_and_never_the_address(tmp_path):
    ids = VisitorIds.from_folder(tmp_path)
    again = VisitorIds.from_folder(tmp_path)  # the key made once is read back after a restart
    assert ids.of("203.0.113.7") == again.of("203.0.113.7") != ids.of("203.0.113.8")
    assert ids.of("203.0.113.7").startswith("anon:") and len(ids.of("203.0.113.7")) == 21
    assert VisitorIds(b"another key").of("203.0.113.7") != ids.of("203.0.113.7")


def test_every_id_the_app_makes_is_one_the_feedback_store_accepts_and_the_card_describes():
    ids = VisitorIds(b"key")
    for address in ("203.0.113.7", "2001:db8:1:2::1"):
        assert checked_visitor(ids.of(address)) == ids.of(address)
        assert checked_network(ids.network(address)) == ids.network(address)
    assert checked_visitor(logged_in("some-user_1")) == "hf:some-user_1"
    assert checked_visitor(None) == UNKNOWN_VISITOR == checked_visitor("unknown")
    for mistaken in ("203.0.113.7", "anon:123", "hf:", ids.network("203.0.113.7")):
        with pytest.raises(ValueError, match="visitor must be"):
            checked_visitor(mistaken)
    card = dataset_card("team/feedback")
    assert "`anon:` and 16 hex digits" in card and "`hf:` and the Hub username" in card and "`unknown`" in card
    assert "`net:` and 16 hex digits" in card


def test_an_ipv6_visitor_is_their_64_and_a_network_is_a_24_or_a_48_never_the_address():
    ids = VisitorIds(b"key")
    assert ids.of("2001:db8:1:2:aaaa::1") == ids.of("2001:db8:1:2:ffff:1:2:3") != ids.of("2001:db8:1:3::1")
    assert ids.of("::ffff:203.0.113.7") == ids.of("203.0.113.7")  # IPv4 mapped into IPv6 is the IPv4 visitor
    assert ids.network("203.0.113.7") == ids.network("203.0.113.250") != ids.network("203.0.114.7")
    assert ids.network("2001:db8:1:2::1") == ids.network("2001:db8:1:ffff::9") != ids.network("2001:db8:2::1")
    assert ids.network("203.0.113.7") != ids.of("203.0.113.7")[5:]  # not the visitor's hash with another prefix
    network = ids.network("2001:db8:1::1")
    assert network.startswith("net:") and len(network) == 20 and "2001" not in network
    assert VisitorIds(b"another key").network("203.0.113.7") != ids.network("203.0.113.7")


def test_a_rate_limit_counts_per_key_over_a_sliding_minute():
    now = [0.0]
    limit = RateWindow(3, MINUTE, clock=lambda: now[0])
    assert [limit.admit("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit.admit("a") == 60.0 and limit.admit("b") == 0.0
    now[0] = 30.0
    assert limit.admit("a") == 30.0
    now[0] = 60.5
    assert limit.admit("a") == 0.0


def test_a_rate_window_counts_events_added_out_of_order_by_their_moment():
    now = [1000.0]
    limit = RateWindow(2, 100.0, clock=lambda: now[0])
    limit.add("a", 950.0)
    limit.add("a", 850.0)  # older than the window: not counted
    assert limit.wait("a") == 0.0
    limit.add("a", 920.0)
    assert limit.wait("a") == 20.0  # the one at 920 leaves the window at 1020
    now[0] = 1020.5
    assert limit.wait("a") == 0.0 and limit.admit("a") == 0.0 and limit.admit("a") == 29.5


def test_a_limit_of_zero_is_no_limit():
    limit = RateWindow(0, MINUTE)
    assert all(limit.admit("a") == 0.0 for _ in range(1000))
