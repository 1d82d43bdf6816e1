"""Pseudo-rater bounds on note intercepts (shared docs/reference.md §4.5 step 3).

Three extreme pseudo-raters (intercept = the lowest rater intercept; factor = lowest, 0,
highest) each add a HELPFUL rating to every note; the notes are refitted with raters and mu
frozen, once per pseudo-rater and once without ("refit_orig"). Min, median and max over the
four refits bound each note's intercept and factor; UcbCRNH reads the max intercept.

As in the reference, the refits regularize notes by lambda * (ratings / notes) of the refit's
own data, not by the prescoring ratio that the main final fit uses.

The helpers `refit_inputs`, `pseudo_rater_table` and `refit_notes` are shared with the
bootstrap variant (pseudo_bootstrap.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from cnscore.columns import ParamCols, RatingCols
from cnscore.config import MFConfig
from cnscore.scoring.collect import params_frame
from cnscore.scoring.fits import IdSpace, fit_frozen
from cnscore.scoring.local_estimates import LocalRatings, frozen_notes

P = ParamCols
NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
RATER_FACTOR = "internalRaterFactor1"  # pseudo-raters exist for rank-1 models only, as in the reference
PSEUDO_IDS = ("-1", "-2", "-3")  # the reference's ids for the three pseudo-raters


@dataclass(frozen=True)
class RefitInputs:
    """What every pseudo-rater refit starts from: the final round's ratings and rater extremes."""

    ratings: DataFrame  # raterIdx, noteIdx, noteId, helpfulNum
    notes: DataFrame  # noteIdx, noteId of every rated note
    raters: DataFrame  # parameters of the raters in `ratings`
    num_ratings: int
    num_notes: int
    max_note_idx: int
    min_intercept: float  # extremes over `raters`, which the pseudo-raters copy
    max_intercept: float
    min_factor: float
    max_factor: float
    next_rater_idx: int  # first dense rater index free for pseudo-raters


def refit_inputs(ratings: DataFrame, raters: DataFrame) -> RefitInputs:
    """Collect the shared inputs of pseudo-rater refits (two small Spark jobs).

    ratings: the final round's densified ratings (noteId, noteIdx, raterIdx, helpfulNum, ...).
    raters: parameters of the raters in those ratings (others are ignored).
    """
    used = raters.join(ratings.select(P.RATER_IDX).distinct(), P.RATER_IDX, "left_semi")
    r = used.agg(F.min(P.RATER_INTERCEPT).alias("lo_i"), F.max(P.RATER_INTERCEPT).alias("hi_i"),
                 F.min(RATER_FACTOR).alias("lo_f"), F.max(RATER_FACTOR).alias("hi_f"),
                 F.max(P.RATER_IDX).alias("top")).first()
    base = ratings.select(P.RATER_IDX, P.NOTE_IDX, NOTE_ID, RatingCols.HELPFUL_NUM)
    n = base.agg(F.count(F.lit(1)).alias("ratings"), F.countDistinct(P.NOTE_IDX).alias("notes"),
                 F.max(P.NOTE_IDX).alias("top")).first()
    return RefitInputs(base, base.select(P.NOTE_IDX, NOTE_ID).distinct(), used, int(n["ratings"]),
                       int(n["notes"]), int(n["top"]), float(r["lo_i"]), float(r["hi_i"]), float(r["lo_f"]),
                       float(r["hi_f"]), int(r["top"]) + 1)


def pseudo_rater_table(spark: SparkSession, rows: list[tuple[str, int, float, float]]) -> DataFrame:
    """Pseudo-raters as rater parameters: (raterParticipantId, raterIdx, intercept, factor) rows."""
    return spark.createDataFrame(
        rows, f"{RATER_ID} string, {P.RATER_IDX} int, {P.RATER_INTERCEPT} double, {RATER_FACTOR} double")


def _refit_config(cfg: MFConfig, ratio: float) -> MFConfig:
    # The reference's pseudo-rater refits run on a copy of the model's MF without its normalized
    # loss (get_new_mf_with_same_args): frozen one-round refits, whatever the model.
    return dataclasses.replace(cfg, rating_per_note_loss_ratio=ratio, flip_factors=False, normalized_loss=None)


def refit_notes(ratings: DataFrame, ids: IdSpace, raters: DataFrame, global_intercept: float, cfg: MFConfig,
                ratio: float) -> DataFrame:
    """noteId, internalNoteIntercept, internalNoteFactor1 from a frozen-rater refit whose notes are
    penalized by lambda * ratio (the refit's own ratings per note)."""
    return fit_frozen(ratings, ids, raters, global_intercept, _refit_config(cfg, ratio)).notes.select(
        NOTE_ID, P.NOTE_INTERCEPT, "internalNoteFactor1")


def pseudo_rater_bounds(ratings: DataFrame, ids: IdSpace, raters: DataFrame, global_intercept: float,
                        cfg: MFConfig) -> DataFrame:
    """noteId and internalNoteIntercept_{min,median,max,refit_orig}, internalNoteFactor1_{...}.

    ratings: the final round's densified ratings (noteId, noteIdx, raterIdx, helpfulNum, ...).
    raters: parameters of the raters in those ratings.
    """
    inp = refit_inputs(ratings, raters)
    base = inp.ratings
    fits = [refit_notes(base, ids, inp.raters, global_intercept, cfg, inp.num_ratings / inp.num_notes)
            .withColumn("_run", F.lit(0))]
    for run, (pid, factor) in enumerate(zip(PSEUDO_IDS, (inp.min_factor, 0.0, inp.max_factor)), start=1):
        idx = inp.next_rater_idx + run - 1
        pseudo = pseudo_rater_table(raters.sparkSession, [(pid, idx, inp.min_intercept, float(factor))])
        extra = inp.notes.select(F.lit(idx).alias(P.RATER_IDX), P.NOTE_IDX, NOTE_ID,
                                 F.lit(1.0).alias(RatingCols.HELPFUL_NUM))
        ratio = (inp.num_ratings + inp.num_notes) / inp.num_notes
        fits.append(refit_notes(base.unionByName(extra), ids, inp.raters.unionByName(pseudo), global_intercept,
                                cfg, ratio).withColumn("_run", F.lit(run)))
    runs = fits[0]
    for f in fits[1:]:
        runs = runs.unionByName(f)
    aggs = []
    for col in (P.NOTE_INTERCEPT, "internalNoteFactor1"):
        aggs += [F.min(col).alias(f"{col}_min"), F.percentile(col, 0.5).alias(f"{col}_median"),
                 F.max(col).alias(f"{col}_max"),
                 F.first(F.when(F.col("_run") == 0, F.col(col)), ignorenulls=True).alias(f"{col}_refit_orig")]
    return runs.groupBy(NOTE_ID).agg(*aggs)


def pseudo_rater_bounds_local(local: LocalRatings, selected: np.ndarray, cfg: MFConfig,
                              spark: SparkSession) -> DataFrame:
    """`pseudo_rater_bounds` on collected ratings (cnscore.scoring.local_estimates): the
    same four refits with the same solve, on the `selected` rows (the final round)."""
    rows = local.rows.loc[selected, [NOTE_ID, P.NOTE_IDX, P.RATER_IDX, RatingCols.HELPFUL_NUM]]
    used = local.rater_params[local.rater_params[P.RATER_IDX].isin(np.unique(rows[P.RATER_IDX]))]
    num_ratings, notes = len(rows), rows.drop_duplicates(P.NOTE_IDX)[[P.NOTE_IDX, NOTE_ID]]
    num_notes, next_idx = len(notes), int(used[P.RATER_IDX].max()) + 1
    min_intercept = float(used["intercept"].min())
    min_factor, max_factor = float(used["factor1"].min()), float(used["factor1"].max())
    runs = [frozen_notes(LocalRatings(rows, used, local.global_intercept), np.ones(num_ratings, dtype=bool),
                         _refit_config(cfg, num_ratings / num_notes))]
    ratio = (num_ratings + num_notes) / num_notes
    for run, factor in enumerate((min_factor, 0.0, max_factor)):
        pseudo = pd.DataFrame({P.RATER_IDX: next_idx + run, "intercept": min_intercept, "factor1": factor},
                              index=[0])
        extra = notes.assign(**{P.RATER_IDX: next_idx + run, RatingCols.HELPFUL_NUM: 1.0})
        both = pd.concat([rows, extra], ignore_index=True)
        refit = LocalRatings(both, pd.concat([used, pseudo], ignore_index=True), local.global_intercept)
        runs.append(frozen_notes(refit, np.ones(len(both), dtype=bool), _refit_config(cfg, ratio)))
    table = pd.DataFrame({NOTE_ID: runs[0][NOTE_ID].to_numpy()})
    for col in (P.NOTE_INTERCEPT, "internalNoteFactor1"):
        # Every run has every note, in the same (dense id) order.
        values = np.column_stack([r[col].to_numpy(float) for r in runs])
        table[f"{col}_min"], table[f"{col}_median"] = values.min(axis=1), np.median(values, axis=1)
        table[f"{col}_max"], table[f"{col}_refit_orig"] = values.max(axis=1), values[:, 0]
    return params_frame(spark, table, f"{NOTE_ID} bigint", [c for c in table.columns if c != NOTE_ID])
