"""One HMAC signs every link kind; a token made for one link passes for no other."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

from pydantic import SecretStr

from services.campaigns.links import click_url, link_token, link_valid, open_url, unsubscribe_url
from services.campaigns.settings import Settings

SETTINGS = Settings(cdp_internal_token=SecretStr("s3cret"), public_base_url="https://cdp.example")


def test_unsubscribe_tokens_are_those_of_links_already_sent() -> None:
    before = hmac.new(b"s3cret", b"ws:c1", hashlib.sha256).hexdigest()[:32]
    assert link_token(SETTINGS, "unsubscribe", "ws", "c1") == before
    assert unsubscribe_url(SETTINGS, "ws", "c1") == f"https://cdp.example/t/unsubscribe/ws/c1/{before}"
    assert unsubscribe_url(SETTINGS, "ws", "c1", "send-1").endswith(f"/{before}?s=send-1")


def test_a_click_token_signs_the_url() -> None:
    url = click_url(SETTINGS, "ws", "send-1", "https://shop.example/?a=1&b=2")
    parts = urlsplit(url)
    _, _, kind, ws, send, token = parts.path.split("/")
    [target] = parse_qs(parts.query)["u"]
    assert (kind, ws, send, target) == ("click", "ws", "send-1", "https://shop.example/?a=1&b=2")
    assert link_valid(SETTINGS, token, "click", ws, send, target)
    assert not link_valid(SETTINGS, token, "click", ws, send, "https://evil.example/")
    assert not link_valid(SETTINGS, token, "click", ws, "send-2", target)
    assert not link_valid(SETTINGS, token, "click", "other", send, target)


def test_kinds_do_not_pass_for_each_other() -> None:
    token = open_url(SETTINGS, "ws", "send-1").rsplit("/", 1)[1].removesuffix(".gif")
    assert link_valid(SETTINGS, token, "open", "ws", "send-1")
    assert not link_valid(SETTINGS, token, "unsubscribe", "ws", "send-1")
    assert not link_valid(SETTINGS, token, "click", "ws", "send-1")


def test_strange_tokens_are_refused_not_raised() -> None:
    assert not link_valid(SETTINGS, "\udc80" * 32, "open", "ws", "send-1")
    assert not link_valid(SETTINGS, "é" * 32, "open", "ws\udc80", "send-1")
