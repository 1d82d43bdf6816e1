"""Meta rules on explicit model outputs (shared docs/reference.md §4.11 rules 1-16), and the
Core-only result equal to cnscore.scoring.meta's."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from cnscore.columns import HELPFUL_TAGS_TSV_ORDER, NOT_HELPFUL_TAGS_TSV_ORDER
from cnscore.scoring.meta import meta_score
from cnscore.scoring.models import single_role
from cnscore.scoring.reconcile import lockable_rules, meta_rules, reconcile, required_columns
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status import CRH, CRNH, FIRM_REJECT, NMR, NYH
from cnscore.scoring.status_history import LOCKABLE_RULES
from jobs._models import load_models_file

SPECS = load_models_file(Path(__file__).resolve().parents[2] / "conf" / "models.yml")
COLUMNS = required_columns(SPECS)
EP, EXP, CWT, CORE = "expansionPlusRatingStatus", "expansionRatingStatus", "coreWithTopicsRatingStatus", "coreRatingStatus"
CI, EI = "coreNoteIntercept", "expansionNoteIntercept"
MG, MMG, G, MGRP = "multiGroupRatingStatus", "modelingMultiGroup", "groupRatingStatus", "modelingGroup"
GA, GCT = "gaussianRatingStatus", "gaussianCoreWithTopicsRatingStatus"
INITIAL, CORE_MODEL = "MetaInitialNMR (v1.0)", "CoreModel (v1.1)"


def topic(name: str, intercept: float, factor: float, confident: bool = True) -> dict:
    return {"noteTopic": name, "topicNoteIntercept": intercept, "topicNoteFactor1": factor,
            "topicNoteConfident": confident}


def pop(intercept: float, neg: int, pos: int) -> dict:
    return {"coreNoteInterceptPopulationSampled": intercept, "coreNegFactor_populationSampledRatingCount": neg,
            "corePosFactor_populationSampledRatingCount": pos}


# (case, model outputs, expected label, expected decidedBy)
CASES = [
    ("nothing_scored", {}, NMR, INITIAL),
    ("expansion_plus_only", {EP: CRH}, CRH, "ExpansionPlusModel (v1.1)"),
    ("expansion_over_plus", {EP: CRH, EXP: NMR}, NMR, "ExpansionModel (v1.1)"),
    ("firm_reject_exported_as_nmr", {EXP: FIRM_REJECT}, NMR, "ExpansionModel (v1.1)"),
    ("core_with_topics_over_expansion", {EXP: CRNH, CWT: CRH}, CRH, "CoreWithTopicsModel (v1.1)"),
    ("core_authoritative", {EXP: CRH, CWT: CRH, CORE: NMR}, NMR, CORE_MODEL),
    ("multi_group_copies", {MG: CRH, MMG: 1.0}, CRH, "MultiGroupModel01 (v1.0)"),
    ("multi_group_any_value", {CORE: CRH, MG: NMR, MMG: 1.0}, NMR, "MultiGroupModel01 (v1.0)"),
    ("multi_group_crh_blocked_by_core", {CORE: CRNH, MG: CRH, MMG: 1.0}, CRNH, CORE_MODEL),
    ("multi_group_other_id", {MG: CRH, MMG: 2.0}, NMR, INITIAL),
    ("group_promotes_core_nmr", {CORE: NMR, CI: 0.35, G: CRH, MGRP: 5.0}, CRH, "GroupModel05 (v1.1)"),
    ("group_promotes_expansion_nmr", {EXP: NMR, EI: 0.35, G: CRH, MGRP: 5.0}, CRH, "GroupModel05 (v1.1)"),
    ("group_never_over_core_crh", {CORE: CRH, CI: 0.39, G: NYH, MGRP: 5.0}, CRH, CORE_MODEL),
    ("group_blocked_by_core_crnh", {CORE: CRNH, CI: 0.35, G: CRH, MGRP: 5.0}, CRNH, CORE_MODEL),
    ("group_blocked_by_expansion_fr", {EXP: FIRM_REJECT, EI: 0.35, G: CRH, MGRP: 5.0}, NMR, "ExpansionModel (v1.1)"),
    ("group_18_does_not_promote", {CORE: NMR, CI: 0.35, G: CRH, MGRP: 18.0}, NMR, CORE_MODEL),
    ("group_14_trial_band", {CORE: NMR, CI: 0.26, G: CRH, MGRP: 14.0}, CRH, "GroupModel14 (v1.1)"),
    ("group_33_demotes", {CORE: CRH, CI: 0.45, G: NMR, MGRP: 33.0}, NMR, "GroupModel33NMR (v1.1)"),
    ("group_15_demotes", {CORE: CRH, CI: 0.45, G: CRNH, MGRP: 15.0}, NMR, "GroupModel15NMR (v1.1)"),
    ("gaussian_fills_nmr", {CORE: NMR, GA: CRH}, CRH, "GaussianModel (v1.0)"),
    ("gaussian_crnh_coverage", {CORE: NMR, GA: CRNH}, CRNH, "GaussianModel (v1.0)"),
    ("gaussian_blocked_by_core_fr", {CORE: FIRM_REJECT, GA: CRH}, NMR, CORE_MODEL),
    ("gaussian_never_overrides_crh", {CORE: CRH, GA: CRNH}, CRH, CORE_MODEL),
    ("gaussian_core_with_topics", {CWT: NMR, GCT: CRH}, CRH, "GaussianCoreWithTopicsModel (v1.0)"),
    ("topic_demotes_low_intercept", {CORE: CRH, **topic("UkraineConflict", 0.2, 0.0)}, NMR, "TopicModel01 (v1.0)"),
    ("topic_bounds_are_strict", {CORE: CRH, **topic("UkraineConflict", 0.24, 0.51)}, CRH, CORE_MODEL),
    ("topic_large_factor", {CORE: CRH, **topic("GazaConflict", 0.5, -0.52)}, NMR, "TopicModel02 (v1.0)"),
    ("topic_not_confident", {CORE: CRH, **topic("Scams", 0.1, 0.0, confident=False)}, CRH, CORE_MODEL),
    ("topic_in_dimension_two", {CORE: CRH, **topic("InDimensionTwo", 0.5, 0.0)}, NMR, "TopicModel05 (v1.0)"),
    ("topic_after_group", {CORE: NMR, CI: 0.35, G: CRH, MGRP: 1.0, **topic("MessiRonaldo", 0.1, 0.0)}, NMR,
     "TopicModel03 (v1.0)"),
    ("population_sampled_diverges", {CORE: CRH, CI: 0.5, **pop(0.25, 4, 4)}, NMR, "PopulationSampledIntercept (v1.0)"),
    ("population_sampled_at_max", {CORE: CRH, CI: 0.5, **pop(0.30, 4, 4)}, CRH, CORE_MODEL),
    ("population_sampled_one_sided", {CORE: CRH, CI: 0.5, **pop(0.25, 1, 9)}, CRH, CORE_MODEL),
    ("population_sampled_too_few", {CORE: CRH, CI: 0.5, **pop(0.25, 3, 4)}, CRH, CORE_MODEL),
    ("population_sampled_small_gap", {CORE: CRH, CI: 0.375, **pop(0.25, 4, 4)}, CRH, CORE_MODEL),
]


def _frame(spark, rows: list[tuple[str, dict]], columns: dict[str, str]):
    schema = ", ".join(["id string"] + [f"{name} {kind}" for name, kind in columns.items()])
    return spark.createDataFrame([(case, *[values.get(c) for c in columns]) for case, values in rows], schema)


@pytest.fixture(scope="module")
def reconciled(spark):
    out = reconcile(_frame(spark, [(c[0], c[1]) for c in CASES], COLUMNS), SPECS)
    return out.select("id", "finalRatingStatus", "decidedBy", "metaScorerActiveRules").persist()


def test_each_meta_rule_and_its_precedence(spark, reconciled):
    expected = spark.createDataFrame([(c[0], c[2], c[3]) for c in CASES],
                                     "id string, finalRatingStatus string, decidedBy string")
    assert_df_equality(reconciled.drop("metaScorerActiveRules"), expected, ignore_row_order=True,
                       ignore_nullable=True)


def test_active_rules_list_every_rule_that_acted_in_order(reconciled):
    rules = {r.id: r.metaScorerActiveRules for r in reconciled.collect()}
    assert rules["nothing_scored"] == INITIAL
    assert rules["core_authoritative"] == (f"{INITIAL},ExpansionModel (v1.1),CoreWithTopicsModel (v1.1),"
                                           f"{CORE_MODEL}")
    assert rules["topic_after_group"] == f"{INITIAL},{CORE_MODEL},GroupModel01 (v1.1),TopicModel03 (v1.0)"


def test_rule_order_follows_section_4_11():
    labels = [rule.label for rule in meta_rules(SPECS)]
    first = ["ExpansionPlusModel (v1.1)", "ExpansionModel (v1.1)", "CoreWithTopicsModel (v1.1)", CORE_MODEL,
             "MultiGroupModel01 (v1.0)"]
    assert labels[:5] == first
    assert labels[5:20] == [f"GroupModel{i:02d} (v1.1)" for i in (*range(1, 15), 33)]
    assert labels[20:] == ["GroupModel33NMR (v1.1)", "GroupModel18NMR (v1.1)", "GroupModel15NMR (v1.1)",
                           "GaussianModel (v1.0)", "GaussianCoreWithTopicsModel (v1.0)",
                           *[f"TopicModel0{i} (v1.0)" for i in range(1, 6)], "PopulationSampledIntercept (v1.0)"]
    assert set(lockable_rules(SPECS)) <= set(LOCKABLE_RULES)


def test_disabled_models_take_no_part():
    specs = [dataclasses.replace(s, enabled=False) if s.role in ("expansion", "topic") else s for s in SPECS]
    labels = [rule.label for rule in meta_rules(specs)]
    assert "ExpansionModel (v1.1)" not in labels and not any(label.startswith("Topic") for label in labels)
    assert "expansionNoteIntercept" not in required_columns(specs)  # groups fall back on core only


def test_missing_model_columns_are_reported(spark):
    columns = {k: v for k, v in COLUMNS.items() if k != G}
    with pytest.raises(ValueError, match="groupRatingStatus"):
        reconcile(_frame(spark, [("x", {})], columns), SPECS)


def test_core_only_equals_the_core_meta_scoring(spark):
    core = single_role(SPECS, "core")
    notes = [("crh_was_crh", CRH), ("crnh", CRNH), ("firm_reject", FIRM_REJECT), ("nmr", NMR), ("unscored", None),
             ("new_crh", CRH), ("nyh", NYH)]
    df = _frame(spark, [(n, {CORE: s}) for n, s in notes], required_columns([core])).withColumnRenamed("id", "noteId")
    history = spark.createDataFrame(
        [("crh_was_crh", CRH, None, CRH, None)],
        "noteId string, currentStatus string, lockedStatus string, firstNonNMRStatus string, "
        "timestampMillisOfNmrDueToMinStableCrhTime double")
    # Two qualifying tags each, so InsufficientExplanation leaves the CRH and CRNH notes alone.
    tag_counts = spark.createDataFrame(
        [(n, *[3 if t in ("helpfulClear", "helpfulInformative", "notHelpfulIncorrect", "notHelpfulOffTopic")
               else 0 for t in (*HELPFUL_TAGS_TSV_ORDER, *NOT_HELPFUL_TAGS_TSV_ORDER)]) for n, _ in notes],
        ", ".join(["noteId string"] + [f"{t} bigint" for t in (*HELPFUL_TAGS_TSV_ORDER, *NOT_HELPFUL_TAGS_TSV_ORDER)]))
    meta = meta_score(df.select("noteId", CORE), history, tag_counts, 10**12, ScoringConfig())
    ours = reconcile(df, [core], status_col="_label")
    cols = ["noteId", "finalRatingStatus", "decidedBy", "metaScorerActiveRules"]
    # Before stabilisation the labels agree for every note...
    assert_df_equality(meta.select("noteId", F.col("preStabilizationRatingStatus").alias("_label")),
                       ours.select("noteId", "_label"), ignore_row_order=True, ignore_nullable=True)
    # ... and where stabilisation does not act, so do the final columns.
    settled = ours.where(~F.col("noteId").isin("new_crh", "nyh")).withColumnRenamed("_label", "finalRatingStatus")
    assert_df_equality(meta.where(~F.col("noteId").isin("new_crh", "nyh")).select(*cols), settled.select(*cols),
                       ignore_row_order=True, ignore_nullable=True)
