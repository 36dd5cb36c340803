"""REL TO markings: parsing, validation, intersection and the per-partner filter."""

from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skyweave.share import (
    MarkingError,
    filter_releasable,
    format_marking,
    intersect,
    is_valid_code,
    parse_marking,
    releasable_to,
    split_releasable,
)
from skyweave.share.releasability import GROUPS, ISO_ALPHA3

NATIONS = ["USA", "JPN", "AUS", "GBR", "CAN", "NZL", "KOR", "FRA"]


@pytest.mark.parametrize("text,codes", [
    ("REL TO USA, JPN, AUS", ("AUS", "JPN", "USA")),
    ("REL TO USA,JPN,AUS", ("AUS", "JPN", "USA")),
    ("rel to jpn usa", ("JPN", "USA")),
    ("RELEASABLE TO: GBR", ("GBR",)),
    ("USA, JPN, USA", ("JPN", "USA")),
    (["JPN", "USA"], ("JPN", "USA")),
    (("USA",), ("USA",)),
    ("REL TO USA, FVEY", ("AUS", "CAN", "GBR", "NZL", "USA")),
    ("REL TO", ()),
    ([], ()),
    ("REL TO XAA, JPN", ("JPN", "XAA")),  # ISO user-assigned range, for exercise nations
])
def test_parse_marking(text, codes):
    assert parse_marking(text) == codes


@pytest.mark.parametrize("bad,token", [
    ("REL TO UK", "UK"),
    ("REL TO USA, ABC", "ABC"),
    ("REL TO USA; JPN", "USA;"),
    (["usa"], "usa"),
    (["USA", 7], 7),
])
def test_parse_marking_names_the_bad_token(bad, token):
    with pytest.raises(MarkingError) as e:
        parse_marking(bad)
    assert e.value.got == token
    assert "alpha-3" in str(e.value)


def test_iso_table_and_groups():
    assert len(ISO_ALPHA3) == 249
    assert {"USA", "JPN", "AUS", "GBR", "TWN", "PSE", "SSD", "BES"} <= ISO_ALPHA3
    assert all(is_valid_code(c) for g in GROUPS.values() for c in g)
    assert len(GROUPS["NATO"]) == 32 and "SWE" in GROUPS["NATO"] and "JPN" not in GROUPS["NATO"]
    assert not is_valid_code("ABC") and not is_valid_code("usa") and not is_valid_code("USAA")


def test_format_marking_puts_usa_first_then_alphabetical():
    assert format_marking(["JPN", "AUS", "USA"]) == "REL TO USA, AUS, JPN"
    assert format_marking("REL TO JPN, GBR") == "REL TO GBR, JPN"
    assert format_marking([]) == "REL TO NONE"
    assert parse_marking(format_marking(["USA", "JPN", "AUS"])) == ("AUS", "JPN", "USA")


def test_intersection_of_contributors():
    assert intersect(("AUS", "JPN", "USA"), ("JPN", "USA"), ["USA", "GBR", "JPN"]) == ("JPN", "USA")
    assert intersect(("AUS",), ("JPN",)) == ()
    with pytest.raises(ValueError):
        intersect()


def test_filter_keeps_order_and_only_releasable():
    items = [SimpleNamespace(id=i, releasable_to=m) for i, m in enumerate([("USA", "JPN"), ("USA",), ("JPN", "AUS"), ()])]
    assert [it.id for it in filter_releasable(items, "JPN")] == [0, 2]
    ok, held = split_releasable(items, "USA")
    assert [it.id for it in ok] == [0, 1] and [it.id for it in held] == [2, 3]
    assert releasable_to(("USA", "JPN"), "JPN") and not releasable_to(("USA",), "JPN")


markings = st.lists(st.sampled_from(NATIONS), max_size=len(NATIONS)).map(parse_marking)


@settings(max_examples=300, deadline=None)
@given(st.lists(markings, min_size=1, max_size=6), st.sampled_from(NATIONS))
def test_intersection_properties(ms, partner):
    common = intersect(*ms)
    assert list(common) == sorted(set(common))  # canonical
    assert all(set(common) <= set(m) for m in ms)  # never wider than any contributor
    # the fused item may go to a partner exactly when every contributor may go there
    assert releasable_to(common, partner) == all(releasable_to(m, partner) for m in ms)
    assert intersect(*reversed(ms)) == common


@settings(max_examples=300, deadline=None)
@given(st.lists(markings, max_size=20), st.sampled_from(NATIONS))
def test_filter_properties(ms, partner):
    items = [SimpleNamespace(i=i, releasable_to=m) for i, m in enumerate(ms)]
    ok, held = split_releasable(items, partner)
    assert all(partner in it.releasable_to for it in ok)
    assert all(partner not in it.releasable_to for it in held)
    assert sorted(it.i for it in ok + held) == list(range(len(items)))
    assert filter_releasable(items, partner) == ok


@settings(max_examples=200, deadline=None)
@given(markings)
def test_format_parse_round_trip(m):
    assert parse_marking(format_marking(m)) == m
