"""The model list (conf/models.yml) loads into valid ModelSpecs; mistakes fail loudly (§5.1)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml

from cnscore.config import ConfigError, MFConfig
from cnscore.scoring.gaussian_kernel import GaussianConfig
from cnscore.scoring.models import ROLES, ModelSpec, load_models, single_role
from cnscore.scoring.reputation_mf import HelpfulnessReputationConfig
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status_history import LOCKABLE_RULES
from jobs._models import load_models_file

MODELS_FILE = Path(__file__).resolve().parents[2] / "conf" / "models.yml"
DOC = yaml.safe_load(MODELS_FILE.read_text())
SPECS = load_models(DOC)
BY_NAME = {s.name: s for s in SPECS}
CORE_GROUPS = (1, 2, 3, 6, 8, 9, 10, 11, 13, 14, 19, 21, 25)


def _doc_with(model_index: int, **changes) -> dict:
    doc = copy.deepcopy(DOC)
    doc["models"][model_index] = {**doc["models"][model_index], **changes}
    return doc


def test_every_reference_model_is_listed_once_and_valid():
    assert len(SPECS) == 30 and len(BY_NAME) == 30
    assert {s.role for s in SPECS} == set(ROLES)
    assert all(isinstance(s, ModelSpec) and isinstance(s.scoring, ScoringConfig) for s in SPECS)
    groups = sorted(s.group_id for s in SPECS if s.role == "group")
    assert groups == [*range(1, 16), 18, 33]
    assert sorted(s.topic.name for s in SPECS if s.role == "topic") == [
        "GazaConflict", "InDimensionTwo", "MessiRonaldo", "Scams", "UkraineConflict"]
    for spec in SPECS:  # MF overrides are valid MFConfig values
        assert isinstance(spec.mf_config(MFConfig()), MFConfig)
    assert load_models_file(MODELS_FILE) == SPECS  # the jobs' reader gives the same models


def test_core_is_the_scoring_config_defaults():
    core = single_role(SPECS, "core")
    assert core is not None and core.name == "MFCoreScorer"
    assert core.scoring == dataclasses.replace(ScoringConfig(), model_name="core", model_version="v1.1")
    assert core.rule_label == "CoreModel (v1.1)" and core.status_col == "coreRatingStatus"
    guard = core.population_sampled
    assert (guard.min_ratings, guard.min_per_sign, guard.max_intercept, guard.min_divergence) == (8, 2, 0.30, 0.15)


def test_populations_and_capture_thresholds_follow_the_spec():
    expansion, plus = BY_NAME["MFExpansionScorer"].scoring, BY_NAME["MFExpansionPlusScorer"].scoring
    assert set(expansion.modeling_groups) == set(CORE_GROUPS) | {0, 4, 5, 7, 12, 15, 16, 20, 22, 23, 24, 26,
                                                                  27, 28, 29, 33}
    assert set(plus.modeling_groups) == set(expansion.modeling_groups) | {17, 18, 30, 31, 32}
    assert plus.capture_threshold == 0.0 and plus.firm_reject_threshold is None  # all notes
    assert not expansion.pseudo_raters and expansion.firm_reject_threshold == 0.3
    cwt = BY_NAME["MFCoreWithTopicsScorer"].scoring
    assert not cwt.exclude_topic_notes and cwt.firm_reject_threshold is None
    assert BY_NAME["GaussianScorer"].scoring.modeling_groups == tuple(g for g in CORE_GROUPS if g != 21)
    multi = BY_NAME["MFMultiGroupScorer_1"]
    assert multi.scoring.modeling_groups == (4, 5, 7, 12, 26) and multi.group_id == 1
    for i in range(1, 14):
        group = BY_NAME[f"MFGroupScorer_{i}"]
        assert group.scoring.modeling_groups == (i,) and group.scoring.capture_threshold == 0.8
        assert not group.scoring.include_unassigned and not group.scoring.stable_init
        assert group.promotion.min_intercept == 0.3 and group.promotion.below_crh
    assert BY_NAME["MFGroupScorer_33"].selection.strict_inclusion
    topic = BY_NAME["MFTopicScorer_Scams"]
    assert topic.selection.all_raters and not topic.use_reputation and topic.topic.min_ratings_per_side == 5


def test_trial_groups_carry_their_overrides():
    g14 = BY_NAME["MFGroupScorer_14"]
    assert (g14.scoring.crh_threshold, g14.scoring.capture_threshold, g14.scoring.max_crh_factor) == (0.15, 0.51, 0.4)
    assert g14.promotion.min_intercept == 0.25 and not g14.promotion.below_crh
    mf = g14.mf_config(MFConfig())
    assert (mf.note_intercept_lambda, mf.rater_factor_lambda, mf.diamond_lambda) == (0.90, 0.0075, 0.75)
    assert g14.normalized_loss.rater_norm_exp == -0.25
    assert mf.normalized_loss == g14.normalized_loss  # it reaches every MF fit of the model
    assert all(s.mf_config(MFConfig()).normalized_loss is None for s in SPECS if s is not g14)
    g18, g15 = BY_NAME["MFGroupScorer_18"], BY_NAME["GaussianGroupScorer_15"]
    assert g18.rule is None and g18.demote_label == "GroupModel18NMR (v1.1)"
    assert g15.final == "gaussian" and g15.scoring.crh_threshold == 0.25
    in2 = BY_NAME["GaussianTopicScorer_InDimensionTwo"]
    assert in2.mf_config(MFConfig()).fit_global_intercept is False
    assert (in2.topic.demote_below_intercept, in2.topic.demote_above_abs_factor) == (0.51, 1.0)


def test_lockable_labels_match_the_status_history_list():
    labels = {label for s in SPECS if s.lockable for label in (s.rule_label, s.demote_label) if label}
    assert labels <= set(LOCKABLE_RULES)
    assert "ExpansionPlusModel (v1.1)" not in labels and "TopicModel01 (v1.0)" not in labels


def test_base_config_reaches_every_model_but_model_overrides_win():
    specs = {s.name: s for s in load_models(DOC, base=ScoringConfig(crh_threshold=0.45))}
    assert specs["MFCoreScorer"].scoring.crh_threshold == 0.45
    assert specs["MFGroupScorer_1"].scoring.crh_threshold == 0.45
    assert specs["MFGroupScorer_14"].scoring.crh_threshold == 0.15


CORE = 3  # index of MFCoreScorer in conf/models.yml
GROUP_1 = 5
GAUSSIAN = next(i for i, m in enumerate(DOC["models"]) if m["name"] == "GaussianScorer")
GROUP_14 = next(i for i, m in enumerate(DOC["models"]) if m["name"] == "MFGroupScorer_14")
TRIAL_LOSS = DOC["models"][GROUP_14]["normalized_loss"]
REPUTATION = next(i for i, m in enumerate(DOC["models"]) if m["role"] == "reputation")


def test_gaussian_models_carry_the_kernel_settings_with_per_model_overrides():
    assert BY_NAME["GaussianScorer"].gaussian == GaussianConfig()
    assert BY_NAME["GaussianScorer"].prescoring == "core" and BY_NAME["MFCoreScorer"].gaussian is None
    assert all(s.gaussian is not None for s in SPECS if s.final == "gaussian")
    changed = load_models(_doc_with(GAUSSIAN, gaussian={"crh": {"bandwidth": 0.05}, "min_raters_per_sign": 2}))
    spec = next(s for s in changed if s.name == "GaussianScorer")
    assert spec.gaussian.crh.bandwidth == 0.05 and spec.gaussian.min_raters_per_sign == 2
    assert spec.gaussian.crnh == GaussianConfig().crnh  # untouched settings keep the defaults


def test_the_reputation_model_carries_the_reference_hyperparameters_with_overrides():
    assert BY_NAME["ReputationScorer"].reputation_mf == HelpfulnessReputationConfig()
    assert all((s.reputation_mf is not None) == (s.final == "reputation_mf") for s in SPECS)
    changed = load_models(_doc_with(REPUTATION, reputation_mf={"l2": 0.02, "max_epochs": 50}))
    spec = next(s for s in changed if s.role == "reputation")
    assert (spec.reputation_mf.l2, spec.reputation_mf.max_epochs) == (0.02, 50)
    assert spec.reputation_mf.loss == "mse"  # untouched settings keep the reference's


@pytest.mark.parametrize(
    "doc, message",
    [
        (_doc_with(CORE, colour="blue"), r"unknown keys in models\[3\] \(MFCoreScorer\): \['colour'\]"),
        (_doc_with(CORE, scoring={"crh_treshold": 0.4}), r"unknown keys in .*scoring: \['crh_treshold'\]"),
        (_doc_with(CORE, scoring={"diligence": {"lr": 1}}), r"scoring.diligence: \['lr'\]"),
        (_doc_with(CORE, mf={"lambda": 0.1}), r"unknown keys in .*mf: \['lambda'\]"),
        (_doc_with(CORE, mf={"num_factors": 0}), "num_factors"),
        (_doc_with(CORE, scoring={"crh_threshold": "high"}), "must be a number"),
        (_doc_with(CORE, scoring={"capture_threshold": 0.6}), "under `selection`"),
        (_doc_with(CORE, selection={"capture_threshold": 1.5}), "capture_threshold must be in"),
        (_doc_with(CORE, selection={"modeling_groups": ["kore"]}), "unknown rater group 'kore'"),
        (_doc_with(CORE, selection={"everyone": True}), r"selection: \['everyone'\]"),
        (_doc_with(CORE, role="boss"), "unknown role 'boss'"),
        (_doc_with(CORE, name="MFExpansionScorer"), "duplicate name 'MFExpansionScorer'"),
        (_doc_with(CORE, rule="ExpansionModel"), r"duplicate rule 'ExpansionModel \(v1.1\)'"),
        (_doc_with(CORE, version=1.1), "version must look like"),
        (_doc_with(CORE, final="magic"), "prescoring/final"),
        (_doc_with(CORE, gaussian={"min_raters_per_sign": 2}), "final algorithm is gaussian"),
        (_doc_with(GAUSSIAN, gaussian={"bandwith": 0.1}), r"gaussian: \['bandwith'\]"),
        (_doc_with(GAUSSIAN, gaussian={"crh": {"bandwidth": -1.0}}), "bandwidth"),
        (_doc_with(CORE, reputation_mf={"l2": 0.02}), "final algorithm is reputation_mf"),
        (_doc_with(REPUTATION, reputation_mf={"lr": 0.1}), r"reputation_mf: \['lr'\]"),
        (_doc_with(REPUTATION, reputation_mf={"loss": "hinge"}), "loss must be one of"),
        (_doc_with(REPUTATION, reputation_mf={"max_epochs": 0}), "max_epochs"),
        (_doc_with(CORE, promotion={"min_intercept": 0.3, "below_crh": True}), "for group models"),
        (_doc_with(GROUP_1, group_id=None), "group_id"),
        (_doc_with(GROUP_1, group_id=2), "duplicate group group_id 2"),
        (_doc_with(GROUP_1, promotion=None), "promote `rule` needs `promotion`"),
        (_doc_with(GROUP_1, promotion={"min_intercept": 0.3}), "below_crh"),
        (_doc_with(GROUP_1, promotion={"min_intercept": 0.3, "below_crh": True, "max": 1}), r"\['max'\]"),
        (_doc_with(GROUP_14, normalized_loss={"global_sign_norm": True}), "normalized_loss"),
        (_doc_with(GROUP_14, normalized_loss={**TRIAL_LOSS, "rater_norm_exp": float("inf")}),
         "rater_norm_exp must be finite"),
        (_doc_with(GROUP_14, normalized_loss={**TRIAL_LOSS, "note_sign_alpha": -1.0}), "note_sign_alpha"),
        (_doc_with(GROUP_14, normalized_loss={**TRIAL_LOSS, "global_sign_norm": 2}), "true or false"),
        (_doc_with(GROUP_14, mf={"model": "qsmf"}), r"MFGroupScorer_14.*normalized_loss is supported only"),
        (_doc_with(GROUP_14, mf={"normalized_loss": TRIAL_LOSS}), "not both"),
        ({**DOC, "extra": 1}, r"unknown keys in models file: \['extra'\]"),
        ({"rater_groups": {}}, "non-empty list"),
    ],
)
def test_mistakes_raise_config_errors_naming_the_key(doc, message):
    with pytest.raises(ConfigError, match=message):
        load_models(doc)


def test_two_enabled_core_models_are_refused_but_a_disabled_one_is_fine():
    second = {**DOC["models"][CORE], "name": "MFCoreScorer2", "rule": "CoreModel2", "population_sampled": None}
    with pytest.raises(ConfigError, match="at most one enabled core model"):
        load_models({**DOC, "models": [*DOC["models"], second]})
    specs = load_models({**DOC, "models": [*DOC["models"], {**second, "enabled": False}]})
    assert single_role(specs, "core").name == "MFCoreScorer"
