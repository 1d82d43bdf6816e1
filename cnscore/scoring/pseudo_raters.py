"""Pseudo-rater bounds on note intercepts (shared docs/reference.md §4.5 step 3).

Three extreme pseudo-raters (intercept = the lowest rater intercept; factor = lowest, 0,
highest) each add a HELPFUL rating to every note; the notes are refitted with raters and mu
frozen, once per pseudo-rater and once without ("refit_orig"). Min, median and max over the
four refits bound each note's intercept and factor; UcbCRNH reads the max intercept.

As in the reference, the refits regularize notes by lambda * (ratings / notes) of the refit's
own data, not by the prescoring ratio that the main final fit uses.
"""

from __future__ import annotations

import dataclasses

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import ParamCols, RatingCols
from cnscore.config import MFConfig
from cnscore.scoring.fits import IdSpace, fit_frozen

P = ParamCols
NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
PSEUDO_IDS = ("-1", "-2", "-3")  # the reference's ids for the three pseudo-raters


def pseudo_rater_bounds(ratings: DataFrame, ids: IdSpace, raters: DataFrame, global_intercept: float,
                        cfg: MFConfig) -> DataFrame:
    """noteId and internalNoteIntercept_{min,median,max,refit_orig}, internalNoteFactor1_{...}.

    ratings: the final round's densified ratings (noteId, noteIdx, raterIdx, helpfulNum, ...).
    raters: parameters of the raters in those ratings.
    """
    used = raters.join(ratings.select(P.RATER_IDX).distinct(), P.RATER_IDX, "left_semi")
    row = used.agg(F.min(P.RATER_INTERCEPT).alias("i"), F.min("internalRaterFactor1").alias("lo"),
                   F.max("internalRaterFactor1").alias("hi"), F.max(P.RATER_IDX).alias("top")).first()
    base = ratings.select(P.RATER_IDX, P.NOTE_IDX, NOTE_ID, RatingCols.HELPFUL_NUM)
    num_ratings, num_notes = base.count(), base.select(P.NOTE_IDX).distinct().count()
    notes = base.select(P.NOTE_IDX, NOTE_ID).distinct()
    fits = [_refit(base, ids, used, global_intercept, cfg, num_ratings / num_notes).withColumn("_run", F.lit(0))]
    for run, (pid, factor) in enumerate(zip(PSEUDO_IDS, (row["lo"], 0.0, row["hi"])), start=1):
        idx = int(row["top"]) + run
        pseudo = used.sparkSession.createDataFrame(
            [(pid, idx, float(row["i"]), float(factor))],
            f"{RATER_ID} string, {P.RATER_IDX} int, {P.RATER_INTERCEPT} double, internalRaterFactor1 double")
        extra = notes.select(F.lit(idx).alias(P.RATER_IDX), P.NOTE_IDX, NOTE_ID,
                             F.lit(1.0).alias(RatingCols.HELPFUL_NUM))
        ratio = (num_ratings + num_notes) / num_notes
        fits.append(_refit(base.unionByName(extra), ids, used.unionByName(pseudo), global_intercept, cfg, ratio)
                    .withColumn("_run", F.lit(run)))
    runs = fits[0]
    for f in fits[1:]:
        runs = runs.unionByName(f)
    aggs = []
    for col in (P.NOTE_INTERCEPT, "internalNoteFactor1"):
        aggs += [F.min(col).alias(f"{col}_min"), F.percentile(col, 0.5).alias(f"{col}_median"),
                 F.max(col).alias(f"{col}_max"),
                 F.first(F.when(F.col("_run") == 0, F.col(col)), ignorenulls=True).alias(f"{col}_refit_orig")]
    return runs.groupBy(NOTE_ID).agg(*aggs)


def _refit(ratings, ids, raters, global_intercept, cfg: MFConfig, ratio: float) -> DataFrame:
    refit_cfg = dataclasses.replace(cfg, rating_per_note_loss_ratio=ratio, flip_factors=False)
    return fit_frozen(ratings, ids, raters, global_intercept, refit_cfg).notes.select(
        NOTE_ID, P.NOTE_INTERCEPT, "internalNoteFactor1")
