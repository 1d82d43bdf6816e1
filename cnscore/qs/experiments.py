"""The QS-MF evaluation harness: one function per experiment, each returning a pandas table.

a. `synthetic_ground_truth`: planted bad raters (paper section 9).
b. `untargeted_corruption`: injected attackers rating random notes (cnscore.qs.attacks).
c. `coordinated_suppression`: same-side groups hiding the other side's best notes (attacks).
d. `sample_efficiency`: note quality from the first n ratings of each note.
e. `buterin_simulation`: the two-camp example from Buterin's essay (cnscore.qs.buterin).
plus `rater_diagnostics`: the baseline-slope diagnostics (cnscore.qs.diagnostics) on planted
data.

Every experiment fits both models in memory (cnscore.mf.local) from the same seeded initial
state, with the lambdas and QS settings of `EvalConfig.mf`. Sizes and seeds are in EvalConfig;
`EvalConfig.quick()` runs everything in seconds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from cnscore.qs import diagnostics
from cnscore.qs.attacks import coordinated_suppression, untargeted_corruption
from cnscore.qs.buterin import buterin_simulation
from cnscore.qs.common import Ratings, auc, fit_both, planted, subset, zscored_mse
from cnscore.qs.settings import EvalConfig
from cnscore.synthetic import BAD_KINDS

__all__ = [
    "EXPERIMENTS", "EvalConfig", "buterin_simulation", "coordinated_suppression",
    "rater_diagnostics", "run_experiment", "sample_efficiency", "synthetic_ground_truth",
    "untargeted_corruption",
]


def synthetic_ground_truth(cfg: EvalConfig) -> pd.DataFrame:
    """Experiment a: note-quality recovery and bad-rater detection with planted bad raters.

    One row per (badFraction, seed): numRaters, numBad (raters with ratings), baselineMse and
    qsmfMse (z-scored MSE of the note intercepts against the planted quality), mseReduction
    (1 - qsmf / baseline), for each m in cfg.auc_min_ratings auc<m>, numBad<m> and slopeAuc<m>
    (AUC of QS-MF's gamma, and of the baseline slope of cnscore.qs.diagnostics, good above bad,
    over raters with >= m ratings; NaN without bad raters), meanGammaGood,
    meanGammaBad and meanGamma_<kind> for each bad kind (raters with >= the smallest m)."""
    rows = []
    for fraction in cfg.bad_fractions:
        for seed in cfg.seeds:
            data = planted(cfg.num_raters, cfg.num_notes, cfg.num_ratings, seed, fraction)
            base, qs = fit_both(data.ratings, cfg.mf, seed)
            counts, good = data.ratings.rater_counts(), data.kind == "good"
            row = {
                "badFraction": fraction, "seed": seed, "numRaters": data.ratings.num_raters,
                "numBad": int((~good).sum()),
                "baselineMse": zscored_mse(base.note_intercept, data.quality),
                "qsmfMse": zscored_mse(qs.note_intercept, data.quality),
            }
            row["mseReduction"] = 1.0 - row["qsmfMse"] / row["baselineMse"]
            slope = diagnostics.rater_slopes(data.ratings, base)["slope"].to_numpy()
            for m in cfg.auc_min_ratings:
                active = counts >= m
                row[f"auc{m}"] = auc(qs.gamma[active & good], qs.gamma[active & ~good])
                row[f"numBad{m}"] = int((active & ~good).sum())
                # The same separation by the baseline diagnostic (centered OLS slope).
                ok = active & np.isfinite(slope)
                row[f"slopeAuc{m}"] = auc(slope[ok & good], slope[ok & ~good])
            active = counts >= min(cfg.auc_min_ratings)
            row["meanGammaGood"] = _mean(qs.gamma[active & good])
            row["meanGammaBad"] = _mean(qs.gamma[active & ~good])
            for kind in BAD_KINDS:
                row[f"meanGamma_{kind}"] = _mean(qs.gamma[active & (data.kind == kind)])
            rows.append(row)
    return pd.DataFrame(rows)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")


def first_ratings(ratings: Ratings, n: int) -> np.ndarray:
    """Mask of each note's first n ratings by rating time (ties by position)."""
    order = np.lexsort((np.arange(len(ratings.note)), ratings.time, ratings.note))
    sorted_notes = ratings.note[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_notes)) + 1]
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    keep = np.empty(len(order), dtype=bool)
    keep[order] = rank < n
    return keep


def sample_efficiency(cfg: EvalConfig) -> pd.DataFrame:
    """Experiment d: note quality from each note's first n ratings (by time).

    Every note keeps its first n ratings (so the model stays the same size); the error is
    measured on the high-traffic notes (>= cfg.efficiency_min_note_ratings ratings). One row per
    (badFraction, seed, n): numEvalNotes; baselineError and qsmfError (z-scored MSE against the
    same model's estimate from all ratings, the paper's protocol); baselineTruthError and
    qsmfTruthError (against the planted quality); baselineNForQsmfError (the n at which the
    baseline reaches QS-MF's error at this n, interpolated in log n; NaN outside the range) and
    ratingsSaved = 1 - n / baselineNForQsmfError (negative: QS-MF needs more)."""
    rows = []
    for fraction in cfg.efficiency_bad_fractions:
        for seed in cfg.seeds:
            data = planted(cfg.num_raters, cfg.num_notes, cfg.num_ratings, seed, fraction)
            full_base, full_qs = fit_both(data.ratings, cfg.mf, seed)
            evaluated = np.bincount(data.ratings.note) >= cfg.efficiency_min_note_ratings
            block = []
            for n in cfg.sample_sizes:
                part, _, notes = subset(data.ratings, first_ratings(data.ratings, n))
                base, qs = fit_both(part, cfg.mf, seed)
                # Every note keeps >= 1 rating, so `notes` is 0..N-1 and indices line up.
                if len(notes) != data.ratings.num_notes:
                    raise RuntimeError("a note lost all its ratings in the subset")
                e = evaluated
                block.append({
                    "badFraction": fraction, "seed": seed, "n": n, "numEvalNotes": int(e.sum()),
                    "baselineError": zscored_mse(base.note_intercept[e],
                                                 full_base.note_intercept[e]),
                    "qsmfError": zscored_mse(qs.note_intercept[e], full_qs.note_intercept[e]),
                    "baselineTruthError": zscored_mse(base.note_intercept[e], data.quality[e]),
                    "qsmfTruthError": zscored_mse(qs.note_intercept[e], data.quality[e]),
                })
            rows.extend(_with_equivalent_n(block))
    return pd.DataFrame(rows)


def _with_equivalent_n(block: list[dict]) -> list[dict]:
    """Add baselineNForQsmfError and ratingsSaved to one (fraction, seed) block."""
    log_n = np.log([row["n"] for row in block])
    base_err = np.array([row["baselineError"] for row in block])
    for row in block:
        target = row["qsmfError"]
        found = float("nan")
        # The baseline's error falls with n; find the segment that crosses the QS-MF error.
        for i in range(len(block) - 1):
            hi, lo = base_err[i], base_err[i + 1]
            if min(hi, lo) <= target <= max(hi, lo) and hi != lo:
                t = (hi - target) / (hi - lo)
                found = float(np.exp(log_n[i] + t * (log_n[i + 1] - log_n[i])))
                break
        row["baselineNForQsmfError"] = found
        row["ratingsSaved"] = 1.0 - row["n"] / found if np.isfinite(found) else float("nan")
    return block


def rater_diagnostics(cfg: EvalConfig) -> dict[str, pd.DataFrame]:
    """The baseline-slope diagnostics on planted data with cfg.diagnostics_bad_fraction bad
    raters (first seed): {"diagnostics_slopes" (per rater, with its planted kind),
    "diagnostics_reliability", "diagnostics_dispersion"}."""
    seed = cfg.seeds[0]
    data = planted(cfg.num_raters, cfg.num_notes, cfg.num_ratings, seed,
                   cfg.diagnostics_bad_fraction)
    base, qs = fit_both(data.ratings, cfg.mf, seed)
    out = diagnostics.diagnose(data.ratings, base, seed=seed, num_permutations=cfg.permutations)
    slopes = out["slopes"].assign(kind=data.kind, qsmfGamma=qs.gamma)
    return {"diagnostics_slopes": slopes, "diagnostics_reliability": out["reliability"],
            "diagnostics_dispersion": out["dispersion"]}


# name -> function of (cfg, real ratings or None) returning {table name: table}
EXPERIMENTS: dict[str, Callable[[EvalConfig, Ratings | None], dict[str, pd.DataFrame]]] = {
    "ground_truth": lambda cfg, real: {"ground_truth": synthetic_ground_truth(cfg)},
    "untargeted": lambda cfg, real: {"untargeted": untargeted_corruption(cfg, real)},
    "suppression": lambda cfg, real: {"suppression": coordinated_suppression(cfg, real)},
    "efficiency": lambda cfg, real: {"efficiency": sample_efficiency(cfg)},
    "buterin": lambda cfg, real: {"buterin": buterin_simulation(cfg)},
    "diagnostics": lambda cfg, real: rater_diagnostics(cfg),
}


def run_experiment(name: str, cfg: EvalConfig,
                   real: Ratings | None = None) -> dict[str, pd.DataFrame]:
    """Run one experiment of EXPERIMENTS by name; returns its tables by name."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; known: {sorted(EXPERIMENTS)}")
    return EXPERIMENTS[name](cfg, real)
