"""The normalized loss of group 14's "expanded consensus" trial (shared docs/reference.md §3.9).

With MFConfig.normalized_loss set, one MF fit is two rounds, as in the reference's `run_mf`:

1. the ordinary fit (the config's lambdas, warm starts and sign rule);
2. per-rating weights from round 1's rater factors (`rating_weights`), then a fresh fit of
   mean(w * (r - r_hat)^2) + the same penalties: notes from scratch, raters from the caller's
   initialization (the seeded random one when there is none, like the reference's re-seeded
   Xavier start), mu from 0. Its result is the fit's result.

Final scoring's frozen-rater fit (`refit_final`): the reference freezes raters and mu on the
round-1 model only; round 2 builds a new model, so raters and mu are trained again there (from
the prescoring raters, mu from 0), still with the per-note loss ratio and without the sign
rule. Round 1 leaves the frozen raters as they are, and round 2 reads nothing else from it, so
it is not run here.

Weights, in the reference's order; each step is optional:

a. note sign (note_sign_alpha = a): in each note with ratings of both signs, ratings by raters
   with f_u > 0 are multiplied by (a + W_neg) / (a + W_pos) (the note's weight totals by sign),
   then the note's weights are rescaled to their previous total;
b. global sign (global_sign_norm): ratings by raters with f_u > 0 are multiplied by
   (#ratings with f_u <= 0) / (#ratings with f_u > 0) (counts of ratings, as the reference, not
   weights), then every weight is rescaled so that the total weight is unchanged;
c. note norm (note_norm_exp = e, skipped when 0): times (the note's total weight) ** e;
d. rater norm (rater_norm_exp = e, skipped when 0): times (the rater's total weight) ** e.

There is no rescale after c and d: the loss stays a mean over ratings (a sum divided by N), so
the sum-form penalties do not change. f_u is the rater's first factor.
"""

from __future__ import annotations

import dataclasses
import logging

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.columns import ParamCols, factor_cols
from cnscore.config import MFConfig, NormalizedLoss
from cnscore.mf.als import MFResult, fit_mf
from cnscore.schemas import MF_WEIGHT

log = logging.getLogger("cnscore.mf")
NOTE, RATER, LABEL = ParamCols.NOTE_IDX, ParamCols.RATER_IDX, ParamCols.LABEL
FACTOR = factor_cols("factor", 1)[0]  # the sign of the first rater factor decides the side
_POSITIVE, _TOTAL = "_positive", "_total"  # working columns


def rating_weights(ratings: DataFrame, raters: DataFrame, settings: NormalizedLoss) -> DataFrame:
    """The ratings with their normalized-loss weight (cnscore.schemas.MF_WEIGHT).

    Args:
        ratings: rater and note keys (raterIdx, noteIdx) and any other columns, which are kept.
        raters: raterIdx, factor1: round 1's rater factors (after its sign rule, as the
            reference reads them). A rater missing here counts as f_u = 0 (the side f_u <= 0).
        settings: which steps run (module docstring).

    Returns:
        `ratings` plus MF_WEIGHT (double). Example: raters a, c with f_u <= 0 and b with
        f_u > 0, ratings a-1, a-2, c-1, b-1 and the trial's settings: b's rating is weighed
        3 / 1, then all four by 4 / 6 (a's: 2/3 each, c's: 2/3, b's: 2), then by the rater's
        total ** -0.25 (a's: 2/3 * (4/3) ** -0.25, c's: (2/3) ** 0.75, b's: 2 ** 0.75).
    """
    if MF_WEIGHT in ratings.columns:
        raise ValueError(f"ratings already carry {MF_WEIGHT}: the normalized loss starts from weight 1")
    signs = raters.select(RATER, (F.col(FACTOR) > 0).alias(_POSITIVE))
    rows = (ratings.join(signs, RATER, "left")
            .withColumn(_POSITIVE, F.coalesce(F.col(_POSITIVE), F.lit(False)))
            .withColumn(MF_WEIGHT, F.lit(1.0)))
    if settings.note_sign_alpha is not None:
        rows = _note_sign(rows, settings.note_sign_alpha)
    if settings.global_sign_norm:
        rows = _global_sign(rows)
    # The reference skips an exponent of 0 (x ** 0 == 1 anyway): so do we, saving a shuffle.
    if settings.note_norm_exp:
        rows = _times_total_power(rows, NOTE, settings.note_norm_exp)
    if settings.rater_norm_exp:
        rows = _times_total_power(rows, RATER, settings.rater_norm_exp)
    return rows.select(*ratings.columns, MF_WEIGHT)


def _side_sums(weight: Column) -> list[Column]:
    positive = F.col(_POSITIVE)
    return [F.sum(F.when(positive, weight).otherwise(0.0)).alias("_wpos"),
            F.sum(F.when(~positive, weight).otherwise(0.0)).alias("_wneg")]


def _note_sign(rows: DataFrame, alpha: float) -> DataFrame:
    """Step a: balance the two sides within each note, keeping each note's total weight."""
    positive = F.col(_POSITIVE)
    totals = rows.groupBy(NOTE).agg(
        *_side_sums(F.col(MF_WEIGHT)),
        F.max(positive.cast("int")).alias("_has_pos"), F.max((~positive).cast("int")).alias("_has_neg"))
    # Notes with ratings on one side only keep their weights (the reference's inner merge).
    both = (F.col("_has_pos") == 1) & (F.col("_has_neg") == 1)
    ratio = F.when(both, (F.lit(alpha) + F.col("_wneg")) / (F.lit(alpha) + F.col("_wpos"))).otherwise(1.0)
    per_note = totals.select(
        NOTE, ratio.alias("_ratio"),
        # previous total / new total, with the new total from the same sums
        ((F.col("_wpos") + F.col("_wneg")) / (F.col("_wneg") + ratio * F.col("_wpos"))).alias("_scale"))
    scaled = F.col(MF_WEIGHT) * F.when(positive, F.col("_ratio")).otherwise(1.0) * F.col("_scale")
    return rows.join(per_note, NOTE, "left").withColumn(MF_WEIGHT, scaled).drop("_ratio", "_scale")


def _global_sign(rows: DataFrame) -> DataFrame:
    """Step b: balance the two sides over all ratings, keeping the total weight."""
    row = rows.agg(F.count(F.lit(1)).alias("n"), F.sum(F.col(_POSITIVE).cast("long")).alias("pos"),
                   *_side_sums(F.col(MF_WEIGHT))).first()
    positive, negative = int(row["pos"] or 0), int(row["n"]) - int(row["pos"] or 0)
    if not positive or not negative:
        # No positive side: nothing to reweigh (the reference's step is a no-op too). No
        # negative side: the reference's ratio 0 zeroes every weight and its loss becomes NaN;
        # we leave the weights unchanged instead.
        log.warning("normalized loss: %d ratings with f_u > 0 and %d with f_u <= 0; global sign step skipped",
                    positive, negative)
        return rows
    ratio = negative / positive
    scale = (row["_wpos"] + row["_wneg"]) / (ratio * row["_wpos"] + row["_wneg"])
    reweighed = F.when(F.col(_POSITIVE), F.col(MF_WEIGHT) * ratio).otherwise(F.col(MF_WEIGHT))
    return rows.withColumn(MF_WEIGHT, reweighed * F.lit(scale))


def _times_total_power(rows: DataFrame, key: str, exponent: float) -> DataFrame:
    """Steps c and d: each weight times (its note's or rater's total weight) ** exponent."""
    totals = rows.groupBy(key).agg(F.sum(MF_WEIGHT).alias(_TOTAL))
    return (rows.join(totals, key, "left")
            .withColumn(MF_WEIGHT, F.col(MF_WEIGHT) * F.pow(F.col(_TOTAL), F.lit(exponent))).drop(_TOTAL))


def fit_two_rounds(ratings: DataFrame, cfg: MFConfig, *, note_init: DataFrame | None = None,
                   rater_init: DataFrame | None = None, global_intercept_init: float | None = None) -> MFResult:
    """fit_mf with cfg.normalized_loss: round 1 as configured, then the weighted round 2.

    Args and result as cnscore.mf.als.fit_mf; the result is round 2's (its train_mse is the
    plain MSE, its objective the weighted loss).
    """
    if MF_WEIGHT in ratings.columns:
        raise ValueError(f"a normalized loss weighs its own second round: ratings with {MF_WEIGHT} are refused")
    settings, plain = _split(cfg)
    first = fit_mf(ratings, plain, note_init=note_init, rater_init=rater_init,
                   global_intercept_init=global_intercept_init)
    weighted = rating_weights(ratings.select(RATER, NOTE, LABEL), first.raters, settings).persist()
    # A fresh model (the reference's _create_mf_model(None, userInit, None)): the caller's
    # rater start, notes solved from it, mu from 0.
    second = fit_mf(weighted, plain, rater_init=rater_init)
    weighted.unpersist()
    log.info("normalized loss: round 1 %d sweeps (loss %.6g), round 2 %d sweeps (weighted loss %.6g)",
             first.sweeps, first.objective, second.sweeps, second.objective)
    return second


def refit_final(ratings: DataFrame, raters: DataFrame, cfg: MFConfig) -> MFResult:
    """fit_notes_frozen with cfg.normalized_loss (module docstring): weights from the given
    rater factors, then a joint weighted fit from those raters, notes from scratch and mu 0.

    Ratings by raters absent from `raters` are not used, as in the frozen fit. The result's
    raters and mu are the refitted ones.
    """
    settings, plain = _split(cfg)
    known = ratings.select(RATER, NOTE, LABEL).join(raters.select(RATER), RATER, "left_semi")
    weighted = rating_weights(known, raters, settings).persist()
    fitted = fit_mf(weighted, plain, rater_init=raters)
    weighted.unpersist()
    return fitted


def _split(cfg: MFConfig) -> tuple[NormalizedLoss, MFConfig]:
    """The weight settings, and the config each round fits with (one round each)."""
    if cfg.normalized_loss is None:
        raise ValueError("the normalized-loss rounds need MFConfig.normalized_loss")
    return cfg.normalized_loss, dataclasses.replace(cfg, normalized_loss=None)
