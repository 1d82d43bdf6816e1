"""Status rules on explicit note statistics: each rule and its boundary (reference §4.6)."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from cnscore.scoring import rules
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status import CRH, CRNH, FIRM_REJECT, NMR, NYH

CFG = ScoringConfig()
BASE = {
    "numRatings": 20, "classification": "MISINFORMED_OR_POTENTIALLY_MISLEADING", "currentStatus": None,
    "internalNoteIntercept": 0.35, "internalNoteFactor1": 0.1, "internalNoteIntercept_max": 0.4,
    "minSignCount": 0, "negFactorMeanHelpfulNum": None, "posFactorMeanHelpfulNum": None,
    "tagFilterFires": False, "tagFilterDetail": None, "incorrectFilterFires": False, "incorrectFilterDetail": None,
    "lowDiligenceNoteIntercept": 0.0, "netMinHelpful": 10, "netMinHelpfulRatio": 0.5,
    "internalNoteInterceptNoHighVol": 0.5, "internalNoteInterceptNoCorrelated": 0.5,
}
SCHEMA = ("id string, numRatings int, classification string, currentStatus string, internalNoteIntercept double, "
          "internalNoteFactor1 double, internalNoteIntercept_max double, minSignCount int, "
          "negFactorMeanHelpfulNum double, posFactorMeanHelpfulNum double, tagFilterFires boolean, "
          "tagFilterDetail string, incorrectFilterFires boolean, incorrectFilterDetail string, "
          "lowDiligenceNoteIntercept double, netMinHelpful int, netMinHelpfulRatio double, "
          "internalNoteInterceptNoHighVol double, internalNoteInterceptNoCorrelated double")

# (case, overrides, expected final-round status)
CASES = [
    ("crh_at_threshold", {"internalNoteIntercept": 0.40}, CRH),
    ("just_below_crh", {"internalNoteIntercept": 0.3999}, NMR),
    ("too_few_ratings", {"internalNoteIntercept": 0.5, "numRatings": 4}, NMR),
    ("five_ratings", {"internalNoteIntercept": 0.5, "numRatings": 5}, CRH),
    ("not_misleading_never_crh", {"internalNoteIntercept": 0.5, "classification": "NOT_MISLEADING"}, NMR),
    ("deleted_note_counts_as_misleading", {"internalNoteIntercept": 0.5, "classification": None}, CRH),
    ("crnh_diamond_boundary", {"internalNoteIntercept": -0.25, "internalNoteFactor1": -0.25}, CRNH),
    ("above_crnh_diamond", {"internalNoteIntercept": -0.2499, "internalNoteFactor1": -0.25,
                            "internalNoteIntercept_max": 0.0}, FIRM_REJECT),
    ("ucb_crnh", {"internalNoteIntercept": 0.1, "internalNoteIntercept_max": -0.0401}, CRNH),
    ("ucb_at_bound_is_not_crnh", {"internalNoteIntercept": 0.1, "internalNoteIntercept_max": -0.04}, FIRM_REJECT),
    ("ratio_crnh", {"internalNoteIntercept": 0.1, "minSignCount": 3, "negFactorMeanHelpfulNum": 0.4,
                    "posFactorMeanHelpfulNum": 0.1}, CRNH),
    ("ratio_average_at_bound", {"internalNoteIntercept": 0.1, "minSignCount": 3, "negFactorMeanHelpfulNum": 0.35,
                                "posFactorMeanHelpfulNum": 0.25}, CRNH),
    ("ratio_needs_three_per_side", {"internalNoteIntercept": 0.1, "minSignCount": 2,
                                    "negFactorMeanHelpfulNum": 0.0, "posFactorMeanHelpfulNum": 0.0}, FIRM_REJECT),
    ("ratio_average_too_high", {"internalNoteIntercept": 0.1, "minSignCount": 3, "negFactorMeanHelpfulNum": 0.4,
                                "posFactorMeanHelpfulNum": 0.3}, FIRM_REJECT),
    ("nm_crnh", {"internalNoteIntercept": -0.16, "internalNoteFactor1": 0.0, "numRatings": 1,
                 "classification": "NOT_MISLEADING"}, CRNH),
    ("inertia_keeps_crh", {"internalNoteIntercept": 0.3901, "currentStatus": CRH}, CRH),
    ("inertia_has_a_floor", {"internalNoteIntercept": 0.3899, "currentStatus": CRH}, NMR),
    ("tag_filter_blocks_crh", {"internalNoteIntercept": 0.5, "tagFilterFires": True, "tagFilterDetail": "t"},
     FIRM_REJECT),
    ("tag_filter_spares_crnh", {"internalNoteIntercept": -0.5, "tagFilterFires": True}, CRNH),
    ("incorrect_filter", {"internalNoteIntercept": 0.5, "incorrectFilterFires": True}, FIRM_REJECT),
    ("low_diligence_above", {"internalNoteIntercept": 0.5, "lowDiligenceNoteIntercept": 0.2631}, FIRM_REJECT),
    ("low_diligence_at_threshold", {"internalNoteIntercept": 0.5, "lowDiligenceNoteIntercept": 0.263}, CRH),
    ("large_factor", {"internalNoteIntercept": 0.5, "internalNoteFactor1": 0.5001}, FIRM_REJECT),
    ("factor_at_limit", {"internalNoteIntercept": 0.5, "internalNoteFactor1": -0.5}, CRH),
    ("low_intercept_firm_reject", {"internalNoteIntercept": 0.2999}, FIRM_REJECT),
    ("intercept_at_firm_reject", {"internalNoteIntercept": 0.3}, NMR),
    ("min_minority_raters", {"internalNoteIntercept": 0.5, "netMinHelpful": 3}, NYH),
    ("rater_balance", {"internalNoteIntercept": 0.5, "netMinHelpful": 4, "netMinHelpfulRatio": 0.0499}, NYH),
    ("rater_balance_ratio_ok", {"internalNoteIntercept": 0.5, "netMinHelpful": 4, "netMinHelpfulRatio": 0.05}, CRH),
    ("rater_balance_exempt_at_ten", {"internalNoteIntercept": 0.5, "netMinHelpful": 10,
                                     "netMinHelpfulRatio": 0.01}, CRH),
    ("no_high_vol", {"internalNoteIntercept": 0.5, "internalNoteInterceptNoHighVol": 0.3699}, NYH),
    ("no_high_vol_null_passes", {"internalNoteIntercept": 0.5, "internalNoteInterceptNoHighVol": None}, CRH),
    ("no_correlated", {"internalNoteIntercept": 0.5, "internalNoteInterceptNoCorrelated": 0.3699}, NYH),
    ("null_intercept_stays_nmr", {"internalNoteIntercept": None, "internalNoteFactor1": None,
                                  "internalNoteIntercept_max": None}, NMR),
]


def _final_rules():
    return (rules.first_round_rules(CFG, with_ucb=True) + [rules.ratio_crnh_rule(CFG), rules.nm_crnh_rule(CFG)]
            + rules.final_round_rules(CFG))


@pytest.fixture(scope="module")
def scored(spark):
    rows = [(case, *{**BASE, **overrides}.values()) for case, overrides, _ in CASES]
    return rules.apply_rules(spark.createDataFrame(rows, SCHEMA), _final_rules()).persist()


def test_each_rule_at_its_boundary(spark, scored):
    expected = spark.createDataFrame([(case, status) for case, _, status in CASES], "id string, ratingStatus string")
    assert_df_equality(scored.select("id", "ratingStatus"), expected, ignore_row_order=True, ignore_nullable=True)


def test_active_rules_in_reference_format_and_explanations_give_numbers(scored):
    row = scored.where(F.col("id") == "large_factor").first()
    assert row.activeRules == "InitialNMR (v1.0),GeneralCRH (v1.0),FilterLargeFactor (v1.0)"
    assert "intercept 0.500 >= 0.4" in row.explanation and "|factor| 0.500 > 0.5" in row.explanation
    nyh = scored.where(F.col("id") == "rater_balance").first()
    assert nyh.activeRules.endswith("RaterBalance (v1.0)")
    assert "ratio 0.050 < 0.05" in nyh.explanation  # 0.0499 shown with 3 digits


def test_first_round_has_no_final_guards(spark):
    row = {**BASE, "internalNoteIntercept": 0.5, "tagFilterFires": True, "netMinHelpful": 0}
    df = spark.createDataFrame([("x", *row.values())], SCHEMA)
    first = rules.apply_rules(df, rules.first_round_rules(CFG, with_ucb=False) + [rules.nm_crnh_rule(CFG)])
    assert first.first().ratingStatus == CRH


def test_without_firm_reject_filters_give_nmr(spark):
    cfg = ScoringConfig(firm_reject_threshold=None)
    row = {**BASE, "internalNoteIntercept": 0.5, "tagFilterFires": True}
    df = spark.createDataFrame([("x", *row.values())], SCHEMA)
    out = rules.apply_rules(df, rules.first_round_rules(cfg, with_ucb=True) + rules.final_round_rules(cfg)).first()
    assert out.ratingStatus == NMR and "TagFilter (v1.0)" in out.activeRules
