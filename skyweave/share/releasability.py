"""Releasability markings (``REL TO USA, JPN, AUS``): parse, validate, format, intersect, filter.

A marking is the set of nations a piece of information may be released to. skyweave holds it
as a sorted tuple of ISO 3166-1 alpha-3 codes (the canonical form: hashable, comparable, and the
same bytes on the wire whatever order a person typed). The rules (docs/messages.md):

- a node sends a partner only items whose marking contains that partner;
- the receiving node checks the marking again and rejects what is not releasable to it;
- a fused item's marking is the intersection of its contributors' markings.

Group names (tetragraphs) such as ``FVEY`` are expanded to their member nations when a marking is
parsed, so intersections and checks work on nations only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

__all__ = [
    "ISO_ALPHA3",
    "GROUPS",
    "Marking",
    "MarkingError",
    "is_valid_code",
    "validate_code",
    "parse_marking",
    "format_marking",
    "intersect",
    "releasable_to",
    "filter_releasable",
    "split_releasable",
]

Marking = tuple[str, ...]
"""A canonical marking: sorted, unique ISO 3166-1 alpha-3 codes."""

T = TypeVar("T")

# ISO 3166-1 alpha-3, the 249 officially assigned codes.
ISO_ALPHA3: frozenset[str] = frozenset(
    """
    ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA BGD BGR
    BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR COD COG
    COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU EGY ERI ESH ESP EST ETH
    FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY
    HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM
    KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL
    MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR
    NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS RWA SAU
    SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR TCA
    TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY USA UZB VAT VCT VEN VGB
    VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE
    """.split()
)

# Groups expanded at parse time. Membership as of April 2024 (NATO: 32 members, Sweden since
# 2024-03-07). Callers may pass their own ``groups`` mapping to parse_marking.
GROUPS: Mapping[str, Marking] = {
    "FVEY": ("AUS", "CAN", "GBR", "NZL", "USA"),
    "NATO": tuple(
        sorted(
            "ALB BEL BGR CAN CZE DEU DNK ESP EST FIN FRA GBR GRC HRV HUN ISL ITA LTU LUX LVA MKD "
            "MNE NLD NOR POL PRT ROU SVK SVN SWE TUR USA".split()
        )
    ),
}

_CODE_RE = re.compile(r"^[A-Z]{3}$")
_PREFIX_RE = re.compile(r"^\s*REL(?:EASABLE)?\s+TO\s*[:]?\s*", re.IGNORECASE)


class MarkingError(ValueError):
    """A marking or nation code that is not valid: says which token, what was expected and what came."""

    def __init__(self, expected: str, got: Any, *, marking: Any = None):
        self.expected = expected
        self.got = got
        self.marking = marking
        where = f"marking {marking!r}: " if marking is not None else ""
        super().__init__(f"{where}expected {expected}, got {got!r}")


def _user_assigned(code: str) -> bool:
    """ISO 3166-1 user-assigned alpha-3 ranges AAA-AAZ, QMA-QZZ, XAA-XZZ, ZZA-ZZZ (exercise nations)."""
    return (
        code.startswith("AA")
        or code[0] == "X"
        or code.startswith("ZZ")
        or (code[0] == "Q" and code[1] >= "M")
    )


def is_valid_code(code: Any) -> bool:
    """True if ``code`` is an assigned ISO 3166-1 alpha-3 code or one of ISO's user-assigned ones."""
    return isinstance(code, str) and bool(_CODE_RE.match(code)) and (code in ISO_ALPHA3 or _user_assigned(code))


def validate_code(code: Any, *, marking: Any = None) -> str:
    """Return ``code`` if it is a valid nation code, else raise :class:`MarkingError` naming it."""
    if not is_valid_code(code):
        if isinstance(code, str) and _CODE_RE.match(code):
            expected = "an assigned ISO 3166-1 alpha-3 nation code (or a user-assigned XAA-XZZ)"
        else:
            expected = "an ISO 3166-1 alpha-3 nation code (three capital letters, e.g. 'GBR')"
        raise MarkingError(expected, code, marking=marking)
    return code


def parse_marking(marking: str | Iterable[str], *, groups: Mapping[str, Sequence[str]] | None = None) -> Marking:
    """Parse ``"REL TO USA, JPN, AUS"`` (or ``"USA, JPN"``, or a list of codes) to a canonical marking.

    Separators are commas and/or whitespace; text is read case-insensitively (a list must hold
    exact codes); group names (``FVEY``, ``NATO`` or those in
    ``groups``) expand to their members. Codes are validated; an unknown token raises
    :class:`MarkingError` naming it. An empty marking (releasable to no one, ``REL TO NONE``) is
    allowed.
    """
    table = GROUPS if groups is None else {**GROUPS, **groups}
    if isinstance(marking, str):
        text = _PREFIX_RE.sub("", marking, count=1)
        tokens = [tok.upper() for tok in re.split(r"[,\s]+", text.strip()) if tok]
        if tokens == ["NONE"]:  # format_marking's form of the empty marking
            tokens = []
    elif isinstance(marking, Iterable):
        tokens = list(marking)
    else:
        raise MarkingError("a marking string such as 'REL TO USA, JPN' or a list of nation codes", marking)
    codes: set[str] = set()
    for tok in tokens:
        if isinstance(tok, str) and tok in table:
            codes.update(table[tok])
        else:
            codes.add(validate_code(tok, marking=marking))
    return tuple(sorted(codes))


def format_marking(marking: str | Iterable[str]) -> str:
    """Format a marking as ``REL TO USA, AUS, JPN``: USA first when present, then alphabetical.

    (The ordering follows the common US marking convention; it is for people only: the
    canonical wire form is the sorted tuple.) An empty marking formats as ``REL TO NONE``.
    """
    codes = parse_marking(marking)
    if not codes:
        return "REL TO NONE"
    ordered = (["USA"] if "USA" in codes else []) + [c for c in codes if c != "USA"]
    return "REL TO " + ", ".join(ordered)


def intersect(*markings: Iterable[str]) -> Marking:
    """The marking of a product built from several items: the intersection of their markings.

    Raises ValueError with no markings (the intersection of nothing is not "everyone").
    """
    if not markings:
        raise ValueError("intersect() needs at least one marking")
    common = set(markings[0])
    for m in markings[1:]:
        common.intersection_update(m)
    return tuple(sorted(common))


def releasable_to(marking: Iterable[str], partner: str) -> bool:
    """True if ``partner`` (an alpha-3 code) is in ``marking``."""
    return partner in marking


def filter_releasable(items: Iterable[T], partner: str) -> list[T]:
    """The items (anything with a ``releasable_to`` attribute) releasable to ``partner``, in order."""
    return [it for it in items if partner in it.releasable_to]  # type: ignore[attr-defined]


def split_releasable(items: Iterable[T], partner: str) -> tuple[list[T], list[T]]:
    """(releasable to ``partner``, withheld from it), each in the input order."""
    ok: list[T] = []
    withheld: list[T] = []
    for it in items:
        (ok if partner in it.releasable_to else withheld).append(it)  # type: ignore[attr-defined]
    return ok, withheld
