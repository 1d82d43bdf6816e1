"""Manipulation experiments: untargeted corruption (b) and coordinated suppression (c).

Both start from honest data: planted synthetic data without bad raters, or real ratings arrays
when given. Neither needs the planted truth, so they run the same on real data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cnscore.qs.common import (
    Fit,
    Ratings,
    append_raters,
    auc,
    fit_both,
    planted,
    zscore,
    zscored_mse,
)
from cnscore.qs.settings import EvalConfig


def honest_datasets(cfg: EvalConfig, real: Ratings | None) -> list[tuple[str, Ratings]]:
    """(source label, ratings): the real arrays once, or one planted honest dataset per seed."""
    if real is not None:
        return [("real", real)]
    sizes = (cfg.num_raters, cfg.num_notes, cfg.num_ratings)
    return [(f"synthetic-{seed}", planted(*sizes, seed).ratings) for seed in cfg.seeds]


def inject_random_raters(ratings: Ratings, num_attackers: int, per_attacker: int, mode: str,
                         rng: np.random.Generator) -> Ratings:
    """Add `num_attackers` raters, each rating `per_attacker` distinct random notes.

    mode "random": labels uniform over {0, 0.5, 1}. mode "inverted": the opposite of the honest
    consensus, 0 on notes whose honest mean label is above the median note's and 1 below (ties
    at the median get 0.5); the consensus is the data's own, so this works on real data too."""
    k = min(per_attacker, ratings.num_notes)
    picks = [rng.choice(ratings.num_notes, k, replace=False) for _ in range(num_attackers)]
    notes = np.concatenate(picks)
    raters = np.repeat(np.arange(num_attackers), k)
    if mode == "random":
        labels = rng.integers(0, 3, len(notes)) / 2.0
    elif mode == "inverted":
        total = np.bincount(ratings.note, ratings.label, ratings.num_notes)
        mean = total / np.bincount(ratings.note)
        median = np.median(mean)
        labels = np.where(mean[notes] > median, 0.0, np.where(mean[notes] < median, 1.0, 0.5))
    else:
        raise ValueError(f"unknown attacker mode {mode!r}")
    times = rng.integers(ratings.time.min(), ratings.time.max() + 1, len(notes))
    return append_raters(ratings, raters, notes, labels, times)


def untargeted_corruption(cfg: EvalConfig, real: Ratings | None = None) -> pd.DataFrame:
    """Experiment b: attackers rating random notes with random or inverted labels.

    One row per (source, mode, attacker fraction): source, mode, attackerFraction, numHonest,
    numAttackers, ratingsPerAttacker, auc (gamma, honest above attackers, all honest raters),
    auc20 (honest raters with >= 20 ratings), meanGammaAttackers, meanGammaHonest, and the
    shift of the note intercepts caused by the attack, each model against its own fit on the
    clean data (z-scored MSE): baselineShift, qsmfShift."""
    rows = []
    for source, ratings in honest_datasets(cfg, real):
        clean = fit_both(ratings, cfg.mf)
        honest_counts = ratings.rater_counts()
        for mode in cfg.attacker_modes:
            for fraction in cfg.attacker_fractions:
                rng = np.random.default_rng(len(rows))
                num_attackers = max(1, round(fraction * ratings.num_raters))
                attacked = inject_random_raters(
                    ratings, num_attackers, cfg.attacker_ratings, mode, rng)
                base, qs = fit_both(attacked, cfg.mf)
                honest, attackers = qs.gamma[: ratings.num_raters], qs.gamma[ratings.num_raters:]
                rows.append({
                    "source": source, "mode": mode, "attackerFraction": fraction,
                    "numHonest": ratings.num_raters, "numAttackers": num_attackers,
                    "ratingsPerAttacker": min(cfg.attacker_ratings, ratings.num_notes),
                    "auc": auc(honest, attackers),
                    "auc20": auc(honest[honest_counts >= 20], attackers),
                    "meanGammaAttackers": float(attackers.mean()),
                    "meanGammaHonest": float(honest.mean()),
                    "baselineShift": _shift(clean[0], base), "qsmfShift": _shift(clean[1], qs),
                })
    return pd.DataFrame(rows)


def _shift(clean: Fit, attacked: Fit) -> float:
    """z-scored MSE of the attacked fit's note intercepts against the clean fit's."""
    return zscored_mse(attacked.note_intercept, clean.note_intercept)


def suppression_plan(ratings: Ratings, clean: Fit, cfg: EvalConfig,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(targets, recruits): the attacked notes and the attackers in recruiting order.

    The attacking side is the larger camp of the clean baseline fit (sign of the rater
    factor); its recruits are raters of that side with >= cfg.attacker_min_ratings ratings, in a
    seeded random order (a group of size s is the first s, so groups are nested). The targets are
    the notes of the other side (opposite factor sign) with the highest clean baseline
    intercepts: the notes the model would show, which the attackers want hidden."""
    side = 1.0 if np.mean(clean.rater_factor > 0) >= 0.5 else -1.0
    active = ratings.rater_counts() >= cfg.attacker_min_ratings
    eligible = (np.sign(clean.rater_factor) == side) & active
    recruits = rng.permutation(np.flatnonzero(eligible))
    other = np.flatnonzero(np.sign(clean.note_factor) == -side)
    targets = other[np.argsort(-clean.note_intercept[other], kind="stable")[: cfg.num_targets]]
    return targets, recruits


def with_suppression(ratings: Ratings, attackers: np.ndarray, targets: np.ndarray) -> Ratings:
    """The ratings after every attacker rated every target NOT_HELPFUL (an attacker's earlier
    rating of a target is replaced: one rating per pair, as in the real data)."""
    pairs_u, pairs_n = np.repeat(attackers, len(targets)), np.tile(targets, len(attackers))
    key = ratings.rater * ratings.num_notes + ratings.note
    keep = ~np.isin(key, pairs_u * ratings.num_notes + pairs_n)
    attack_time = np.full(len(pairs_u), ratings.time.max() + 1)  # the attack comes last
    return Ratings(
        np.concatenate([ratings.rater[keep], pairs_u]),
        np.concatenate([ratings.note[keep], pairs_n]),
        np.concatenate([ratings.label[keep], np.zeros(len(pairs_u))]),
        np.concatenate([ratings.time[keep], attack_time]),
    )


def _displacement(clean: Fit, attacked: Fit, targets: np.ndarray) -> float:
    """Mean fall of the targets' z-scored intercepts (each fit z-scored over all its notes)."""
    fall = zscore(clean.note_intercept)[targets] - zscore(attacked.note_intercept)[targets]
    return float(np.mean(fall))


def coordinated_suppression(cfg: EvalConfig, real: Ratings | None = None) -> pd.DataFrame:
    """Experiment c: groups of same-side raters rate the other side's top notes NOT_HELPFUL.

    One row per (source, attack size): source, attackSize, numTargets, baselineDisplacement,
    qsmfDisplacement (mean fall of the targets' z-scored intercepts, each model against its own
    clean fit), protection = 1 - qsmf / baseline, meanGammaAttackers (QS-MF, after the
    attack), meanGammaAttackersClean (the same raters before it)."""
    rows = []
    for d, (source, ratings) in enumerate(honest_datasets(cfg, real)):
        clean_base, clean_qs = fit_both(ratings, cfg.mf)
        targets, recruits = suppression_plan(ratings, clean_base, cfg, np.random.default_rng(d))
        for size in cfg.attack_sizes:
            group = recruits[:size]
            base, qs = fit_both(with_suppression(ratings, group, targets), cfg.mf)
            b, q = _displacement(clean_base, base, targets), _displacement(clean_qs, qs, targets)
            rows.append({
                "source": source, "attackSize": len(group), "numTargets": len(targets),
                "baselineDisplacement": b, "qsmfDisplacement": q,
                "protection": 1.0 - q / b if b != 0 else float("nan"),
                "meanGammaAttackers": float(qs.gamma[group].mean()),
                "meanGammaAttackersClean": float(clean_qs.gamma[group].mean()),
            })
    return pd.DataFrame(rows)
