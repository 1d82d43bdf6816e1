"""Positional layouts of the four input TSVs, declared as data.

The reference scorer names columns by position and checks only the header's field count
(shared docs/reference.md §1), and X's public files gained columns over the years, always
appended at the end except for the 2021 ratings form. So a file's layout is chosen by its
header's field count; the header names are only compared (a mismatch is a warning).

Each `Layout` lists the source columns in file order, how they map to canonical names
(`cnscore.schemas.INPUT_SCHEMAS`), which source columns scoring never reads (dropped), and
the value given to each canonical column the layout lacks. Histories below come from the
reference's `constants.py` (twitter/communitynotes git history) and shared data/real/SOURCES.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cnscore.columns import HELPFUL_TAGS_TSV_ORDER, NOT_HELPFUL_TAGS_TSV_ORDER
from cnscore.schemas import INPUT_SCHEMAS

KINDS = ("notes", "ratings", "noteStatusHistory", "userEnrollment")

# Other spellings seen in headers for a column, keyed by the spelling a layout declares.
# Only used to decide whether a header deserves a warning; positions decide the mapping.
HEADER_ALIASES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # Public files said `participantId` until late 2022 (and NSH/notes may still do).
        "noteAuthorParticipantId": frozenset({"participantId"}),
        "raterParticipantId": frozenset({"participantId"}),
        # Public NSH headers use these spellings for the internal names.
        "mostRecentNonNMRStatus": frozenset({"latestNonNMRStatus"}),
        "timestampMillisOfLatestNonNMRStatus": frozenset(
            {"timestampMillisOfMostRecentNonNMRStatus"}
        ),
    }
)

# Rows that share these canonical columns describe the same entity: exact duplicates are
# dropped (and counted), differing rows are all bad input. The reference drops exact duplicate
# ratings and asserts one rating per (rater, note), and does the same for noteIds of notes;
# NSH and enrollment rows are joined on their key downstream, so a conflict there is just as
# ambiguous.
KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "notes": ("noteId",),
        "ratings": ("noteId", "raterParticipantId"),
        "noteStatusHistory": ("noteId",),
        "userEnrollment": ("participantId",),
    }
)


@dataclass(frozen=True)
class Layout:
    """One historical positional layout of one input kind.

    Attributes:
        kind: "notes", "ratings", "noteStatusHistory" or "userEnrollment".
        name: short human label (era) used in logs.
        columns: source column names in file order (the spelling we expect in headers).
        rename: source name -> canonical name, for the source columns whose name differs.
        dropped: source columns that are read past and not kept.
        defaults: canonical column -> value for canonical columns this layout lacks
            (None means null; values are cast to the canonical type).
        null_tokens: canonical column -> raw strings that mean "no value" in this layout.
    """

    kind: str
    name: str
    columns: tuple[str, ...]
    rename: Mapping[str, str] = field(default_factory=dict)
    dropped: frozenset[str] = frozenset()
    defaults: Mapping[str, object] = field(default_factory=dict)
    null_tokens: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def width(self) -> int:
        """Number of tab-separated fields per line."""
        return len(self.columns)

    def source_index(self, canonical: str) -> int | None:
        """0-based field position that feeds `canonical`, or None if the layout lacks it."""
        for i, src in enumerate(self.columns):
            if src not in self.dropped and self.rename.get(src, src) == canonical:
                return i
        return None

    def header_mismatches(self, header: list[str]) -> list[str]:
        """Describe positions whose header name is neither the expected name nor an alias."""
        out = []
        for i, (got, want) in enumerate(zip(header, self.columns)):
            if got != want and got not in HEADER_ALIASES.get(want, frozenset()):
                out.append(f"field {i + 1}: header {got!r}, expected {want!r}")
        return out


def _canonical(kind: str) -> tuple[str, ...]:
    return tuple(f.name for f in INPUT_SCHEMAS[kind].fields)


# --- notes: 22 (2021 .. 2023-05-30), 23 (+isMediaNote), 24 (+isCollaborativeNote, 2026-02-04)
_NOTES = _canonical("notes")
_NOTES_LAYOUTS = (
    Layout("notes", "current (2026-02+)", _NOTES),
    Layout("notes", "2023-05 .. 2026-02", _NOTES[:-1], defaults={"isCollaborativeNote": 0}),
    Layout(
        "notes",
        "2021 .. 2023-05",
        _NOTES[:-2],
        # Media notes and collaborative notes did not exist yet: every note is neither.
        defaults={"isMediaNote": 0, "isCollaborativeNote": 0},
    ),
)

# --- ratings: 2021's v1 form (23), then 31 (2022) .. 35 (2026-06) appending at the end.
_RATINGS = _canonical("ratings")
_RATINGS_2022 = _RATINGS[: _RATINGS.index("ratedOnTweetId")]  # 31 columns
_RATINGS_2021 = (
    ("noteId", "raterParticipantId", "createdAtMillis", "agree", "disagree")
    + ("helpful", "notHelpful")
    + HELPFUL_TAGS_TSV_ORDER[:6]
    + NOT_HELPFUL_TAGS_TSV_ORDER[:7]
    + ("notHelpfulArgumentativeOrInflammatory",)
    + NOT_HELPFUL_TAGS_TSV_ORDER[8:10]
)
_RENAMED_2021 = {"notHelpfulArgumentativeOrInflammatory": "notHelpfulArgumentativeOrBiased"}
_NEW_TAGS_SINCE_2021 = tuple(
    t
    for t in HELPFUL_TAGS_TSV_ORDER + NOT_HELPFUL_TAGS_TSV_ORDER
    if t not in _RATINGS_2021 and t not in _RENAMED_2021.values()
)
_RATINGS_LAYOUTS = (
    Layout(
        "ratings",
        "current (2026-06+)",
        _RATINGS + ("suggestion", "suggestionId"),
        # The reference drops both right after reading; scoring never uses them.
        dropped=frozenset({"suggestion", "suggestionId"}),
    ),
    Layout(
        "ratings",
        "2026-01 .. 2026-06",
        _RATINGS + ("suggestion",),
        dropped=frozenset({"suggestion"}),
    ),
    Layout("ratings", "2025-09 .. 2026-01", _RATINGS),
    Layout(
        "ratings",
        "2023-05 .. 2025-09",
        _RATINGS[:-1],
        defaults={"ratingSourceBucketed": None},
    ),
    Layout(
        "ratings",
        "2022 .. 2023-05",
        _RATINGS_2022,
        # -1 is the reference's "unknown post" id; the rating source did not exist.
        defaults={"ratedOnTweetId": -1, "ratingSourceBucketed": None},
    ),
    Layout(
        "ratings",
        "2021 v1 form",
        _RATINGS_2021,
        # The tag was renamed in place (same TSV position) to ArgumentativeOrBiased.
        rename=_RENAMED_2021,
        # Form version 1 had only helpful/notHelpful (helpfulnessLevel stays null, so
        # helpfulNum comes from those); tags added later were never offered, hence 0.
        defaults={
            "version": 1,
            "helpfulnessLevel": None,
            **{tag: 0 for tag in _NEW_TAGS_SINCE_2021},
            "ratedOnTweetId": -1,
            "ratingSourceBucketed": None,
        },
    ),
)

# --- noteStatusHistory: every layout since the first public one (2022-07, 9 columns) is a
# prefix of today's 24; columns added later are null ("no such event recorded").
_NSH = _canonical("noteStatusHistory")
_NSH_ERAS = {
    24: "current (2026-05+)",
    23: "2024-08 .. 2026-05",
    21: "2024-08",
    18: "2024-07",
    17: "2023-09 .. 2024-07",
    12: "2023-01 .. 2023-09",
    11: "2023-01",
    9: "first public (2022-07)",
}
# The first public layout wrote -1 for "no such timestamp" and 0 for an unrecorded
# createdAtMillis (0 on every row of the Aug 2022 file). Kept as numbers they would read as
# real 1970 events (e.g. every rating "after the decision"), so they become null.
_NSH_V1_NULLS = {
    "createdAtMillis": ("0",),
    **{c: ("-1",) for c in _NSH[:9] if c.startswith("timestampMillisOf")},
}
_NSH_LAYOUTS = tuple(
    Layout(
        "noteStatusHistory",
        era,
        _NSH[:width],
        defaults={c: None for c in _NSH[width:]},
        null_tokens=_NSH_V1_NULLS if width == 9 else {},
    )
    for width, era in _NSH_ERAS.items()
)

# --- userEnrollment: 4 (2022-11), 5 (+timestampOfLastEarnOut, 2023-02), 6 (+modelingPopulation),
# 7 (+modelingGroup, 2023-11), 8 (+numberOfTimesEarnedOut, 2024-02): all prefixes.
_ENROLLMENT = _canonical("userEnrollment")
# Judgement calls for columns older files lack:
# - timestampOfLastEarnOut: 1, the reference's own "never earned out" value (it fills with 1).
# - modelingPopulation: null; the scorer never reads it and we should not invent CORE.
# - modelingGroup: null = no group, which is what the reference's NaN means.
# - numberOfTimesEarnedOut: 0; the count was not kept before, and 0 is where it starts.
_ENROLLMENT_FILL = {
    "timestampOfLastEarnOut": 1.0,
    "modelingPopulation": None,
    "modelingGroup": None,
    "numberOfTimesEarnedOut": 0,
}
_ENROLLMENT_ERAS = {
    8: "current (2024-02+)",
    7: "2023-11 .. 2024-02",
    6: "2023-02 .. 2023-11",
    5: "2023-02",
    4: "2022-11 .. 2023-02",
}
_ENROLLMENT_LAYOUTS = tuple(
    Layout(
        "userEnrollment",
        era,
        _ENROLLMENT[:width],
        defaults={c: _ENROLLMENT_FILL[c] for c in _ENROLLMENT[width:]},
    )
    for width, era in _ENROLLMENT_ERAS.items()
)

LAYOUTS: Mapping[str, tuple[Layout, ...]] = MappingProxyType(
    {
        "notes": _NOTES_LAYOUTS,
        "ratings": _RATINGS_LAYOUTS,
        "noteStatusHistory": _NSH_LAYOUTS,
        "userEnrollment": _ENROLLMENT_LAYOUTS,
    }
)


def layout_for(kind: str, width: int) -> Layout | None:
    """The layout of `kind` whose field count is `width`, or None if there is none."""
    if kind not in LAYOUTS:
        raise ValueError(f"unknown input kind {kind!r}; expected one of {KINDS}")
    return next((lay for lay in LAYOUTS[kind] if lay.width == width), None)


def known_widths(kind: str) -> list[int]:
    """Field counts of every known layout of `kind`, widest first."""
    return [lay.width for lay in LAYOUTS[kind]]


def _check(layouts: Mapping[str, tuple[Layout, ...]]) -> None:
    # Every canonical column must come from exactly one place; a typo in the tables above
    # would otherwise surface as a confusing all-null column much later. (Not `assert`:
    # this must also run under `python -O`.)
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ValueError(f"bad layout table: {what}")

    for kind, lays in layouts.items():
        canonical = set(_canonical(kind))
        widths = [lay.width for lay in lays]
        need(len(set(widths)) == len(widths), f"{kind}: two layouts share a field count")
        for lay in lays:
            kept = [lay.rename.get(s, s) for s in lay.columns if s not in lay.dropped]
            where = f"{kind}/{lay.name}"
            need(len(set(kept)) == len(kept), f"{where}: two sources for one column")
            need(set(kept) <= canonical, f"{where}: unknown {set(kept) - canonical}")
            need(not set(kept) & set(lay.defaults), f"{where}: both sourced and defaulted")
            missing = canonical - set(kept) - set(lay.defaults)
            need(not missing, f"{where}: no source or default for {sorted(missing)}")


_check(LAYOUTS)
