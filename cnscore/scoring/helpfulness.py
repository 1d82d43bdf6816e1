"""Valid ratings and rater helpfulness (shared docs/reference.md §4.4.5-4.4.8).

A rating is valid when it was made within 48 h of the note and before the note's latest
non-NMR status (for notes created before the tombstones launch: the first 5 such ratings),
is binary (helpfulNum 0 or 1), and its note is CRH or CRNH now. Raters pass the helpfulness
threshold on their agreement ratio (optionally penalized for helpful ratings on notes the
harassment model flags) and, for authors, on their notes' statuses and mean intercept.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from cnscore.columns import RatingCols, StatusHistoryCols
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status import CRH, CRNH

NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
HELPFUL_NUM, CREATED = RatingCols.HELPFUL_NUM, RatingCols.CREATED_AT
LATEST_NON_NMR = "timestampMillisOfLatestNonNMRStatus"
RATING_STATUS = "ratingStatus"


def ratings_before_status(ratings: DataFrame, history: DataFrame, cfg: ScoringConfig) -> DataFrame:
    """Ratings made early enough to count (48 h; before the latest non-NMR status or, for old
    notes, among the first few); keeps noteId, raterParticipantId, helpfulNum, createdAtMillis."""
    note_times = history.select(NOTE_ID, F.col(StatusHistoryCols.CREATED_AT).alias("_noteCreated"),
                                F.col(LATEST_NON_NMR).alias("_latest"))
    joined = ratings.select(NOTE_ID, RATER_ID, HELPFUL_NUM, CREATED).join(note_times, NOTE_ID, "left")
    in_window = (F.col(CREATED) - F.col("_noteCreated")) < cfg.public_tsv_delay_millis
    old_note = F.col("_noteCreated") < cfg.tombstones_launch_millis
    before_status = F.col("_latest").isNull() | (F.col(CREATED) < F.col("_latest"))
    # Ties in time are broken by rater id so the "first five" never depend on partitioning.
    order = Window.partitionBy(NOTE_ID).orderBy(CREATED, RATER_ID)
    old = joined.where(old_note & in_window).withColumn("_rank", F.row_number().over(order))
    old = old.where(F.col("_rank") <= cfg.max_historical_valid_ratings).drop("_rank")
    new = joined.where(~old_note & in_window & before_status)
    return old.unionByName(new).drop("_noteCreated", "_latest")


def valid_ratings(ratings: DataFrame, history: DataFrame, note_status: DataFrame,
                  cfg: ScoringConfig) -> DataFrame:
    """Valid ratings with their outcome flags (successful / unsuccessful by kind).

    note_status: noteId, ratingStatus (this round's statuses).
    """
    early = ratings_before_status(ratings, history, cfg)
    decided = note_status.where(F.col(RATING_STATUS).isin(CRH, CRNH)).select(NOTE_ID, RATING_STATUS)
    rated = early.join(decided, NOTE_ID).where(F.col(HELPFUL_NUM).isin(0.0, 1.0))
    on_crh, on_crnh = F.col(RATING_STATUS) == CRH, F.col(RATING_STATUS) == CRNH
    helpful, not_helpful = F.col(HELPFUL_NUM) == 1.0, F.col(HELPFUL_NUM) == 0.0
    return rated.select(
        NOTE_ID, RATER_ID, HELPFUL_NUM, CREATED, RATING_STATUS,
        (on_crh & helpful).alias("successfulRatingHelpfulCount"),
        (on_crnh & not_helpful).alias("successfulRatingNotHelpfulCount"),
        # The reference's names: "unsuccessful helpful count" counts NOT_HELPFUL on CRH.
        (on_crh & not_helpful).alias("unsuccessfulRatingHelpfulCount"),
        (on_crnh & helpful).alias("unsuccessfulRatingNotHelpfulCount"),
        ((on_crh & helpful) | (on_crnh & not_helpful)).alias("ratingAgreesWithNoteStatus"),
    )


def helpfulness_scores(note_status: DataFrame, valid: DataFrame, training: DataFrame,
                       cfg: ScoringConfig, harassment: DataFrame | None = None) -> DataFrame:
    """Per participant: author and rater scores and aboveHelpfulnessThreshold.

    note_status: noteId, noteAuthorParticipantId, ratingStatus, internalNoteIntercept.
    training: the count-filtered ratings (for the harassment penalty).
    harassment: noteId, harassmentNoteIntercept, or None (no penalty).
    """
    scored = note_status.where(F.col("internalNoteIntercept").isNotNull())
    authors = scored.groupBy(F.col(StatusHistoryCols.AUTHOR_ID).alias(RATER_ID)).agg(
        F.count(F.lit(1)).alias("_notes"),
        F.sum((F.col(RATING_STATUS) == CRH).cast("int")).alias("_crh"),
        F.sum((F.col(RATING_STATUS) == CRNH).cast("int")).alias("_crnh"),
        F.sum("internalNoteIntercept").alias("_interceptSum"),
    ).select(
        RATER_ID,
        (F.col("_crh") / F.col("_notes") - cfg.crnh_multiplier * F.col("_crnh") / F.col("_notes"))
        .alias("crhCrnhRatioDifference"),
        (F.col("_interceptSum") / F.col("_notes")).alias("meanNoteScore"),
    )
    flags = ["successfulRatingHelpfulCount", "successfulRatingNotHelpfulCount",
             "unsuccessfulRatingHelpfulCount", "unsuccessfulRatingNotHelpfulCount"]
    raters = valid.groupBy(RATER_ID).agg(
        *[F.sum(F.col(f).cast("int")).alias(f) for f in flags],
        F.sum(F.col("ratingAgreesWithNoteStatus").cast("int")).alias("_agree"),
        F.count(F.lit(1)).alias("_valid"),
    )
    scores = authors.join(raters, RATER_ID, "full_outer")
    penalty = _harassment_penalty(training, harassment, cfg)
    scores = scores.join(penalty, RATER_ID, "left").fillna(0.0, ["totalHelpfulHarassmentRatingsPenalty"])
    ratio = F.col("_agree") / F.col("_valid")
    penalized = (F.col("_agree") - F.col("totalHelpfulHarassmentRatingsPenalty")) / F.col("_valid")
    diff, mean = F.col("crhCrnhRatioDifference"), F.col("meanNoteScore")
    author_ok = ((diff >= cfg.min_crh_vs_crnh_ratio) & (mean >= cfg.min_mean_note_score)) | (
        diff.isNull() & mean.isNull())
    above = F.coalesce(author_ok & (ratio >= cfg.min_rater_agree_ratio)
                       & (penalized >= cfg.min_rater_agree_ratio), F.lit(False))
    return scores.select(
        RATER_ID, "crhCrnhRatioDifference", "meanNoteScore", ratio.alias("raterAgreeRatio"), *flags,
        "totalHelpfulHarassmentRatingsPenalty",
        penalized.alias("raterAgreeRatioWithHarassmentAbusePenalty"),
        above.alias("aboveHelpfulnessThreshold"),
    )


def _harassment_penalty(training: DataFrame, harassment: DataFrame | None, cfg: ScoringConfig) -> DataFrame:
    spark = training.sparkSession
    if harassment is None:
        return spark.createDataFrame([], f"{RATER_ID} string, totalHelpfulHarassmentRatingsPenalty double")
    flagged = harassment.where(F.col("harassmentNoteIntercept") >= cfg.harassment_min_intercept)
    per_rating = F.lit(cfg.harassment_penalty)
    if cfg.harassment_multiply_by_score:
        per_rating = per_rating * F.col("harassmentNoteIntercept") / cfg.harassment_min_intercept
    helpful = training.where(F.col(HELPFUL_NUM) == 1.0).join(flagged, NOTE_ID)
    return helpful.groupBy(RATER_ID).agg(F.sum(per_rating).alias("totalHelpfulHarassmentRatingsPenalty"))


def above_threshold_raters(scores: DataFrame) -> DataFrame:
    """raterParticipantId of raters who pass."""
    return scores.where(F.col("aboveHelpfulnessThreshold")).select(RATER_ID)


def everyone_helpful(raters: DataFrame) -> DataFrame:
    """The helpfulness table of a model without the reputation filter (topic models): every
    rater with parameters is above the threshold; the scores themselves are null (§4.4)."""
    scores = ["crhCrnhRatioDifference", "meanNoteScore", "raterAgreeRatio",
              "raterAgreeRatioWithHarassmentAbusePenalty"]
    return raters.select(RATER_ID, *[F.lit(None).cast("double").alias(c) for c in scores],
                         F.lit(True).alias("aboveHelpfulnessThreshold"))
