"""Experiment e: the simple simulation from Vitalik Buterin's essay on Community Notes.

Two camps, A and B. "Good" notes get +2 from their own side and 0 from the other; "good but
more extreme" notes get +4 from their own side and -2 from the other. Both kinds average +1
over two equal camps: does the model give the extreme notes a higher (or lower) intercept?

Labels. The engine's penalties are defined on the helpfulNum scale [0, 1], so we fit
helpfulNum = (score + 2) / 6, the affine map taking the essay's scores {-2, 0, +2, +4} to
{0, 1/3, 2/3, 1}. An affine map of the labels maps the least-squares solution the same way
(mu absorbs the shift; intercepts and factor products scale by 1/6), so the intercepts are
reported on that scale and, multiplied by 6, on the essay's raw scale (exact up to the
regularization, which acts on the mapped scale as it would on real labels). The Gaussian noise
added to the raw scores can put a label slightly outside [0, 1]; least squares does not mind,
and clipping would break the affine correspondence.

Each (rater, note) pair is rated with cfg.buterin_rating_prob, so seeds differ in who rated
what as well as in the noise. With unequal camps (share of camp A > 0.5) a note's side matters,
so the table keeps the side of the note (the majority camp's notes vs the minority's).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cnscore.qs.common import Ratings, fit_both
from cnscore.qs.settings import EvalConfig

# kind -> (score from the note's own side, score from the other side)
SCORES = {"good": (2.0, 0.0), "extreme": (4.0, -2.0)}
RAW_SCALE = 6.0  # helpfulNum = (score + 2) / RAW_SCALE


def essay_ratings(cfg: EvalConfig, share: float, seed: int) -> tuple[Ratings, pd.DataFrame]:
    """One simulated dataset and its notes (noteIdx, kind, side in {"A", "B"})."""
    rng = np.random.default_rng(seed)
    num_a = round(share * cfg.buterin_num_raters)
    rater_side = np.r_[np.ones(num_a), -np.ones(cfg.buterin_num_raters - num_a)]
    groups = [(kind, side) for kind in SCORES for side in ("A", "B")]
    notes = pd.DataFrame(
        [(kind, side) for kind, side in groups for _ in range(cfg.buterin_notes_per_group)],
        columns=["kind", "side"],
    )
    notes.insert(0, "noteIdx", np.arange(len(notes)))
    note_side = np.where(notes["side"] == "A", 1.0, -1.0)
    own = notes["kind"].map({k: v[0] for k, v in SCORES.items()}).to_numpy()
    other = notes["kind"].map({k: v[1] for k, v in SCORES.items()}).to_numpy()
    u, n = np.meshgrid(np.arange(len(rater_side)), np.arange(len(notes)), indexing="ij")
    u, n = u.ravel(), n.ravel()
    rated = rng.random(len(u)) < cfg.buterin_rating_prob
    # Keep every rater and note present (dense indices): each rates / is rated at least once.
    rated |= (n == u % len(notes)) | (u == n % len(rater_side))
    u, n = u[rated], n[rated]
    score = np.where(rater_side[u] == note_side[n], own[n], other[n])
    score = score + rng.normal(0.0, cfg.buterin_noise_sd, len(score))
    label = (score + 2.0) / RAW_SCALE
    return Ratings(u.astype(np.int64), n.astype(np.int64), label, np.zeros(len(u), np.int64)), notes


def buterin_simulation(cfg: EvalConfig) -> pd.DataFrame:
    """Mean note intercept of each kind over cfg.buterin_seeds seeds, for both models.

    One row per (majorityShare, model, kind, noteSide): noteSide is "majority" (camp A's notes)
    or "minority"; with equal camps the two are symmetric. Columns: meanIntercept and
    sdIntercept (over seeds of the per-seed mean i_n of the group, helpfulNum scale),
    meanInterceptRaw (x 6: the essay's scale), meanAbsFactor, numSeeds."""
    records = []
    for share in cfg.buterin_majority_shares:
        for seed in range(cfg.buterin_seeds):
            ratings, notes = essay_ratings(cfg, share, seed)
            for model, fit in zip(("baseline", "qsmf"), fit_both(ratings, cfg.mf, seed)):
                frame = notes.assign(intercept=fit.note_intercept,
                                     absFactor=np.abs(fit.note_factor))
                means = frame.groupby(["kind", "side"])[["intercept", "absFactor"]].mean()
                for (kind, side), row in means.iterrows():
                    records.append({"majorityShare": share, "model": model, "kind": kind,
                                    "noteSide": "majority" if side == "A" else "minority",
                                    "seed": seed, "intercept": row["intercept"],
                                    "absFactor": row["absFactor"]})
    per_seed = pd.DataFrame(records)
    table = per_seed.groupby(["majorityShare", "model", "kind", "noteSide"], sort=True).agg(
        meanIntercept=("intercept", "mean"), sdIntercept=("intercept", "std"),
        meanAbsFactor=("absFactor", "mean"), numSeeds=("seed", "nunique"),
    ).reset_index()
    table.insert(5, "meanInterceptRaw", table["meanIntercept"] * RAW_SCALE)
    return table
