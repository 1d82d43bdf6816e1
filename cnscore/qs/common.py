"""Shared pieces of the QS-MF diagnostics and experiments: ratings as aligned arrays, fitting
the baseline and QS-MF in memory, and the metrics (AUC, z-scored MSE)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cnscore.config import MFConfig
from cnscore.mf.init import xavier_bound
from cnscore.mf.local import LocalFit, fit_mf_local

# helpfulnessLevel -> helpfulNum, as cnscore.preprocess (the reference's label).
LEVEL_TO_NUM = {"NOT_HELPFUL": 0.0, "SOMEWHAT_HELPFUL": 0.5, "HELPFUL": 1.0}


@dataclass(frozen=True)
class Ratings:
    """Ratings as aligned arrays: dense rater and note indices (0..R-1, 0..N-1, every index
    present), helpfulNum labels in [0, 1] and rating times (millis)."""

    rater: np.ndarray
    note: np.ndarray
    label: np.ndarray
    time: np.ndarray

    @property
    def num_raters(self) -> int:
        return int(self.rater.max()) + 1

    @property
    def num_notes(self) -> int:
        return int(self.note.max()) + 1

    def rater_counts(self) -> np.ndarray:
        """Ratings per rater, by rater index."""
        return np.bincount(self.rater, minlength=self.num_raters)


def ratings_from_frame(frame: pd.DataFrame) -> tuple[Ratings, np.ndarray, np.ndarray]:
    """Ratings from a public-layout ratings frame (noteId, raterParticipantId or the early
    participantId, createdAtMillis, helpfulnessLevel or the 2021 helpful/notHelpful columns).
    Unlabeled rows are dropped, as the reference does. Returns the arrays and the public rater
    and note ids by dense index."""
    if "raterParticipantId" not in frame and "participantId" in frame:  # the early 2021 header
        frame = frame.rename(columns={"participantId": "raterParticipantId"})
    label = pd.Series(np.nan, index=frame.index)
    # Same precedence as cnscore.preprocess: helpful, then notHelpful, then a known level wins.
    if "helpful" in frame:
        label[pd.to_numeric(frame["helpful"], errors="coerce") == 1] = 1.0
    if "notHelpful" in frame:
        label[pd.to_numeric(frame["notHelpful"], errors="coerce") == 1] = 0.0
    if "helpfulnessLevel" in frame:
        level = frame["helpfulnessLevel"].map(LEVEL_TO_NUM)
        label[level.notna()] = level[level.notna()]
    keep = label.notna().to_numpy()
    kept = frame[keep]
    rater_ids, rater = np.unique(kept["raterParticipantId"].astype(str), return_inverse=True)
    note_ids, note = np.unique(kept["noteId"].to_numpy(), return_inverse=True)
    time = pd.to_numeric(kept["createdAtMillis"], errors="coerce").fillna(0).to_numpy(np.int64)
    arrays = Ratings(rater.astype(np.int64), note.astype(np.int64),
                     label[keep].to_numpy(float), time)
    return arrays, rater_ids, note_ids


def subset(ratings: Ratings, keep: np.ndarray) -> tuple[Ratings, np.ndarray, np.ndarray]:
    """The ratings where `keep` is true, re-indexed densely. Returns the subset and, for each new
    rater and note index, its index in `ratings`."""
    raters, rater = np.unique(ratings.rater[keep], return_inverse=True)
    notes, note = np.unique(ratings.note[keep], return_inverse=True)
    out = Ratings(rater.astype(np.int64), note.astype(np.int64),
                  ratings.label[keep], ratings.time[keep])
    return out, raters, notes


def append_raters(ratings: Ratings, rater: np.ndarray, note: np.ndarray, label: np.ndarray,
                  time: np.ndarray) -> Ratings:
    """Ratings plus new ones whose rater indices continue after the existing raters (0 is the
    first new rater); notes must be existing indices."""
    return Ratings(
        np.concatenate([ratings.rater, ratings.num_raters + np.asarray(rater, np.int64)]),
        np.concatenate([ratings.note, np.asarray(note, np.int64)]),
        np.concatenate([ratings.label, np.asarray(label, float)]),
        np.concatenate([ratings.time, np.asarray(time, np.int64)]),
    )


@dataclass(frozen=True)
class Fit:
    """One model's parameters as arrays by dense index (gamma is 1 for the baseline)."""

    note_intercept: np.ndarray
    note_factor: np.ndarray
    rater_intercept: np.ndarray
    rater_factor: np.ndarray
    gamma: np.ndarray
    mu: float
    converged: bool


def _by_index(frame: pd.DataFrame, key: str, column: str, size: int, fill: float) -> np.ndarray:
    out = np.full(size, fill)
    out[frame[key].to_numpy()] = frame[column].to_numpy()
    return out


def to_fit(local: LocalFit, num_raters: int, num_notes: int) -> Fit:
    """Arrays from a LocalFit (first factor only: the harness uses k = 1)."""
    raters = local.raters
    gamma = np.ones(num_raters)
    if "gamma" in raters:
        gamma = _by_index(raters, "raterIdx", "gamma", num_raters, 1.0)
    return Fit(
        note_intercept=_by_index(local.notes, "noteIdx", "intercept", num_notes, np.nan),
        note_factor=_by_index(local.notes, "noteIdx", "factor1", num_notes, np.nan),
        rater_intercept=_by_index(raters, "raterIdx", "intercept", num_raters, np.nan),
        rater_factor=_by_index(raters, "raterIdx", "factor1", num_raters, np.nan),
        gamma=gamma,
        mu=local.global_intercept,
        converged=local.converged,
    )


def initial_raters(num_raters: int, num_factors: int, seed: int) -> pd.DataFrame:
    """Initial rater parameters: intercept 0, factors uniform in the engine's Xavier bound."""
    rng = np.random.default_rng(seed)
    bound = xavier_bound(num_raters, num_factors)
    frame = pd.DataFrame({"raterIdx": np.arange(num_raters), "intercept": 0.0})
    for k in range(1, num_factors + 1):
        frame[f"factor{k}"] = rng.uniform(-bound, bound, num_raters)
    return frame


def fit_model(ratings: Ratings, cfg: MFConfig, seed: int = 0) -> Fit:
    """Fit one model (cfg.model decides which) in memory from a seeded initial state."""
    init = initial_raters(ratings.num_raters, cfg.num_factors, seed)
    local = fit_mf_local(ratings.rater, ratings.note, ratings.label, cfg, init)
    return to_fit(local, ratings.num_raters, ratings.num_notes)


def fit_both(ratings: Ratings, cfg: MFConfig, seed: int = 0) -> tuple[Fit, Fit]:
    """(baseline, QS-MF) from the same initial state; `cfg` supplies lambdas and QS settings."""
    base = fit_model(ratings, dataclasses.replace(cfg, model="standard"), seed)
    qs = fit_model(ratings, dataclasses.replace(cfg, model="qsmf"), seed)
    return base, qs


def zscore(values: np.ndarray) -> np.ndarray:
    """(x - mean) / sd; intercepts of the two models live on different scales."""
    values = np.asarray(values, float)
    sd = values.std()
    return (values - values.mean()) / sd if sd > 0 else values * np.nan


def zscored_mse(estimate: np.ndarray, truth: np.ndarray) -> float:
    """Mean squared difference of the z-scored vectors (scale- and shift-free)."""
    return float(np.mean((zscore(estimate) - zscore(truth)) ** 2))


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(score of a random positive > that of a random negative), ties counting half
    (Mann-Whitney U from average ranks). NaN when either side is empty."""
    positive, negative = np.asarray(positive, float), np.asarray(negative, float)
    if not len(positive) or not len(negative):
        return float("nan")
    ranks = pd.Series(np.concatenate([positive, negative])).rank(method="average").to_numpy()
    u = ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2.0
    return float(u / (len(positive) * len(negative)))


@dataclass(frozen=True)
class Planted:
    """Synthetic ratings with the planted truth aligned to the dense indices."""

    ratings: Ratings
    kind: np.ndarray  # per rater: good, partisan, random, always_helpful, always_not_helpful
    rater_viewpoint: np.ndarray
    quality: np.ndarray  # per note
    note_viewpoint: np.ndarray


def planted(num_raters: int, num_notes: int, num_ratings: int, seed: int,
            bad_fraction: float = 0.0) -> Planted:
    """cnscore.synthetic data as arrays (raters without ratings are not in the arrays)."""
    from cnscore.synthetic import PlantedModel, generate

    data = generate(num_raters, num_notes, num_ratings, seed,
                    model=PlantedModel(bad_rater_fraction=bad_fraction))
    ratings, rater_ids, note_ids = ratings_from_frame(data.ratings)
    raters = data.truth_raters.set_index("raterParticipantId").loc[rater_ids]
    notes = data.truth_notes.set_index("noteId").loc[note_ids]
    return Planted(ratings, raters["kind"].to_numpy(), raters["viewpoint"].to_numpy(),
                   notes["quality"].to_numpy(), notes["viewpoint"].to_numpy())
