"""Which models the multi-model driver runs, from configuration alone (no Spark)."""

from __future__ import annotations

import dataclasses

import pytest

from cnscore.config import ConfigError, load_config
from cnscore.scoring.multi_model import SUPPORTED_ROLES, select_models, unsupported_reason
from jobs._models import DEFAULT_MODELS_FILE, load_models_file, selected_models

SPECS = load_models_file(DEFAULT_MODELS_FILE)


def test_the_default_runs_core_alone():
    assert [s.role for s in selected_models(load_config([], []))] == ["core"]


def test_roles_select_models_and_all_selects_every_enabled_one():
    chosen = selected_models(load_config([], ["models.run=[core, group, expansion]"]))
    assert {s.role for s in chosen} == {"core", "group", "expansion"}
    assert len([s for s in chosen if s.role == "group"]) == 17  # groups 1-14, 15, 18, 33
    every = select_models(SPECS, ["all"])
    assert len(every) == len(SPECS)
    disabled = [dataclasses.replace(s, enabled=False) if s.role == "expansion" else s for s in SPECS]
    assert "expansion" not in {s.role for s in select_models(disabled, ["all"])}


@pytest.mark.parametrize("run, message", [(["group"], "must include the core model"),
                                          (["core", "groups"], r"unknown roles \['groups'\]")])
def test_bad_selections_are_config_errors(run, message):
    with pytest.raises(ConfigError, match=message):
        select_models(SPECS, run)


def test_population_keys_in_the_scoring_section_are_refused():
    with pytest.raises(ConfigError, match="scoring.modeling_groups"):
        selected_models(load_config([], ["scoring.modeling_groups=[13]"]))


def test_support_is_decided_by_configured_fields():
    runnable = {s.name for s in SPECS if unsupported_reason(s) is None}
    assert runnable == {"MFExpansionPlusScorer", "MFExpansionScorer", "MFCoreWithTopicsScorer", "MFCoreScorer",
                        "MFMultiGroupScorer_1", "MFGroupScorer_33", "MFGroupScorer_18",
                        *(f"MFGroupScorer_{i}" for i in range(1, 15)),  # 14: with its normalized loss
                        *(f"MFTopicScorer_{t}" for t in ("UkraineConflict", "GazaConflict", "MessiRonaldo", "Scams")),
                        "GaussianGroupScorer_15", "GaussianTopicScorer_InDimensionTwo", "GaussianScorer",
                        "GaussianCoreWithTopicsScorer", "ReputationScorer"}
    assert runnable == {s.name for s in SPECS}  # every model of the file
    by_name = {s.name: s for s in SPECS}
    assert unsupported_reason(by_name["MFGroupScorer_14"]) is None
    assert by_name["MFGroupScorer_14"].normalized_loss is not None
    # The reputation MF goes with the reputation role only: its outputs are coverage columns and
    # rater reputations, not what another role's meta rules read.
    assert "role group with reputation_mf final" in unsupported_reason(
        dataclasses.replace(by_name["MFGroupScorer_1"], prescoring="reputation_mf", final="reputation_mf"))
    assert "role reputation with mf final" in unsupported_reason(
        dataclasses.replace(by_name["ReputationScorer"], prescoring="mf", final="mf"))
    # The normalized loss weighs an MF fit: a Gaussian final scoring has none.
    gaussian_14 = dataclasses.replace(by_name["MFGroupScorer_14"], final="gaussian")
    assert "normalized loss" in unsupported_reason(gaussian_14)
    # Gaussian final scoring needs MF or Core's prescoring under it.
    orphan = dataclasses.replace(by_name["GaussianScorer"], prescoring="reputation_mf")
    assert "reputation_mf prescoring / gaussian final" in unsupported_reason(orphan)
    # A renamed model keeps its verdict: names play no part.
    renamed = dataclasses.replace(by_name["ReputationScorer"], name="MFGroupScorer_1")
    assert unsupported_reason(renamed) is None
    assert unsupported_reason(dataclasses.replace(orphan, name="ReputationScorer")) is not None
    assert all(s.role in SUPPORTED_ROLES for s in SPECS if s.name in runnable)


def test_group_models_fit_in_one_worker_and_run_side_by_side():
    for spec in SPECS:
        engine = spec.mf_config(load_config([], []).mf).engine
        assert engine == ("auto" if spec.role in ("group", "multi_group") else "distributed"), spec.name
    assert load_config([], []).models.parallelism == 4
    with pytest.raises(ConfigError, match="models.parallelism"):
        load_config([], ["models.parallelism=0"])
