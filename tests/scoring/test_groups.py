"""Group models on tiny frames: which notes a group may affect, promotion and demotion
(shared docs/reference.md §5.4, §4.11 rules 7-12)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from cnscore.scoring import groups
from cnscore.scoring.models import single_role
from cnscore.scoring.status import CRH, CRNH, FIRM_REJECT, NMR, NYH
from jobs._models import load_models_file

SPECS = {s.name: s for s in load_models_file(Path(__file__).resolve().parents[2] / "conf" / "models.yml")}
GROUP_1, GROUP_14, GROUP_33 = SPECS["MFGroupScorer_1"], SPECS["MFGroupScorer_14"], SPECS["MFGroupScorer_33"]
CORE, EXPANSION = single_role(list(SPECS.values()), "core"), single_role(list(SPECS.values()), "expansion")

# Raters g1..g5 are in group 1, o1 in group 2, n1 is enrolled without a group, u1 not enrolled.
ENROLLMENT = [("g1", 1.0), ("g2", 1.0), ("g3", 1.0), ("g4", 1.0), ("g5", 1.0), ("o1", 2.0), ("n1", None)]
RATERS_BY_NOTE = {
    "A": ["g1", "g2", "g3", "g4", "o1"],  # 4/5 = 0.8: exactly at the capture threshold
    "B": ["g1", "g2", "g3", "o1"],  # 3/4 = 0.75
    "C": ["g1", "g2", "g3", "g4", "g5"],  # 1.0
    "D": ["g1", "g2", "g3", "u1"],  # not enrolled counts as outside the group
    "E": ["g1", "g2", "g3", "g4", "n1"],  # no group counts as outside the group: 0.8
}
AUTHORS = {"A": "g1", "B": "g2", "C": "o1", "D": "g3", "E": "u1"}


@pytest.fixture(scope="module")
def tables(spark):
    ratings = spark.createDataFrame([(n, r) for n, raters in RATERS_BY_NOTE.items() for r in raters],
                                    "noteId string, raterParticipantId string")
    enrollment = spark.createDataFrame(ENROLLMENT, "participantId string, modelingGroup double")
    notes = spark.createDataFrame(list(AUTHORS.items()), "noteId string, noteAuthorParticipantId string")
    return ratings, notes, enrollment


def _with(spec, **selection):
    return dataclasses.replace(spec, selection=dataclasses.replace(spec.selection, **selection))


def test_eligibility_is_the_in_group_share_at_80_percent_inclusive(spark, tables):
    ratings, notes, enrollment = tables
    eligible = groups.group_eligible_notes(ratings, notes, enrollment, GROUP_1)
    expected = spark.createDataFrame([("A", 0.8), ("C", 1.0), ("E", 0.8)], "noteId string, inGroupRatingShare double")
    assert_df_equality(eligible, expected, ignore_row_order=True, ignore_nullable=True)


def test_author_outside_the_group_makes_a_note_ineligible_when_required(tables):
    ratings, notes, enrollment = tables
    spec = _with(GROUP_1, require_author_in_group=True)
    eligible = groups.group_eligible_notes(ratings, notes, enrollment, spec)
    # C's author is in group 2 and E's is not enrolled; the reference default does not check.
    assert sorted(r.noteId for r in eligible.collect()) == ["A"]
    with pytest.raises(ValueError, match="enrollment"):
        groups.group_eligible_notes(ratings.withColumn("modelingGroup", F.lit(1.0)), notes, None, spec)


def test_unassigned_raters_count_only_when_the_model_includes_them(tables):
    ratings, notes, enrollment = tables
    spec = dataclasses.replace(GROUP_1, scoring=dataclasses.replace(GROUP_1.scoring, include_unassigned=True))
    shares = {r.noteId: r.inGroupRatingShare for r in groups.group_rating_shares(ratings, spec, enrollment).collect()}
    assert shares == {"A": 0.8, "B": 0.75, "C": 1.0, "D": 1.0, "E": 1.0}


def test_strict_inclusion_drops_notes_below_the_share_at_input(tables):
    ratings, _, enrollment = tables

    def counts(spec):
        selected = groups.select_group_ratings(ratings, spec, enrollment)
        return {r.noteId: r["count"] for r in selected.groupBy("noteId").count().collect()}
    assert counts(GROUP_1) == {"A": 4, "B": 3, "C": 5, "D": 3, "E": 4}  # members' ratings only
    assert counts(_with(GROUP_1, strict_inclusion=True)) == {"A": 4, "C": 5, "E": 4}
    assert GROUP_33.selection.strict_inclusion


# Promotion: (case, label, group status, modelingGroup, core status, core intercept,
# expansion status, expansion intercept, expected label). Group 1's band is (0.3, 0.4);
# group 14's is (0.25, none).
PROMOTION_CASES = [
    ("in_band", NMR, CRH, 1, NMR, 0.35, None, None, CRH),
    ("lower_bound_exclusive", NMR, CRH, 1, NMR, 0.30, None, None, NMR),
    ("just_above_lower", NMR, CRH, 1, NMR, 0.3001, None, None, CRH),
    ("upper_bound_exclusive", NMR, CRH, 1, NMR, 0.40, None, None, NMR),
    ("just_below_upper", NMR, CRH, 1, NMR, 0.3999, None, None, CRH),
    ("expansion_when_no_core", NMR, CRH, 1, None, None, NMR, 0.35, CRH),
    ("expansion_out_of_band", NMR, CRH, 1, None, None, NMR, 0.45, NMR),
    ("core_wins_over_expansion", NMR, CRH, 1, NMR, 0.45, NMR, 0.35, NMR),
    ("no_intercept_no_promotion", NMR, CRH, 1, None, None, None, None, NMR),
    ("only_from_nmr_not_crnh", CRNH, CRH, 1, CRNH, 0.35, None, None, CRNH),
    ("crh_stays", CRH, NYH, 1, CRH, 0.35, None, None, CRH),
    ("nyh_to_crh", NYH, CRH, 1, NYH, 0.35, None, None, CRH),
    ("nmr_to_nyh", NMR, NYH, 1, NMR, 0.35, None, None, NYH),
    ("core_firm_reject_blocks", NMR, CRH, 1, FIRM_REJECT, 0.35, None, None, NMR),
    ("expansion_reject_blocks_without_core", NMR, CRH, 1, None, None, FIRM_REJECT, 0.35, NMR),
    ("expansion_reject_ignored_with_core", NMR, CRH, 1, NMR, 0.35, CRNH, 0.35, CRH),
    ("other_group", NMR, CRH, 2, NMR, 0.35, None, None, NMR),
    ("group_says_nmr", NMR, NMR, 1, NMR, 0.35, None, None, NMR),
    ("trial_in_band", NMR, CRH, 14, NMR, 0.26, None, None, CRH),
    ("trial_lower_bound_exclusive", NMR, CRH, 14, NMR, 0.25, None, None, NMR),
    ("trial_no_upper_bound", NMR, CRH, 14, NMR, 0.90, None, None, CRH),
]
PROMOTION_SCHEMA = ("id string, finalRatingStatus string, groupRatingStatus string, modelingGroup double, "
                    "coreRatingStatus string, coreNoteIntercept double, expansionRatingStatus string, "
                    "expansionNoteIntercept double")


def test_promotion_band_and_preconditions(spark):
    rows = [(c[0], c[1], c[2], float(c[3]), *c[4:8]) for c in PROMOTION_CASES]
    df = spark.createDataFrame(rows, PROMOTION_SCHEMA)
    for spec in (GROUP_1, GROUP_14):  # each acts on its own group's notes only
        df = groups.promote_by_group(df, spec, CORE, EXPANSION)
    expected = spark.createDataFrame([(c[0], c[-1]) for c in PROMOTION_CASES], "id string, finalRatingStatus string")
    assert_df_equality(df.select("id", "finalRatingStatus"), expected, ignore_row_order=True, ignore_nullable=True)


def test_without_an_expansion_model_core_alone_decides(spark):
    rows = [("core_null", NMR, CRH, 1.0, None, None), ("core_in_band", NMR, CRH, 1.0, NMR, 0.35)]
    df = spark.createDataFrame(rows, "id string, finalRatingStatus string, groupRatingStatus string, "
                                     "modelingGroup double, coreRatingStatus string, coreNoteIntercept double")
    out = {r.id: r.finalRatingStatus for r in groups.promote_by_group(df, GROUP_1, CORE, None).collect()}
    assert out == {"core_null": NMR, "core_in_band": CRH}


def test_demotion_only_from_crh_or_nyh_when_the_group_says_nmr_or_crnh(spark):
    cases = [("nmr_demotes", CRH, NMR, 33, NMR), ("crnh_demotes_nyh", NYH, CRNH, 33, NMR),
             ("crh_agrees", CRH, CRH, 33, CRH), ("already_nmr", NMR, NMR, 33, NMR),
             ("other_group", CRH, NMR, 18, CRH), ("no_group_status", CRH, None, 33, CRH)]
    df = spark.createDataFrame([(c[0], c[1], c[2], float(c[3])) for c in cases],
                               "id string, finalRatingStatus string, groupRatingStatus string, modelingGroup double")
    out = {r.id: r.finalRatingStatus for r in groups.demote_by_group(df, GROUP_33).collect()}
    assert out == {c[0]: c[-1] for c in cases}
