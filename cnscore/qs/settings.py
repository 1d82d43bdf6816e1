"""Sizes, seeds and knobs of the QS-MF evaluation harness (one frozen dataclass)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnscore.config import ConfigError, MFConfig


@dataclass(frozen=True)
class EvalConfig:
    """Everything the experiments need. The defaults are the full harness (about 3000 raters,
    600 notes, 60k ratings per dataset, five seeds); `EvalConfig.quick()` is a tiny version for
    CI. The MF settings (lambdas, qs_rounds, qs_gamma_lambda) come from `mf`; its `model` is
    ignored, since every experiment fits both models."""

    num_raters: int = 3000
    num_notes: int = 600
    num_ratings: int = 60_000
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)  # one synthetic dataset (and fit) per seed
    mf: MFConfig = field(default_factory=MFConfig)
    # a. synthetic ground truth (paper section 9)
    bad_fractions: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3)
    auc_min_ratings: tuple[int, ...] = (10, 20)  # AUC over raters with at least this many
    # b. untargeted corruption: injected raters rating random notes
    # attackers added, as a fraction of the honest raters (one corrupted dataset per value)
    attacker_fractions: tuple[float, ...] = (0.02, 0.05, 0.1)
    attacker_ratings: int = 30  # distinct random notes rated by each attacker
    attacker_modes: tuple[str, ...] = ("random", "inverted")
    # c. coordinated suppression: same-side raters rate the other side's top notes NOT_HELPFUL
    attack_sizes: tuple[int, ...] = (10, 25, 50, 100)  # raters in the group (nested groups)
    num_targets: int = 10  # attacked notes
    attacker_min_ratings: int = 5  # recruited raters have at least this many honest ratings
    # d. sample efficiency: the first n ratings of every note (by time) against all of them
    sample_sizes: tuple[int, ...] = (10, 20, 40, 80)
    efficiency_bad_fractions: tuple[float, ...] = (0.0, 0.2)
    efficiency_min_note_ratings: int = 160  # evaluated ("high-traffic") notes have this many
    # e. the Buterin-essay simulation
    buterin_seeds: int = 100
    buterin_num_raters: int = 100  # both camps together
    buterin_notes_per_group: int = 10  # notes per (kind, side)
    buterin_rating_prob: float = 0.5  # each (rater, note) pair is rated with this probability
    buterin_noise_sd: float = 0.5  # Gaussian noise on the essay's raw scores
    buterin_majority_shares: tuple[float, ...] = (0.5, 0.6)  # share of raters in camp A
    # diagnostics on planted data
    diagnostics_bad_fraction: float = 0.2
    permutations: int = 200

    def __post_init__(self) -> None:
        if min(self.num_raters, self.num_notes, self.num_ratings) < 1 or not self.seeds:
            raise ConfigError("EvalConfig: sizes must be >= 1 and seeds non-empty")
        if any(not 0.0 <= f < 1.0 for f in (*self.bad_fractions, *self.efficiency_bad_fractions)):
            raise ConfigError("EvalConfig: bad fractions must be in [0, 1)")
        if any(m not in ("random", "inverted") for m in self.attacker_modes):
            raise ConfigError(
                f"EvalConfig.attacker_modes: random|inverted, got {self.attacker_modes}")
        if any(not 0.0 < s < 1.0 for s in self.buterin_majority_shares):
            raise ConfigError("EvalConfig.buterin_majority_shares must be in (0, 1)")
        if not 0.0 < self.buterin_rating_prob <= 1.0:
            raise ConfigError("EvalConfig.buterin_rating_prob must be in (0, 1]")

    @classmethod
    def quick(cls) -> EvalConfig:
        """A tiny harness (seconds): for CI and `jobs.evaluate --quick`."""
        return cls(
            num_raters=800, num_notes=150, num_ratings=12_000, seeds=(1,),
            bad_fractions=(0.0, 0.2), auc_min_ratings=(10, 20),
            attacker_fractions=(0.05,), attacker_ratings=20, attack_sizes=(10, 40), num_targets=5,
            sample_sizes=(5, 10, 20), efficiency_bad_fractions=(0.2,),
            efficiency_min_note_ratings=60,
            buterin_seeds=4, buterin_num_raters=40, buterin_notes_per_group=4,
            buterin_majority_shares=(0.5,), permutations=50,
        )
