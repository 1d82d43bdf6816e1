"""Thresholds of the scoring pipeline, each defined once (reference defaults, shared docs/reference.md).

Times are epoch milliseconds. Model variants (Core today; expansion, groups, topics later) are
instances of ScoringConfig with other values, never code that checks a model's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cnscore.scoring.pseudo_bootstrap import BootstrapConfig
from cnscore.scoring.reputation_mf import DiligenceConfig
from cnscore.scoring.tag_consensus import TagConsensusConfig
from cnscore.scoring.topic_classifier import TopicClassifierConfig

PSEUDO_RATER_MODES = ("extreme", "bootstrap")


@dataclass(frozen=True)
class ScoringConfig:
    """One MF scorer's population, filters and status rules (defaults: the Core model)."""

    # Which model this is: used for output prefixes and decidedBy only.
    model_name: str = "core"
    model_version: str = "1.0"
    # Population (§4.4.1 / §5.1): raters whose modelingGroup is in these groups, plus raters
    # absent from enrollment when include_unassigned.
    modeling_groups: tuple[int, ...] = (1, 2, 3, 6, 8, 9, 10, 11, 13, 14, 19, 21, 25)
    include_unassigned: bool = True
    exclude_topic_notes: bool = True
    capture_threshold: float = 0.5  # share of a note's ratings from the population to output it

    # Preprocessing (§1.6)
    not_misleading_ui_launch_millis: int = 1664755200000  # 2022-10-03
    # Topics (§4.3): seed terms, then the bag-of-words classifier (cnscore/scoring/topic_classifier.py).
    topic_classifier: TopicClassifierConfig = field(default_factory=TopicClassifierConfig)

    # Prescoring (§4.4)
    min_ratings_per_note: int = 5
    min_ratings_per_rater: int = 10
    stable_init: bool = True
    # False (topic models): one MF round, no helpfulness filter, no harassment model; final
    # scoring uses every rater with prescoring parameters (§4.4, after 4.4.12).
    use_reputation: bool = True
    stable_init_group: int = 13
    stable_init_group_share: float = 0.75
    max_first_round_train_error: float = 0.16  # checked only with >= min_notes_for_prod_checks
    min_notes_for_prod_checks: int = 200

    # Valid ratings and rater helpfulness (§4.4.5-4.4.8)
    public_tsv_delay_millis: int = 172_800_000  # 48 h
    tombstones_launch_millis: int = 1652918400000  # 2022-05-19
    max_historical_valid_ratings: int = 5
    crnh_multiplier: float = 5.0
    min_mean_note_score: float = 0.05
    min_crh_vs_crnh_ratio: float = 0.0
    min_rater_agree_ratio: float = 0.66
    harassment_min_intercept: float = 2.0
    harassment_penalty: float = 10.0
    harassment_multiply_by_score: bool = True
    harassment: TagConsensusConfig = field(default_factory=TagConsensusConfig)  # the tag-consensus model (§4.4.7)

    # Status rules (§4.6)
    min_ratings_for_status: int = 5
    crh_threshold: float = 0.40
    crnh_intercept: float = -0.05
    crnh_factor_multiplier: float = 0.8
    nm_crnh_threshold: float = -0.15
    ucb_crnh_threshold: float = -0.04
    ratio_crnh_min_side_count: int = 3
    ratio_crnh_max_side_mean: float = 0.4
    ratio_crnh_max_mean: float = 0.3
    crh_inertia_delta: float = 0.01
    max_crh_factor: float = 0.5
    firm_reject_threshold: float | None = 0.3
    low_diligence_threshold: float = 0.263
    diligence: DiligenceConfig = field(default_factory=DiligenceConfig)  # the low-diligence model (§5.6)
    min_net_helpful: int | None = 4
    min_net_helpful_ratio: float | None = 0.05
    net_helpful_ratio_exempt_at: int = 10  # netMinHelpful >= this skips the ratio test
    no_high_vol_threshold: float = 0.37
    no_correlated_threshold: float = 0.37
    pseudo_raters: bool = True
    # "extreme": the reference's three helpful pseudo-raters, UcbCRNH reads their max intercept.
    # "bootstrap": refits with random extreme pseudo-votes (issue 3); UcbCRNH reads their UCB and
    # LcbCRH demotes CRH notes whose LCB is low (cnscore/scoring/pseudo_bootstrap.py).
    pseudo_rater_mode: Literal["extreme", "bootstrap"] = "extreme"
    pseudo_bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    population_sampled_loss_ratio: float = 10.0

    # Tag outlier filter (§4.7)
    tag_normalization_percentile: float = 40.0
    tag_filter_percentile: float = 95.0
    min_adjusted_tag_total: float = 2.5
    tag_filter_excluded_tags: tuple[str, ...] = ("notHelpfulHardToUnderstand",)

    # Incorrect filter (§4.8)
    incorrect_factor_clip: float = 0.4
    incorrect_interval_half_width: float = 0.3
    incorrect_min_tags: int = 2
    incorrect_min_voters: int = 3
    incorrect_min_tfidf: float = 2.5

    # Post-scoring (§4.12-4.15)
    explanation_min_raters_per_tag: int = 2
    min_stable_crh_millis: int = 30 * 60 * 1000
    lock_after_millis: int = 14 * 24 * 3600 * 1000

    def __post_init__(self) -> None:
        # YAML gives lists; keep the frozen config hashable.
        for name in ("modeling_groups", "tag_filter_excluded_tags"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name in ("capture_threshold", "stable_init_group_share", "min_rater_agree_ratio"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"ScoringConfig.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.pseudo_rater_mode not in PSEUDO_RATER_MODES:
            raise ValueError(f"ScoringConfig.pseudo_rater_mode must be one of {PSEUDO_RATER_MODES}, "
                             f"got {self.pseudo_rater_mode!r}")

    @property
    def uses_bootstrap(self) -> bool:
        """Whether final scoring runs the bootstrap pseudo-raters (and their rules)."""
        return self.pseudo_raters and self.pseudo_rater_mode == "bootstrap"
