"""The Gaussian scorer's per-note math in numpy (shared docs/reference.md §5.5).

Pure numpy, no Spark: `cnscore.scoring.gaussian` calls `note_scores` once per bucket of
many notes inside a grouped pandas UDF. One pass (CRH or CRNH) turns each note's ratings
into a helpfulness curve over fixed rater-factor points and scores the note by the
curve's geometric mean, so a note scores high only if raters across the whole factor
spectrum found it helpful (CRH pass) or not helpful (CRNH pass, values flipped).

Per pass, for note n, point p, rating r (factor f_r, value v_r):
  w_rp    = Gaussian density of |f_r - p| (bandwidth), divided by sum_p w_rp if `normalize`
  insufficient(n) = some point's sum_r w_rp < min_total_weight          -> score 0
  w_rp   *= neg_weight * spread(n) for down-votes (v_r == 0 after flipping)
  prior   = max(min(m_n p / 2 + prior_value, prior_value), prior_floor),
            few_raters_prior if fewer than min_raters_per_sign raters on either factor sign
  value   = clip((sum_r w_rp v_r + pw_n prior) / (sum_r w_rp + pw_n), clip_lower, clip_upper)
  score   = exp(mean_p log value)
with m_n = mean_r (2 h_r - 1) f_r (h = helpfulNum, flipped in the CRNH pass),
pw_n = prior_weight * ln(max(N_n, b)) / ln(b), and spread(n) = min(1 + k * share, cap),
share = (sum over down-votes of sigmoid(steepness * (|f_r - mean down-vote f| - threshold)))
/ N_n: down-votes far from where down-votes usually come from count more.

The reference computes in float32; we use float64. Against the reference's own functions
(same ratings and rater factors, 400 synthetic notes) scores agreed to max |diff| 8.6e-8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# The reference's 50 evaluation points (constants.quantileRange): symmetric, denser near 0,
# where most rater factors lie, so each bin holds roughly the same rater mass.
QUANTILE_RANGE = (
    -0.92, -0.65, -0.61, -0.58, -0.55, -0.52, -0.49, -0.46, -0.43, -0.41, -0.38, -0.35, -0.33,
    -0.3, -0.28, -0.25, -0.22, -0.2, -0.17, -0.14, -0.12, -0.09, -0.07, -0.04, -0.01,
    0.01, 0.04, 0.07, 0.09, 0.12, 0.14, 0.17, 0.2, 0.22, 0.25, 0.28, 0.3, 0.33, 0.35, 0.38,
    0.41, 0.43, 0.46, 0.49, 0.52, 0.55, 0.58, 0.61, 0.65, 0.92,
)
# constants.smoothedRange: every other point of each half (26 points), for the wider CRNH kernel.
SMOOTHED_RANGE = QUANTILE_RANGE[0:25:2] + QUANTILE_RANGE[25::2]


def _config_error(message: str) -> Exception:
    from cnscore.config import ConfigError  # late: cnscore.config imports the scoring settings

    return ConfigError(message)


@dataclass(frozen=True)
class GaussianPass:
    """One pass's kernel constants (reference constants.GaussianParams); defaults: CRH pass."""

    points: tuple[float, ...] = QUANTILE_RANGE
    bandwidth: float = 0.1
    normalize: bool = True  # each rating's weights sum to 1 over the points
    min_total_weight: float = 1e-9  # weightLim: below it at any point the note scores 0
    flip: bool = False  # CRNH pass: value 1 - v, so "not helpful" is what scores high
    somewhat_value: float = 0.7  # SOMEWHAT_HELPFUL's value before flipping
    neg_weight: float = 1.75  # extra weight of down-votes
    spread_k: float = 3.0  # spread factor min(1 + k * share, cap)
    spread_cap: float = 2.0
    prior_value: float = 0.35  # smoothingValue
    prior_from_factor: bool = True  # priorFactor: prior follows the note factor estimate
    prior_floor: float | None = 0.2  # minPrior
    prior_weight: float = 0.4  # smoothingWeight
    prior_weight_log_base: float | None = 9.0  # adaptiveWeightBase; None: constant prior weight
    clip_lower: float = 0.05
    clip_upper: float = 0.8

    def validate(self, name: str) -> None:
        pts = np.asarray(self.points, dtype=float)
        if pts.ndim != 1 or pts.size == 0 or not np.isfinite(pts).all():
            raise _config_error(f"GaussianConfig.{name}.points must be a non-empty tuple of finite numbers")
        positive = {"bandwidth": self.bandwidth, "neg_weight": self.neg_weight}
        nonneg = {"min_total_weight": self.min_total_weight, "spread_k": self.spread_k,
                  "prior_weight": self.prior_weight}
        unit = {"somewhat_value": self.somewhat_value, "prior_value": self.prior_value,
                "prior_floor": self.prior_floor, "clip_upper": self.clip_upper}
        for key, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise _config_error(f"GaussianConfig.{name}.{key} must be finite and > 0, got {value}")
        for key, value in nonneg.items():
            if not (math.isfinite(value) and value >= 0):
                raise _config_error(f"GaussianConfig.{name}.{key} must be finite and >= 0, got {value}")
        for key, value in unit.items():
            if value is not None and not 0.0 <= value <= 1.0:
                raise _config_error(f"GaussianConfig.{name}.{key} must lie in [0, 1], got {value}")
        if not self.spread_cap >= 1.0:
            raise _config_error(f"GaussianConfig.{name}.spread_cap must be >= 1, got {self.spread_cap}")
        base = self.prior_weight_log_base
        if base is not None and not (math.isfinite(base) and base > 1.0):
            raise _config_error(f"GaussianConfig.{name}.prior_weight_log_base must be > 1 or None, got {base}")
        # The score is a mean of logs: a value of 0 would make every such note score 0.
        if not 0.0 < self.clip_lower <= self.clip_upper:
            raise _config_error(f"GaussianConfig.{name} needs 0 < clip_lower <= clip_upper, "
                                f"got [{self.clip_lower}, {self.clip_upper}]")


# Reference constants.gaussianCrnhParams; spread k 4 / cap 4 are hard-coded there for flip=True.
CRNH_PASS = GaussianPass(
    points=SMOOTHED_RANGE, bandwidth=0.2, normalize=False, min_total_weight=5e-4, flip=True,
    neg_weight=1.25, spread_k=4.0, spread_cap=4.0, prior_floor=0.3, prior_weight=5.0,
    clip_lower=0.25, clip_upper=0.65,
)


@dataclass(frozen=True)
class GaussianConfig:
    """The Gaussian scorer's constants (reference defaults, gaussian_scorer.py and constants.py)."""

    crh: GaussianPass = field(default_factory=GaussianPass)
    crnh: GaussianPass = CRNH_PASS
    # Down-votes farther than this from their note's mean down-vote factor count as "spread"
    # (the reference's stdWindow 0.28 / 2), through a sigmoid this steep instead of a step.
    spread_threshold: float = 0.14
    spread_steepness: float = 200.0
    # Fewer raters than this on either side of factor 0 (0 itself counts on neither side):
    # the prior is few_raters_prior at every point, whatever the note factor says.
    min_raters_per_sign: int = 3
    few_raters_prior: float = 0.1
    add_author_rating: bool = True  # CRH pass only: the author's implicit HELPFUL rating
    num_buckets: int | None = None  # UDF groups; None: spark.sql.shuffle.partitions
    max_chunk_ratings: int = 50_000  # ratings x points matrices are built this many rows at a time

    def __post_init__(self) -> None:
        self.crh.validate("crh")
        self.crnh.validate("crnh")
        if not (math.isfinite(self.spread_threshold) and self.spread_threshold >= 0):
            raise _config_error(f"GaussianConfig.spread_threshold must be >= 0, got {self.spread_threshold}")
        if not (math.isfinite(self.spread_steepness) and self.spread_steepness > 0):
            raise _config_error(f"GaussianConfig.spread_steepness must be > 0, got {self.spread_steepness}")
        if self.min_raters_per_sign < 0:
            raise _config_error(f"GaussianConfig.min_raters_per_sign must be >= 0, got {self.min_raters_per_sign}")
        if not 0.0 <= self.few_raters_prior <= 1.0:
            raise _config_error(f"GaussianConfig.few_raters_prior must lie in [0, 1], got {self.few_raters_prior}")
        if self.num_buckets is not None and self.num_buckets < 1:
            raise _config_error(f"GaussianConfig.num_buckets must be >= 1 or None, got {self.num_buckets}")
        if self.max_chunk_ratings < 1:
            raise _config_error(f"GaussianConfig.max_chunk_ratings must be >= 1, got {self.max_chunk_ratings}")


def _per_note(values: np.ndarray, note: np.ndarray, num_notes: int) -> np.ndarray:
    return np.bincount(note, weights=values, minlength=num_notes)


def _chunks(note: np.ndarray, max_rows: int) -> list[tuple[int, int]]:
    """Row ranges of at most max_rows that never split a note (a bigger note is one range)."""
    total = len(note)
    starts = np.flatnonzero(np.r_[True, note[1:] != note[:-1]]) if total else np.zeros(0, int)
    bounds, begin = [], 0
    while begin < total:
        end = total
        if begin + max_rows < total:
            i = int(np.searchsorted(starts, begin + max_rows, side="right")) - 1
            end = int(starts[i])  # the last note start that still fits
            if end <= begin:  # the note at `begin` alone exceeds max_rows: take it whole
                end = int(starts[i + 1]) if i + 1 < len(starts) else total
        bounds.append((begin, end))
        begin = end
    return bounds


def _spread_factor(down, factor, note, counts, p: GaussianPass, cfg: GaussianConfig) -> np.ndarray:
    """Per note min(1 + k * share, cap): share of the note's ratings that are down-votes far
    from the mean factor of its down-votes (1 for notes without down-votes)."""
    n = len(counts)
    num_down = _per_note(down.astype(float), note, n)
    mean_down = np.divide(_per_note(np.where(down, factor, 0.0), note, n), num_down,
                          out=np.zeros(n), where=num_down > 0)
    # No overflow: the exponent is at most steepness * threshold (28 by default).
    far = 1.0 / (1.0 + np.exp(-cfg.spread_steepness * (np.abs(factor - mean_down[note]) - cfg.spread_threshold)))
    share = np.divide(_per_note(np.where(down, far, 0.0), note, n), counts, out=np.zeros(n), where=counts > 0)
    return np.minimum(1.0 + p.spread_k * share, p.spread_cap)


def _prior(m, factor, note, counts, points, p: GaussianPass, cfg: GaussianConfig) -> np.ndarray:
    """notes x points prior values."""
    n = len(counts)
    if p.prior_from_factor:
        prior = np.minimum(m[:, None] * points[None, :] / 2.0 + p.prior_value, p.prior_value)
        if p.prior_floor is not None:
            prior = np.maximum(prior, p.prior_floor)
    else:
        prior = np.full((n, len(points)), p.prior_value)
    num_neg = np.bincount(note, weights=(factor < 0).astype(float), minlength=n)
    num_pos = np.bincount(note, weights=(factor > 0).astype(float), minlength=n)
    few = (num_neg < cfg.min_raters_per_sign) | (num_pos < cfg.min_raters_per_sign)
    prior[few] = cfg.few_raters_prior
    return prior


def pass_curves(note: np.ndarray, num_notes: int, helpful_num: np.ndarray, factor: np.ndarray,
                p: GaussianPass, cfg: GaussianConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass over ratings sorted by dense note index (0..num_notes-1).

    Returns (notes x points clipped values, insufficient flag per note, note factor m)."""
    points = np.asarray(p.points, dtype=float)
    counts = np.bincount(note, minlength=num_notes).astype(float)
    helpful = 1.0 - helpful_num if p.flip else helpful_num
    value = np.where(helpful_num == 0.5, p.somewhat_value, helpful_num)
    value = 1.0 - value if p.flip else value
    down = helpful == 0.0  # the pass's down-votes: NOT_HELPFUL (CRH) or HELPFUL (CRNH)
    m = np.divide(_per_note((helpful - 0.5) * 2.0 * factor, note, num_notes), counts,
                  out=np.zeros(num_notes), where=counts > 0)
    spread = _spread_factor(down, factor, note, counts, p, cfg)
    multiplier = np.where(down, p.neg_weight * spread[note], 1.0)

    base_total = np.zeros((num_notes, len(points)))
    weight_total = np.zeros_like(base_total)
    value_total = np.zeros_like(base_total)
    norm = 1.0 / (p.bandwidth * math.sqrt(2.0 * math.pi))
    for begin, end in _chunks(note, cfg.max_chunk_ratings):
        rows = slice(begin, end)
        w = norm * np.exp(-0.5 * ((factor[rows, None] - points[None, :]) / p.bandwidth) ** 2)
        if p.normalize:
            sums = w.sum(axis=1, keepdims=True)
            w = np.divide(w, sums, out=np.zeros_like(w), where=sums > 0)
        seg = np.flatnonzero(np.r_[True, note[rows][1:] != note[rows][:-1]])
        ids = note[rows][seg]
        base_total[ids] = np.add.reduceat(w, seg, axis=0)
        w *= multiplier[rows, None]
        weight_total[ids] = np.add.reduceat(w, seg, axis=0)
        value_total[ids] = np.add.reduceat(w * value[rows, None], seg, axis=0)
    insufficient = (base_total < p.min_total_weight).any(axis=1)

    prior = _prior(m, factor, note, counts, points, p, cfg)
    if p.prior_weight_log_base is None:
        prior_weight = np.full(num_notes, p.prior_weight)
    else:
        b = p.prior_weight_log_base
        prior_weight = p.prior_weight * np.log(np.maximum(counts, b)) / math.log(b)
    num = value_total + prior_weight[:, None] * prior
    den = weight_total + prior_weight[:, None]
    curve = np.divide(num, den, out=np.full_like(num, p.clip_lower), where=den != 0)
    return np.clip(curve, p.clip_lower, p.clip_upper), insufficient, m


def pass_scores(note, num_notes, helpful_num, factor, p: GaussianPass, cfg: GaussianConfig):
    """(score per note, note factor m): the curve's geometric mean, 0 where insufficient."""
    curve, insufficient, m = pass_curves(note, num_notes, helpful_num, factor, p, cfg)
    score = np.exp(np.log(curve).mean(axis=1))
    return np.where(insufficient, 0.0, score), m


def note_scores(note_id: np.ndarray, helpful_num: np.ndarray, factor: np.ndarray,
                author_row: np.ndarray, cfg: GaussianConfig) -> pd.DataFrame:
    """Both passes for many notes: noteId, crh, crnh, intercept, factor, numRatings.

    author_row marks the synthetic author ratings, which only the CRH pass sees. Rows are put
    in a canonical order first, so results do not depend on how rows arrived.
    """
    order = np.lexsort((author_row, helpful_num, factor, note_id))
    note_id, helpful_num, factor, author_row = (a[order] for a in (note_id, helpful_num, factor, author_row))
    ids, note = np.unique(note_id, return_inverse=True)
    n = len(ids)
    crh, m = pass_scores(note, n, helpful_num, factor, cfg.crh, cfg)
    real = ~author_row
    crnh, _ = pass_scores(note[real], n, helpful_num[real], factor[real], cfg.crnh, cfg)
    # The reference keeps the CRNH side (negated) only when it is strictly larger in magnitude.
    intercept = np.where(np.abs(crh) < np.abs(crnh), -crnh, crh)
    return pd.DataFrame({"noteId": ids.astype(np.int64), "crh": crh, "crnh": crnh, "intercept": intercept,
                         "factor": m, "numRatings": np.bincount(note[real], minlength=n).astype(np.int64)})
