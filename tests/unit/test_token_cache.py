"""Bearer tokens are verified once and remembered; the expiry still holds on every use."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from shared import auth
from shared.auth import InvalidToken, Principal, TokenCodec


def test_a_remembered_token_is_refused_once_it_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a token valid for a minute, verified once
    codec = TokenCodec(leeway_seconds=0)
    token = codec.encode(sub="b1", role="buyer", ttl=timedelta(minutes=1))
    assert codec.decode(token) == Principal("buyer", "b1")
    # when it is used again two minutes later
    later = time.time() + 120
    monkeypatch.setattr(auth.time, "time", lambda: later)
    # then it is refused as expired, although its signature was remembered
    with pytest.raises(InvalidToken, match="expired"):
        codec.decode(token)


def test_a_token_changed_after_one_was_verified_is_still_checked() -> None:
    # given a verified token
    codec = TokenCodec()
    token = codec.encode(sub="s1", role="seller")
    codec.decode(token)
    # when its signature is altered, then it is refused
    head, body, signature = token.split(".")
    forged = ".".join((head, body, signature[::-1]))
    with pytest.raises(InvalidToken, match="not valid"):
        codec.decode(forged)


def test_a_token_of_another_secret_is_not_taken_from_the_memory_of_this_one() -> None:
    # given a token verified by the codec of its own secret
    minted = TokenCodec(secret="one-secret-long-enough-for-hs256-32b!")
    token = minted.encode(sub="x", role="support")
    minted.decode(token)
    # when a codec with another secret sees it, then it verifies it itself and refuses it
    with pytest.raises(InvalidToken):
        TokenCodec(secret="another-secret-long-enough-for-hs256!").decode(token)
