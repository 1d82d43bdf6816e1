"""The Gaussian scorer's note scores in Spark (shared docs/reference.md §5.5).

The reference's GaussianScorer (gaussian_scorer.py) scores each note twice with a
factor-conditional kernel smoother (the math: `cnscore.scoring.gaussian_kernel`):
- CRH pass over the note's ratings plus one synthetic HELPFUL rating by the note's author
  (when the author has a rater factor and has not rated the note),
- CRNH pass over the real ratings only, values flipped.
The Gaussian intercept is -(CRNH score) when that is strictly larger in magnitude than the
CRH score, else the CRH score. The note factor here is the CRH pass's estimate m; the
reference prefers the frozen-rater MF note factor (§3.7) where it has one, which is the
caller's to coalesce.

Inputs are the model's final-round ratings, already filtered as the model wants them (the
reference: notes with >= 5 ratings, raters with Core prescoring parameters and above the
helpfulness threshold), and Core prescoring rater factors. Ratings by raters without a
factor are left out. Status rules on the intercept are not here (ScoringConfig thresholds).

Each note's ratings must be in one place, but one UDF call per note would be ~100x slower:
notes are hashed into `num_buckets` groups and each grouped-pandas call scores a whole
bucket in vectorised numpy. The kernel sorts rows canonically, so results do not depend on
the partitioning or on the order rows arrive in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import NoteCols, ParamCols, RatingCols
from cnscore.preprocess import LEVEL_TO_NUM
from cnscore.scoring.gaussian_kernel import (
    CRNH_PASS,
    QUANTILE_RANGE,
    SMOOTHED_RANGE,
    GaussianConfig,
    GaussianPass,
    note_scores,
)

__all__ = ["CRNH_PASS", "QUANTILE_RANGE", "SMOOTHED_RANGE", "GaussianConfig", "GaussianPass",
           "gaussian_scores", "local_columns", "score_rows", "OUTPUT_COLUMNS"]

NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
HELPFUL_NUM, LEVEL = RatingCols.HELPFUL_NUM, RatingCols.HELPFULNESS_LEVEL
RATER_FACTOR = ParamCols.RATER_FACTOR_PREFIX + "1"  # internalRaterFactor1

# Output columns. CRH_SCORE and CRNH_SCORE are both geometric means in [0, 1]; the
# intercept carries the sign (negative: the CRNH pass won).
CRH_SCORE = "gaussianCrhScore"
CRNH_SCORE = "gaussianCrnhScore"
NOTE_INTERCEPT = ParamCols.NOTE_INTERCEPT  # internalNoteIntercept
NOTE_FACTOR = ParamCols.NOTE_FACTOR_PREFIX + "1"  # internalNoteFactor1: the estimate m
NUM_RATINGS = "numRatings"  # real ratings with a rater factor (no author row)
OUTPUT_COLUMNS = (NOTE_ID, CRH_SCORE, CRNH_SCORE, NOTE_INTERCEPT, NOTE_FACTOR, NUM_RATINGS)
OUTPUT_SCHEMA = (f"{NOTE_ID} bigint, {CRH_SCORE} double, {CRNH_SCORE} double, "
                 f"{NOTE_INTERCEPT} double, {NOTE_FACTOR} double, {NUM_RATINGS} bigint")

_AUTHOR_ROW = "_authorRow"  # true on the synthetic author ratings (CRH pass only)
_AUTHOR_FACTOR = "_authorFactor"  # the note author's rater factor, on every rating of the note
_BY_AUTHOR = "_byAuthor"  # this rating is the author's own
_BUCKET = "_bucket"
_KERNEL_RENAMES = {"noteId": NOTE_ID, "crh": CRH_SCORE, "crnh": CRNH_SCORE,
                   "intercept": NOTE_INTERCEPT, "factor": NOTE_FACTOR, "numRatings": NUM_RATINGS}


def _helpful_num(ratings: DataFrame):
    """helpfulNum if the ratings carry it, else from helpfulnessLevel (unknown levels: null)."""
    if HELPFUL_NUM in ratings.columns:
        return F.col(HELPFUL_NUM).cast("double")
    expr = None
    for level, value in LEVEL_TO_NUM.items():
        cond = F.col(LEVEL) == level
        expr = F.when(cond, F.lit(value)) if expr is None else expr.when(cond, F.lit(value))
    return expr.cast("double")


def _rater_factors(rater_factors: DataFrame) -> DataFrame:
    return (rater_factors.select(RATER_ID, F.col(RATER_FACTOR).cast("double").alias(RATER_FACTOR))
            .where(F.col(RATER_FACTOR).isNotNull() & ~F.isnan(F.col(RATER_FACTOR))))


def scoring_rows(ratings: DataFrame, rater_factors: DataFrame, cfg: GaussianConfig,
                 notes: DataFrame | None = None) -> DataFrame:
    """The UDF's input: noteId, helpfulNum, internalRaterFactor1 per rating by a rater with a
    factor, plus per row the note author's factor (_authorFactor, null: no author row) and
    whether this rating is the author's own (_byAuthor).

    The author row itself is made in the UDF, per note: one HELPFUL rating at _authorFactor
    unless some rating of the note is _byAuthor (the reference's _build_author_helpful_rows).
    Flags on the rows cost one join, where building the rows here would need an anti-join and
    a union that each re-read the ratings.
    """
    factors = _rater_factors(rater_factors)
    rated = (ratings.select(NOTE_ID, RATER_ID, _helpful_num(ratings).alias(HELPFUL_NUM))
             .where(F.col(HELPFUL_NUM).isNotNull())
             .join(factors, RATER_ID))
    return _with_author_columns(rated, factors, cfg, notes).select(NOTE_ID, HELPFUL_NUM, RATER_FACTOR,
                                                                   _AUTHOR_FACTOR, _BY_AUTHOR)


def local_columns(rows: DataFrame, rater_factors: DataFrame, cfg: GaussianConfig,
                  notes: DataFrame | None = None) -> DataFrame:
    """rows (ratings with noteId, raterParticipantId) plus internalRaterFactor1 (null: the
    rater has none) and the author columns of `scoring_rows`, for `score_rows` after a collect."""
    factors = _rater_factors(rater_factors)
    return _with_author_columns(rows.join(F.broadcast(factors), RATER_ID, "left"), factors, cfg, notes)


def _with_author_columns(rated: DataFrame, factors: DataFrame, cfg: GaussianConfig,
                         notes: DataFrame | None) -> DataFrame:
    if not (cfg.add_author_rating and notes is not None):
        return rated.withColumns({_AUTHOR_FACTOR: F.lit(None).cast("double"), _BY_AUTHOR: F.lit(False)})
    authors = (notes.select(NOTE_ID, F.col(NoteCols.AUTHOR_ID).alias("_author"))
               .where(F.col("_author").isNotNull()).dropDuplicates([NOTE_ID])
               .join(factors.withColumnRenamed(RATER_ID, "_author")
                     .withColumnRenamed(RATER_FACTOR, _AUTHOR_FACTOR), "_author"))
    return (rated.join(authors, NOTE_ID, "left")
            .withColumn(_BY_AUTHOR, F.coalesce(F.col(RATER_ID) == F.col("_author"), F.lit(False)))
            .drop("_author"))


def score_rows(rows: pd.DataFrame, cfg: GaussianConfig) -> pd.DataFrame:
    """`gaussian_scores` on collected rows (`local_columns`' columns, helpfulNum a double):
    the rows with a helpfulNum and a rater factor are scored, all in one call."""
    usable = rows[rows[HELPFUL_NUM].notna() & rows[RATER_FACTOR].notna()]
    if usable.empty:
        return pd.DataFrame({c: pd.Series([], dtype=np.int64 if c in (NOTE_ID, NUM_RATINGS) else float)
                             for c in OUTPUT_COLUMNS})
    return _score_bucket(cfg)(usable[[NOTE_ID, HELPFUL_NUM, RATER_FACTOR, _AUTHOR_FACTOR, _BY_AUTHOR]])


def _with_author_rows(pdf: pd.DataFrame) -> pd.DataFrame:
    """pdf (scoring_rows' columns) plus the synthetic author ratings, flagged _authorRow."""
    per_note = pdf.groupby(NOTE_ID, sort=False).agg(factor=(_AUTHOR_FACTOR, "first"), rated=(_BY_AUTHOR, "any"))
    new = per_note[per_note["factor"].notna() & ~per_note["rated"]]
    authored = pd.DataFrame({NOTE_ID: new.index.to_numpy(np.int64), HELPFUL_NUM: 1.0,
                             RATER_FACTOR: new["factor"].to_numpy(float), _AUTHOR_ROW: True})
    real = pdf[[NOTE_ID, HELPFUL_NUM, RATER_FACTOR]].assign(**{_AUTHOR_ROW: False})
    return pd.concat([real, authored], ignore_index=True) if len(authored) else real


def _score_bucket(cfg: GaussianConfig):
    def body(pdf: pd.DataFrame) -> pd.DataFrame:
        rows = _with_author_rows(pdf)
        out = note_scores(rows[NOTE_ID].to_numpy(np.int64), rows[HELPFUL_NUM].to_numpy(float),
                          rows[RATER_FACTOR].to_numpy(float), rows[_AUTHOR_ROW].to_numpy(bool), cfg)
        return out.rename(columns=_KERNEL_RENAMES)[list(OUTPUT_COLUMNS)]

    return body


def gaussian_scores(ratings: DataFrame, rater_factors: DataFrame, cfg: GaussianConfig = GaussianConfig(),
                    notes: DataFrame | None = None) -> DataFrame:
    """One row per scored note: noteId, gaussianCrhScore, gaussianCrnhScore,
    internalNoteIntercept (the Gaussian intercept), internalNoteFactor1 (m), numRatings.

    ratings: noteId, raterParticipantId and helpfulNum or helpfulnessLevel (the model's
    final-round ratings). rater_factors: raterParticipantId, internalRaterFactor1 (Core
    prescoring), for every rater with a factor: the reference gives authors below the
    helpfulness threshold their HELPFUL row too, so that filter belongs on `ratings`, not
    here. notes: noteId, noteAuthorParticipantId, for the author's HELPFUL rating in
    the CRH pass (left out when None). A note is scored iff it has a rating by a rater with
    a factor.
    """
    rows = scoring_rows(ratings, rater_factors, cfg, notes)
    buckets = cfg.num_buckets or int(rows.sparkSession.conf.get("spark.sql.shuffle.partitions", "200"))
    bucketed = rows.withColumn(_BUCKET, F.pmod(F.xxhash64(F.col(NOTE_ID)), F.lit(buckets)))
    return bucketed.groupBy(_BUCKET).applyInPandas(_score_bucket(cfg), OUTPUT_SCHEMA)
