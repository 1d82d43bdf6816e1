"""Rater diagnostics from a baseline fit: is quality sensitivity a real, stable rater trait?

The statistic is the per-rater slope of the de-ideologized ratings

    z = r - mu - i_u - f_u . f_n

on the baseline note intercepts i_n (the Rao-score diagnostic of the QS-MF paper, section
4.3: under the standard model every rater's slope is 1; the score of gamma_u at gamma = 1 is
sum (z - i_n) i_n). By default it is the ordinary OLS slope with its own intercept, which is
robust to the shrinkage left in i_u; `through_origin=True` gives sum z i_n / sum i_n^2, the
unshrunk QS-MF gamma step itself.

- `rater_slopes`: the slope of every rater.
- `split_half_reliability`: each rater's ratings split in two seeded halves, the slope in each,
  and per activity bin the Spearman-Brown-corrected correlation of the halves across raters.
- `slope_dispersion_test`: the variance of the slopes across raters against its permutation
  distribution when i_n is shuffled within each rater (which keeps every rater's z and i_n
  values but breaks their pairing, so only estimation noise remains). Under a standard model
  the observed variance is estimation noise alone, and the permuted variance is, if anything,
  larger (z then also carries the shuffled quality signal as noise): the test is conservative.

All functions take the fitted ratings and the baseline fit as arrays (cnscore.qs.common) and
return pandas DataFrames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cnscore.qs.common import Fit, Ratings

# Ratings per rater: [lower, upper); None = no upper bound.
ACTIVITY_BINS: tuple[tuple[int, int | None], ...] = (
    (20, 50), (50, 100), (100, 200), (200, 500), (500, None),
)
_MIN_VARIANCE = 1e-12  # a rater whose rated notes have (almost) equal i_n has no slope


def deideologized(ratings: Ratings, fit: Fit) -> tuple[np.ndarray, np.ndarray]:
    """Per rating: z = r - mu - i_u - f_u f_n and the note intercept i_n."""
    u, n = ratings.rater, ratings.note
    z = ratings.label - fit.mu - fit.rater_intercept[u] - fit.rater_factor[u] * fit.note_factor[n]
    return z, fit.note_intercept[n]


def _slopes(rater: np.ndarray, x: np.ndarray, y: np.ndarray, size: int,
            through_origin: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per rater (by index, `size` of them): the OLS slope of y on x, and the count. NaN where
    a rater has fewer than 2 ratings or no spread in x."""
    count = np.bincount(rater, minlength=size).astype(float)
    sxy = np.bincount(rater, x * y, size)
    sxx = np.bincount(rater, x * x, size)
    if not through_origin:
        sx, sy = np.bincount(rater, x, size), np.bincount(rater, y, size)
        with np.errstate(invalid="ignore", divide="ignore"):
            sxy = sxy - sx * sy / count
            sxx = sxx - sx * sx / count
    ok = (count >= 2) & (sxx > _MIN_VARIANCE)
    slope = np.full(size, np.nan)
    slope[ok] = sxy[ok] / sxx[ok]
    return slope, count


def rater_slopes(ratings: Ratings, fit: Fit, through_origin: bool = False) -> pd.DataFrame:
    """One row per rater: raterIdx, numRatings, slope (NaN when undefined)."""
    z, i_n = deideologized(ratings, fit)
    slope, count = _slopes(ratings.rater, i_n, z, ratings.num_raters, through_origin)
    return pd.DataFrame({"raterIdx": np.arange(ratings.num_raters),
                         "numRatings": count.astype(np.int64), "slope": slope})


def _halves(rater: np.ndarray, seed: int) -> np.ndarray:
    """A boolean per rating: True for the first half. Each rater's ratings are put in a seeded
    random order and dealt alternately, so the halves differ by at most one rating."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(rater)), rater))  # by rater, random within rater
    sorted_raters = rater[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_raters)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(rater)]))
    first = np.empty(len(rater), dtype=bool)
    first[order] = (np.arange(len(rater)) - run_start) % 2 == 0
    return first


def _bin_label(lower: int, upper: int | None) -> str:
    return f"{lower}+" if upper is None else f"{lower}-{upper}"


def _spearman_brown(r: float) -> float:
    """Reliability of the full-length slope from the correlation of two half-length ones."""
    return 2.0 * r / (1.0 + r) if np.isfinite(r) and r > -1.0 else float("nan")


def split_half_reliability(
    ratings: Ratings,
    fit: Fit,
    seed: int = 0,
    bins: tuple[tuple[int, int | None], ...] = ACTIVITY_BINS,
    through_origin: bool = False,
) -> pd.DataFrame:
    """Split-half reliability of the rater slope, per activity bin (a rater's bin is its total
    number of ratings). Columns: activityBin, minRatings, maxRatings (exclusive, NaN = open),
    numRaters (with a slope in both halves), halfCorrelation (Pearson), reliability
    (Spearman-Brown: 2r / (1 + r)), rankReliability (the same from the Spearman rank
    correlation, less sensitive to the odd extreme slope of a short half). NaN with < 3 raters."""
    z, i_n = deideologized(ratings, fit)
    first = _halves(ratings.rater, seed)
    size = ratings.num_raters
    halves = [_slopes(ratings.rater[m], i_n[m], z[m], size, through_origin)[0]
              for m in (first, ~first)]
    total = ratings.rater_counts()
    rows = []
    for lower, upper in bins:
        in_bin = (total >= lower) & (total < (upper if upper is not None else np.inf))
        ok = in_bin & np.isfinite(halves[0]) & np.isfinite(halves[1])
        a, b = halves[0][ok], halves[1][ok]
        r = rank_r = float("nan")
        if ok.sum() >= 3 and a.std() > 0 and b.std() > 0:
            r = float(np.corrcoef(a, b)[0, 1])
            rank_r = float(pd.Series(a).corr(pd.Series(b), method="spearman"))
        rows.append({
            "activityBin": _bin_label(lower, upper), "minRatings": lower,
            "maxRatings": float("nan") if upper is None else float(upper),
            "numRaters": int(ok.sum()), "halfCorrelation": r,
            "reliability": _spearman_brown(r), "rankReliability": _spearman_brown(rank_r),
        })
    return pd.DataFrame(rows)


def _permute_within(rater: np.ndarray, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`values` shuffled among the ratings of the same rater."""
    by_rater = np.argsort(rater, kind="stable")
    shuffled = np.lexsort((rng.random(len(rater)), rater))  # same rater sequence, random within
    out = np.empty_like(values)
    out[by_rater] = values[shuffled]
    return out


def slope_dispersion_test(
    ratings: Ratings,
    fit: Fit,
    num_permutations: int = 200,
    seed: int = 0,
    min_ratings: int = 20,
    through_origin: bool = False,
) -> pd.DataFrame:
    """Permutation test of the dispersion of rater slopes (raters with >= min_ratings).

    One row: numRaters, observedVariance, nullMeanVariance, nullSdVariance, excessVariance
    (observed minus null mean: the variance of the true slopes beyond estimation noise),
    pValue ((1 + #{null >= observed}) / (1 + permutations)), numPermutations."""
    z, i_n = deideologized(ratings, fit)
    keep = ratings.rater_counts()[ratings.rater] >= min_ratings
    rater, z, i_n = ratings.rater[keep], z[keep], i_n[keep]
    size = ratings.num_raters

    def variance(x: np.ndarray) -> float:
        slope = _slopes(rater, x, z, size, through_origin)[0]
        return float(np.nanvar(slope)) if np.isfinite(slope).sum() >= 2 else float("nan")

    observed = variance(i_n)
    rng = np.random.default_rng(seed)
    null = np.array([variance(_permute_within(rater, i_n, rng)) for _ in range(num_permutations)])
    slopes = _slopes(rater, i_n, z, size, through_origin)[0]
    return pd.DataFrame([{
        "numRaters": int(np.isfinite(slopes).sum()),
        "observedVariance": observed,
        "nullMeanVariance": float(np.mean(null)) if len(null) else float("nan"),
        "nullSdVariance": float(np.std(null)) if len(null) else float("nan"),
        "excessVariance": observed - float(np.mean(null)) if len(null) else float("nan"),
        "pValue": float((1 + np.sum(null >= observed)) / (1 + num_permutations)),
        "numPermutations": num_permutations,
    }])


def diagnose(ratings: Ratings, fit: Fit, seed: int = 0, num_permutations: int = 200,
             min_ratings: int = 20, through_origin: bool = False) -> dict[str, pd.DataFrame]:
    """All three diagnostics: {"slopes", "reliability", "dispersion"}."""
    return {
        "slopes": rater_slopes(ratings, fit, through_origin),
        "reliability": split_half_reliability(ratings, fit, seed, through_origin=through_origin),
        "dispersion": slope_dispersion_test(ratings, fit, num_permutations, seed, min_ratings,
                                            through_origin),
    }
