from __future__ import annotations

import pytest

from cnscore.config import ConfigError, MFConfig, NormalizedLoss, load_config


def test_defaults_yaml_and_overrides_compose():
    cfg = load_config([{"mf": {"num_factors": 2}}, {"mf": {"seed": 5}}],
                      ["mf.tolerance=1e-9", "output.format=parquet", "mf.rating_per_note_loss_ratio=null"])
    assert cfg.mf.num_factors == 2 and cfg.mf.seed == 5
    assert cfg.mf.tolerance == 1e-9 and cfg.output.format == "parquet"
    assert cfg.mf.rating_per_note_loss_ratio is None
    assert cfg.mf.note_intercept_lambda == MFConfig().note_intercept_lambda


@pytest.mark.parametrize(
    "override, message",
    [
        ("mf.num_factor=2", "unknown keys"),
        ("mf.num_factors=0", "num_factors"),
        ("mf.note_factor_lambda=-1", "note_factor_lambda"),
        ("mf.max_sweeps=abc", "must be a number"),
        ("mf.fit_global_intercept=3", "true or false"),
        ("output.format=csv", "output.format"),
        ("input.bad_rows=ignore", "bad_rows"),
        ("mf.diamond_lambda=0.5", None),
        ("nonsense", "section.key=value"),
    ],
)
def test_bad_values_are_rejected_with_the_key_named(override, message):
    if message is None:  # valid on its own
        assert load_config([], [override]).mf.diamond_lambda == 0.5
        return
    with pytest.raises(ConfigError, match=message):
        load_config([], [override])


def test_a_normalized_loss_can_be_set_in_the_mf_section():
    trial = {"global_sign_norm": True, "note_sign_alpha": None, "note_norm_exp": 0, "rater_norm_exp": "-0.25"}
    loss = load_config([{"mf": {"normalized_loss": trial}}], []).mf.normalized_loss
    assert loss == NormalizedLoss(True, None, 0.0, -0.25)
    assert load_config([], []).mf.normalized_loss is None
    with pytest.raises(ConfigError, match=r"missing keys \['rater_norm_exp'\]"):
        load_config([{"mf": {"normalized_loss": {k: v for k, v in trial.items() if k != "rater_norm_exp"}}}], [])
    with pytest.raises(ConfigError, match="only with model 'standard'"):
        MFConfig(model="qsmf", normalized_loss=loss)


def test_diamond_needs_rank_one():
    with pytest.raises(ConfigError, match="diamond"):
        MFConfig(num_factors=2, diamond_lambda=0.1)


def test_scoring_section_from_yaml_and_overrides():
    cfg = load_config([{"scoring": {"modeling_groups": [13], "pseudo_raters": False}}],
                      ["scoring.crh_threshold=0.41", "scoring.firm_reject_threshold=null"])
    assert cfg.scoring.modeling_groups == (13,) and cfg.scoring.pseudo_raters is False
    assert cfg.scoring.crh_threshold == 0.41 and cfg.scoring.firm_reject_threshold is None


def test_diligence_model_is_a_nested_scoring_section():
    cfg = load_config([{"scoring": {"diligence": {"pos_weight": 50}}}], ["scoring.diligence.enabled=false"])
    assert cfg.scoring.diligence.enabled is False and cfg.scoring.diligence.pos_weight == 50.0
    assert cfg.scoring.diligence.learning_rate == 0.2  # untouched defaults stay
    with pytest.raises(ConfigError, match="unknown keys in scoring.diligence"):
        load_config([{"scoring": {"diligence": {"lr": 1}}}], [])


def test_scoring_shares_must_be_fractions():
    with pytest.raises(ValueError, match="capture_threshold"):
        load_config([], ["scoring.capture_threshold=1.5"])
