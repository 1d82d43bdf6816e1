"""Bootstrap pseudo-raters (issue 3, item 4): planted bounds, determinism, rules, configuration."""

from __future__ import annotations

import math
from itertools import takewhile
from pathlib import Path

import numpy as np
import pytest
import yaml
from chispa import assert_approx_df_equality, assert_df_equality
from pyspark.sql import functions as F

from cnscore.config import MFConfig, load_config
from cnscore.scoring import rules
from cnscore.scoring.fits import IdSpace
from cnscore.scoring.pseudo_bootstrap import (
    INTERCEPT_LCB, INTERCEPT_MEAN, INTERCEPT_UCB, RUNS, BootstrapConfig, bootstrap_bounds, draw_votes,
)
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status import CRH, CRNH, FIRM_REJECT, NMR
from tests.scoring.test_rules import BASE, SCHEMA

MU = 0.1
SPARSE, BROAD = 1000, 1001  # 4 unanimous HELPFUL ratings from one side / HELPFUL from all 40 raters
BOOT = BootstrapConfig(runs=20, runs_per_fit=20)  # one fit for all runs
MF = MFConfig()
REPO = Path(__file__).resolve().parents[2]


def planted(spark, seed: int = 3, num_raters: int = 40, num_notes: int = 12):
    """Ratings on 12 notes by 40 raters with known (frozen) parameters.

    Raters 0-19 have factor ~ -0.8, raters 20-39 ~ +0.8; intercepts uniform in [-0.2, 0.2].
    Note SPARSE has 4 HELPFUL ratings, all from raters of the negative side; note BROAD is rated
    HELPFUL by everyone; the other notes have planted intercepts and factors and 15 ratings each,
    labelled by thresholding mu + i_u + i_n + f_u f_n + noise at 0.5.
    """
    rng = np.random.default_rng(seed)
    intercepts = rng.uniform(-0.2, 0.2, num_raters)
    factors = np.where(np.arange(num_raters) < num_raters // 2, -0.8, 0.8) + rng.normal(0, 0.05, num_raters)
    rows = [(SPARSE, r, 1.0) for r in (0, 1, 2, 3)] + [(BROAD, r, 1.0) for r in range(num_raters)]
    for note in range(2, num_notes):
        note_intercept, note_factor = rng.uniform(-0.3, 0.6), rng.uniform(-0.5, 0.5)
        for r in rng.choice(num_raters, 15, replace=False):
            signal = MU + intercepts[r] + note_intercept + factors[r] * note_factor + rng.normal(0, 0.2)
            rows.append((SPARSE + note, int(r), float(signal > 0.5)))
    ratings = spark.createDataFrame([(n, f"r{r:02d}", h) for n, r, h in rows],
                                    "noteId bigint, raterParticipantId string, helpfulNum double")
    ids = IdSpace.build(ratings)
    truth = spark.createDataFrame(
        [(f"r{r:02d}", float(intercepts[r]), float(factors[r])) for r in range(num_raters)],
        "raterParticipantId string, internalRaterIntercept double, internalRaterFactor1 double")
    raters = ids.rater_ids.select(F.col("entityId").alias("raterParticipantId"), F.col("idx").alias("raterIdx"))
    return ids.densify(ratings), ids, raters.join(truth, "raterParticipantId")


@pytest.fixture(scope="module")
def inputs(spark):
    return planted(spark)


@pytest.fixture(scope="module")
def bounds(inputs):
    ratings, ids, raters = inputs
    return bootstrap_bounds(ratings, ids, raters, MU, MF, BOOT).localCheckpoint()


def test_sparse_unanimous_note_has_a_wide_interval_below_the_lcb_threshold(bounds):
    by_note = {row.noteId: row for row in bounds.collect()}
    assert len(by_note) == 12 and {row[RUNS] for row in by_note.values()} == {BOOT.runs}
    sparse, broad = by_note[SPARSE], by_note[BROAD]
    assert sparse[INTERCEPT_LCB] < BOOT.crh_lcb_threshold < broad[INTERCEPT_LCB]
    assert sparse[INTERCEPT_UCB] - sparse[INTERCEPT_LCB] > 3 * (broad[INTERCEPT_UCB] - broad[INTERCEPT_LCB])
    for row in by_note.values():
        assert row[INTERCEPT_LCB] <= row[INTERCEPT_MEAN] <= row[INTERCEPT_UCB]


def test_same_seed_gives_the_same_table(inputs, bounds):
    ratings, ids, raters = inputs
    again = bootstrap_bounds(ratings, ids, raters, MU, MF, BOOT)
    assert_df_equality(again, bounds, ignore_row_order=True)


def test_partitioning_and_batching_do_not_change_results(inputs, bounds):
    ratings, ids, raters = inputs
    # Other partitions and two fits of 10 runs instead of one of 20: only summation order may differ.
    other = bootstrap_bounds(ratings.repartition(7), ids, raters, MU, MF,
                             BootstrapConfig(runs=20, runs_per_fit=10))
    assert_approx_df_equality(other, bounds, precision=1e-12, ignore_row_order=True)


def test_votes_depend_on_seed_run_note_and_pseudo_rater_only(spark):
    notes = spark.range(50).select((F.col("id") + 7_000).alias("noteId"))
    cfg = BootstrapConfig(runs=4, pseudo_raters_per_side=2)
    one = draw_votes(notes.coalesce(1), cfg, seed=11)
    assert_df_equality(draw_votes(notes.repartition(5), cfg, seed=11), one, ignore_row_order=True)
    assert one.count() == 50 * 4 * 4
    share = one.agg(F.avg("helpfulNum")).first()[0]
    assert 0.35 < share < 0.65  # a fair coin over 800 draws
    other = draw_votes(notes, cfg, seed=12).withColumnRenamed("helpfulNum", "other")
    differ = one.join(other, ["noteId", "bootstrapRun", "pseudoRater"]).where(F.col("helpfulNum") != F.col("other"))
    assert differ.count() > 200


# Rules in bootstrap mode, on explicit statistics (the columns of tests/scoring/test_rules.py).
BOOT_CFG = ScoringConfig(pseudo_rater_mode="bootstrap")
BOOT_BASE = {**BASE, INTERCEPT_LCB: 0.5, INTERCEPT_UCB: 0.6}
BOOT_SCHEMA = f"{SCHEMA}, {INTERCEPT_LCB} double, {INTERCEPT_UCB} double"
RULE_CASES = [
    ("lcb_at_threshold_stays_crh", {"internalNoteIntercept": 0.5, INTERCEPT_LCB: 0.31}, CRH),
    ("lcb_below_threshold", {"internalNoteIntercept": 0.5, INTERCEPT_LCB: 0.3099}, NMR),
    ("lcb_null_never_fires", {"internalNoteIntercept": 0.5, INTERCEPT_LCB: None}, CRH),
    ("lcb_only_demotes_crh", {"internalNoteIntercept": 0.35, INTERCEPT_LCB: 0.0}, NMR),
    ("lcb_after_inertia", {"internalNoteIntercept": 0.395, "currentStatus": CRH, INTERCEPT_LCB: 0.2}, NMR),
    ("ucb_below_threshold", {"internalNoteIntercept": 0.1, INTERCEPT_UCB: -0.0401}, CRNH),
    ("ucb_at_threshold", {"internalNoteIntercept": 0.1, INTERCEPT_UCB: -0.04}, FIRM_REJECT),
    ("extreme_max_is_ignored", {"internalNoteIntercept": 0.1, "internalNoteIntercept_max": -0.5,
                                INTERCEPT_UCB: 0.0}, FIRM_REJECT),
]


def _final_rules(cfg: ScoringConfig, *, bootstrap: bool):
    return (rules.first_round_rules(cfg, with_ucb=True) + [rules.ratio_crnh_rule(cfg), rules.nm_crnh_rule(cfg)]
            + rules.final_round_rules(cfg, with_lcb=bootstrap))


@pytest.fixture(scope="module")
def boot_scored(spark):
    rows = [(case, *{**BOOT_BASE, **overrides}.values()) for case, overrides, _ in RULE_CASES]
    stats = spark.createDataFrame(rows, BOOT_SCHEMA)
    return rules.apply_rules(stats, _final_rules(BOOT_CFG, bootstrap=True)).persist()


def test_bootstrap_rules_at_their_boundaries(spark, boot_scored):
    expected = spark.createDataFrame([(case, status) for case, _, status in RULE_CASES],
                                     "id string, ratingStatus string")
    assert_df_equality(boot_scored.select("id", "ratingStatus"), expected, ignore_row_order=True, ignore_nullable=True)


def test_bootstrap_rules_explain_the_numbers(boot_scored):
    lcb = boot_scored.where(F.col("id") == "lcb_after_inertia").first()
    assert lcb.activeRules == "InitialNMR (v1.0),GeneralCRHInertia (v1.0),LcbCRH (v1.0)"
    assert ("LcbCRH: bootstrap lower bound (5% quantile of 20 runs) 0.200 < 0.31 -> NEEDS_MORE_RATINGS"
            in lcb.explanation)
    untouched = boot_scored.where(F.col("id") == "lcb_only_demotes_crh").first()
    assert "LcbCRH" not in untouched.activeRules
    ucb = boot_scored.where(F.col("id") == "ucb_below_threshold").first()
    assert "UcbCRNH: bootstrap upper bound (95% quantile of 20 runs) -0.040 < -0.04" in ucb.explanation


def test_extreme_mode_keeps_the_reference_rules():
    names = [rule.name for rule in _final_rules(ScoringConfig(), bootstrap=False)]
    assert "LcbCRH" not in names and names.index("UcbCRNH") == 3
    boot_names = [rule.name for rule in _final_rules(BOOT_CFG, bootstrap=True)]
    assert boot_names == names[:7] + ["LcbCRH"] + names[7:]  # right after GeneralCRHInertia


@pytest.mark.parametrize("kwargs, message", [
    ({"runs": 0}, "runs"),
    ({"pseudo_raters_per_side": 0}, "pseudo_raters_per_side"),
    ({"runs_per_fit": 0}, "runs_per_fit"),
    ({"lcb_quantile": 0.6, "ucb_quantile": 0.5}, "lcb_quantile <= ucb_quantile"),
    ({"ucb_quantile": 1.5}, "ucb_quantile"),
    ({"lcb_quantile": -0.1}, "lcb_quantile"),
    ({"crh_lcb_threshold": math.nan}, "crh_lcb_threshold"),
])
def test_bootstrap_config_is_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BootstrapConfig(**kwargs)


def test_mode_is_validated_and_bootstrap_needs_pseudo_raters():
    with pytest.raises(ValueError, match="pseudo_rater_mode"):
        ScoringConfig(pseudo_rater_mode="gaussian")
    assert not ScoringConfig().uses_bootstrap and BOOT_CFG.uses_bootstrap
    assert not ScoringConfig(pseudo_raters=False, pseudo_rater_mode="bootstrap").uses_bootstrap


def test_bootstrap_section_loads_from_yaml_and_overrides():
    cfg = load_config([{"scoring": {"pseudo_rater_mode": "bootstrap", "pseudo_bootstrap": {"runs": 8}}}],
                      ["scoring.pseudo_bootstrap.crh_lcb_threshold=0.35"])
    boot = cfg.scoring.pseudo_bootstrap
    assert cfg.scoring.uses_bootstrap and boot.runs == 8 and boot.crh_lcb_threshold == 0.35
    assert boot.lcb_quantile == 0.05  # untouched defaults stay
    with pytest.raises(ValueError, match="unknown keys in scoring.pseudo_bootstrap"):
        load_config([], ["scoring.pseudo_bootstrap.rounds=3"])
    with pytest.raises(ValueError, match="runs"):
        load_config([], ["scoring.pseudo_bootstrap.runs=0"])
    with pytest.raises(ValueError, match="pseudo_rater_mode"):
        load_config([], ["scoring.pseudo_rater_mode=random"])


def test_documented_section_of_conf_score_yml_is_valid():
    # The commented example in conf/score.yml, uncommented, must load and match the defaults.
    lines = (REPO / "conf" / "score.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#   pseudo_rater_mode:"))
    block = [lines[start], *takewhile(lambda line: line.startswith(("#   pseudo_bootstrap:", "#     ")),
                                      lines[start + 1:])]
    section = yaml.safe_load("\n".join(line[4:] for line in block))
    cfg = load_config([{"scoring": section}], [])
    assert cfg.scoring.pseudo_rater_mode == "extreme" and cfg.scoring.pseudo_bootstrap == BootstrapConfig()
