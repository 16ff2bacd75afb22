"""Collection-point tokens: signed, bound to one point and version, deep-link safe."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from store.models import CollectionPoint
from store.network import points, tokens
from tests.conftest import SECRET

DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def test_it_reads_back_the_point_and_version_it_signed() -> None:
    token = tokens.make(SECRET, 42, 3)

    assert tokens.parse(SECRET, token) == tokens.PointToken(42, 3)
    assert DEEP_LINK.match(token)


@pytest.mark.parametrize(("point_id", "version"), [(1, 1), (999_999_999_999, 999_999),
                                                   (123_456_789, 17)])
def test_it_fits_telegrams_deep_link_limit_even_for_large_ids(point_id: int, version: int) -> None:
    token = tokens.make(SECRET, point_id, version)

    assert DEEP_LINK.match(token), token
    assert len(token) <= tokens.MAX_LEN
    assert tokens.parse(SECRET, token) == tokens.PointToken(point_id, version)


def test_it_rejects_a_forged_signature() -> None:
    token = tokens.make(SECRET, 7, 1)
    head, sig = token.rsplit("_", 1)
    forged = f"{head}_{('A' if sig[0] != 'A' else 'B')}{sig[1:]}"

    assert tokens.parse(SECRET, forged) is None


def test_it_rejects_another_points_signature_on_this_point() -> None:
    sig = tokens.make(SECRET, 8, 1).rsplit("_", 1)[1]

    assert tokens.parse(SECRET, f"p7_1_{sig}") is None
    assert tokens.parse(SECRET, f"p8_2_{sig}") is None


def test_it_rejects_a_token_signed_with_another_key() -> None:
    assert tokens.parse("another-secret-key-0123456789", tokens.make(SECRET, 7, 1)) is None


@pytest.mark.parametrize("token", [
    None, "", "p7", "p7_1", "p7_1_", "x7_1_AAAAAAAAAAAAAAAAAAAAAA", "p0_1_AAAAAAAAAAAAAAAAAAAAAA",
    "p07_1_AAAAAAAAAAAAAAAAAAAAAA", "p7_0_AAAAAAAAAAAAAAAAAAAAAA", "p7_1_AAAA",
    "p7_1_AAAAAAAAAAAAAAAAAAAAA=", " p7_1_AAAAAAAAAAAAAAAAAAAAAA", "p7_1_AAAAAAAAAAAAAAAAAAAAAA\n",
    "p-7_1_AAAAAAAAAAAAAAAAAAAAAA", "p7_1_AAAAAAAAAAAAAAAAAAAAAA_x", "p７_1_AAAAAAAAAAAAAAAAAAAAAA",
    "'; drop table reports; --",
])
def test_it_rejects_malformed_tokens(token: str | None) -> None:
    assert tokens.parse(SECRET, token) is None


def test_it_rejects_a_good_token_with_anything_around_it() -> None:
    token = tokens.make(SECRET, 7, 1)

    for wrapped in (token + "\n", " " + token, token + " ", token + "\x00"):
        assert tokens.parse(SECRET, wrapped) is None, repr(wrapped)


def test_it_rejects_anything_over_64_characters_before_looking_closer() -> None:
    token = tokens.make(SECRET, 7, 1)

    assert tokens.parse(SECRET, token + "A" * (65 - len(token))) is None
    assert tokens.parse(SECRET, "p" + "1" * 100) is None


def test_it_resolves_a_good_token_to_its_point(session: Session, point: CollectionPoint,
                                               point_token: str) -> None:
    resolved = points.resolve(session, SECRET, point_token)

    assert resolved.ok and resolved.point is not None and resolved.point.id == point.id


def test_it_says_why_a_token_does_not_resolve(session: Session, point: CollectionPoint,
                                              point_token: str) -> None:
    assert points.resolve(session, SECRET, "p1_1_garbage").reason == "forged"
    assert points.resolve(session, SECRET, tokens.make(SECRET, 999, 1)).reason == "unknown"

    point.token_version += 1  # the point's codes were reprinted
    session.flush()
    retired = points.resolve(session, SECRET, point_token)
    assert (retired.ok, retired.point, retired.reason) == (False, None, "retired")
    assert points.resolve(session, SECRET, points.token_for(point, SECRET)).ok

    point.active = False
    session.flush()
    inactive = points.resolve(session, SECRET, points.token_for(point, SECRET))
    assert (inactive.ok, inactive.point, inactive.reason) == (False, None, "inactive")


def test_it_builds_the_links_a_qr_code_carries(point_token: str) -> None:
    assert points.telegram_link("minyi_bot", point_token) == (
        f"https://t.me/minyi_bot?start={point_token}")
    assert points.telegram_link(None, point_token) is None
    assert points.web_link("https://minyi.example.test/", point_token) == (
        f"https://minyi.example.test/c/{point_token}")
