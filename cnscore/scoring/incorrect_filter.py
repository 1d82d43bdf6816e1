"""Incorrect filter (shared docs/reference.md §4.8, §4.4.12; reference: `incorrect_filter.py`).

A note is filtered when raters whose (clipped) factor is close to the note's own call it
"incorrect" more often than those raters' own habits explain: the count of Incorrect tags is
divided by ln(1 + Σ p_u), where p_u is each rater's share of Incorrect among their
not-helpful-tagged ratings (a TF-IDF-like score). Only ratings carrying at least one
not-helpful tag take part, both in p_u and on the note.

Reference behaviour kept on purpose:
- Factors are the raw (not normalized) factors, clipped to ±`incorrect_factor_clip`; the
  interval test is strict (< half width). A rater without propensity counts gets p_u = 0.
- Σ p_u = 0 with Incorrect tags gives tf-idf +inf (numpy n/0), which passes the filter;
  0/0 (numpy NaN) is null here, which fails it like NaN does in pandas.
- Notes with no qualifying rating get no row (the reference's outer merge leaves them empty).
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.columns import NOT_HELPFUL_TAGS_TSV_ORDER, ParamCols, RatingCols
from cnscore.scoring.settings import ScoringConfig

NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
NOTE_FACTOR = f"{ParamCols.NOTE_FACTOR_PREFIX}1"
RATER_FACTOR = f"{ParamCols.RATER_FACTOR_PREFIX}1"
INCORRECT_TAG = "notHelpfulIncorrect"
RATER_INCORRECT = "incorrectTagRatingsMadeByRater"
RATER_TOTAL = "totalRatingsMadeByRater"
# aux_note_info names.
INCORRECT_INTERVAL = "notHelpfulIncorrect_interval"
P_INCORRECT_INTERVAL = "p_incorrect_user_interval"
VOTERS_INTERVAL = "num_voters_interval"
TFIDF_INTERVAL = "tf_idf_incorrect_interval"
INTERVAL_COLUMNS = (INCORRECT_INTERVAL, P_INCORRECT_INTERVAL, VOTERS_INTERVAL, TFIDF_INTERVAL)


def _tag(name: str) -> Column:
    return F.coalesce(F.col(name), F.lit(0)).cast("long")


def _not_helpful_tagged(ratings: DataFrame) -> DataFrame:
    """The ratings with at least one not-helpful tag set."""
    total = reduce(lambda a, b: a + b, [_tag(t) for t in NOT_HELPFUL_TAGS_TSV_ORDER])
    return ratings.where(total > 0)


def rater_incorrect_propensity(ratings: DataFrame) -> DataFrame:
    """Each rater's use of the Incorrect tag among their not-helpful-tagged ratings (§4.4.12).

    Args:
        ratings: all of the model's ratings (prescoring): raterParticipantId, noteId and the
            13 not-helpful tag columns (null = 0).

    Returns:
        raterParticipantId, incorrectTagRatingsMadeByRater (bigint: such ratings with
        Incorrect), totalRatingsMadeByRater (bigint: such ratings); only raters with at least
        one not-helpful-tagged rating.
    """
    return (
        _not_helpful_tagged(ratings)
        .groupBy(RATER_ID)
        .agg(
            F.sum(_tag(INCORRECT_TAG)).alias(RATER_INCORRECT),
            F.count(F.lit(1)).alias(RATER_TOTAL),
        )
    )


def _clipped(name: str, clip: float) -> Column:
    return F.least(F.greatest(F.col(name), F.lit(-clip)), F.lit(clip))


def incorrect_interval_stats(
    ratings: DataFrame,
    note_factors: DataFrame,
    rater_factors: DataFrame,
    propensity: DataFrame,
    cfg: ScoringConfig,
) -> DataFrame:
    """Per-note Incorrect statistics over nearby raters' not-helpful-tagged ratings (§4.8).

    Args:
        ratings: the model's final-scoring ratings: noteId, raterParticipantId, the 13
            not-helpful tags.
        note_factors: noteId, internalNoteFactor1 (final fit).
        rater_factors: raterParticipantId, internalRaterFactor1 (the raters of the final fit;
            ratings by raters absent here are ignored).
        propensity: output of `rater_incorrect_propensity` (prescoring).
        cfg: `incorrect_factor_clip` (0.4), `incorrect_interval_half_width` (0.3).

    Returns:
        One row per note with at least one qualifying rating: noteId,
        notHelpfulIncorrect_interval (bigint), p_incorrect_user_interval (double, Σ p_u),
        num_voters_interval (bigint), tf_idf_incorrect_interval (double).
    """
    clip = cfg.incorrect_factor_clip
    near = F.abs(_clipped(RATER_FACTOR, clip) - _clipped(NOTE_FACTOR, clip)) < F.lit(
        cfg.incorrect_interval_half_width
    )
    share = F.try_divide(F.col(RATER_INCORRECT), F.col(RATER_TOTAL)).cast("double")
    p_user = F.coalesce(share, F.lit(0.0))
    rows = (
        _not_helpful_tagged(ratings)
        .select(NOTE_ID, RATER_ID, _tag(INCORRECT_TAG).alias(INCORRECT_TAG))
        .join(note_factors.select(NOTE_ID, NOTE_FACTOR), NOTE_ID)
        .join(rater_factors.select(RATER_ID, RATER_FACTOR), RATER_ID)
        .join(propensity.select(RATER_ID, RATER_INCORRECT, RATER_TOTAL), RATER_ID, "left")
        .where(near)  # a null factor fails the test, as NaN < 0.3 does in pandas
    )
    stats = rows.groupBy(NOTE_ID).agg(
        F.sum(INCORRECT_TAG).alias(INCORRECT_INTERVAL),
        F.sum(p_user).alias(P_INCORRECT_INTERVAL),
        F.count(F.lit(1)).alias(VOTERS_INTERVAL),
    )
    log_term = F.log(1.0 + F.col(P_INCORRECT_INTERVAL))  # np.log(1 + x), not log1p
    tfidf = (
        F.when(log_term > 0, F.col(INCORRECT_INTERVAL) / log_term)
        .when(F.col(INCORRECT_INTERVAL) > 0, F.lit(float("inf")))
    )
    return stats.select(
        NOTE_ID,
        INCORRECT_INTERVAL,
        P_INCORRECT_INTERVAL,
        VOTERS_INTERVAL,
        tfidf.alias(TFIDF_INTERVAL),
    )


def incorrect_filter_fires(cfg: ScoringConfig) -> Column:
    """True when the incorrect filter fires, over the `incorrect_interval_stats` columns.

    Incorrect count >= `incorrect_min_tags`, voters >= `incorrect_min_voters` and tf-idf >=
    `incorrect_min_tfidf` (all inclusive, as the reference); missing statistics give False.
    Excluding CRNH notes is the status rule's job.
    """
    fires = (
        (F.col(INCORRECT_INTERVAL) >= F.lit(cfg.incorrect_min_tags))
        & (F.col(VOTERS_INTERVAL) >= F.lit(cfg.incorrect_min_voters))
        & (F.col(TFIDF_INTERVAL) >= F.lit(cfg.incorrect_min_tfidf))
    )
    return F.coalesce(fires, F.lit(False))


def incorrect_filter_detail(cfg: ScoringConfig) -> Column:
    """Human-readable reason when `incorrect_filter_fires(cfg)` is true, else null.

    E.g. "notHelpfulIncorrect_interval 3 >= 2, num_voters_interval 4 >= 3,
    tf_idf_incorrect_interval 2.871 >= 2.5 (p_incorrect_user_interval 1.850)".
    """
    text = F.format_string(
        f"{INCORRECT_INTERVAL} %d >= {cfg.incorrect_min_tags}, "
        f"{VOTERS_INTERVAL} %d >= {cfg.incorrect_min_voters}, "
        f"{TFIDF_INTERVAL} %.3f >= {cfg.incorrect_min_tfidf:g} ({P_INCORRECT_INTERVAL} %.3f)",
        F.col(INCORRECT_INTERVAL).cast("long"),
        F.col(VOTERS_INTERVAL).cast("long"),
        F.col(TFIDF_INTERVAL),
        F.col(P_INCORRECT_INTERVAL),
    )
    return F.when(incorrect_filter_fires(cfg), text)
