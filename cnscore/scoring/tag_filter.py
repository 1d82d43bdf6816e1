"""Tag outlier filter (shared docs/reference.md §4.7; the reference's `tag_filter.py`).

A note is tag-filtered when, for some not-helpful tag, raters close to the note in factor space
used that tag a lot: both the distance-weighted tag total and its share of the note's total
weight must be high. The share is compared with a per-tag threshold computed in prescoring (a
high percentile of the share over the notes that were CRH in round 1), so a tag that every
note collects (e.g. "missing key points") needs far more of it to fire than a rare one.

Reference behaviour kept on purpose (each checked against its source):
- Factors are z-normalized over *every* row of the factor tables given (population std), not
  only over the notes/raters that have ratings here.
- Ratings whose note or rater is missing from the factor tables are dropped; a null factor
  keeps the rating with a null weight, which every sum skips (pandas skips NaN).
- The normalizing distance is the exact 40th percentile (linear interpolation) of all the
  ratings' distances; a note whose weights are all null gets totals 0 and ratios null.
- Thresholds are index `p` of `np.quantile(x, np.arange(0, 1, 0.01))`, i.e. the quantile at
  `p * 0.01`; a null ratio among the CRH notes makes numpy's threshold NaN (the tag then never
  fires), and no CRH note at all gives 0.0.
"""

from __future__ import annotations

import math

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.columns import NOT_HELPFUL_TAGS_TSV_ORDER, ParamCols, RatingCols
from cnscore.scoring.settings import ScoringConfig

NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
NOTE_FACTOR = f"{ParamCols.NOTE_FACTOR_PREFIX}1"
RATER_FACTOR = f"{ParamCols.RATER_FACTOR_PREFIX}1"
RATING_WEIGHT = "ratingWeight"
ACTIVE_FILTER_TAGS = "activeFilterTags"
TAG_FILTER_DETAIL = "tagFilterDetail"
# Weight falls off with the 5th power of distance / p40 (w = 0.5 at the 40th percentile).
_WEIGHT_EXPONENT = 5.0


def adjusted_col(tag: str) -> str:
    """`<tag>Adjusted`: the note's distance-weighted count of `tag` (aux_note_info name)."""
    return f"{tag}Adjusted"


def ratio_col(tag: str) -> str:
    """`<tag>AdjustedRatio`: `<tag>Adjusted` / ratingWeight (aux_note_info name)."""
    return f"{tag}AdjustedRatio"


def _z_normalized(factors: DataFrame, key: str, factor: str, out: str) -> DataFrame:
    """key, out = (factor - mean) / population std, over all rows of `factors`."""
    stats = factors.agg(F.avg(factor).alias("_mean"), F.stddev_pop(factor).alias("_std"))
    # try_divide: a constant factor gives numpy 0/0 = NaN; here null (ANSI would raise).
    return factors.select(key, factor).crossJoin(stats).select(
        key, F.try_divide(F.col(factor) - F.col("_mean"), F.col("_std")).alias(out)
    )


def _weight(distance: Column, p40: Column) -> Column:
    """1 / (1 + (d / p40)^5); numpy's results when p40 == 0 (d > 0: 0.0, d == 0: NaN, here null)."""
    scaled = F.pow(distance / p40, F.lit(_WEIGHT_EXPONENT))
    return F.when(p40 > 0, 1.0 / (1.0 + scaled)).when(distance > 0, F.lit(0.0))


def adjusted_tag_ratios(
    ratings: DataFrame, note_factors: DataFrame, rater_factors: DataFrame, cfg: ScoringConfig
) -> DataFrame:
    """Distance-weighted not-helpful tag totals and ratios per note (§4.7 steps 1-4).

    Args:
        ratings: noteId, raterParticipantId and the 13 not-helpful tag columns (0/1; null = 0).
            Pass all of the model's ratings: the weights' scale (p40) is taken over them.
        note_factors: noteId, internalNoteFactor1; one row per note (the notes of the fit).
        rater_factors: raterParticipantId, internalRaterFactor1; one row per rater.
        cfg: `tag_normalization_percentile` (40).

    Returns:
        One row per note with at least one rating left after joining both factor tables:
        noteId, ratingWeight, `<tag>Adjusted` for every tag, then `<tag>AdjustedRatio` for
        every tag (tags in NOT_HELPFUL_TAGS_TSV_ORDER; ratio null when ratingWeight is 0).
        Lazy: persist `ratings` first if this and other stages read it.
    """
    notes = _z_normalized(note_factors, NOTE_ID, NOTE_FACTOR, "_noteZ")
    raters = _z_normalized(rater_factors, RATER_ID, RATER_FACTOR, "_raterZ")
    tags = [
        F.coalesce(F.col(t), F.lit(0)).cast("double").alias(t) for t in NOT_HELPFUL_TAGS_TSV_ORDER
    ]
    joined = (
        ratings.select(NOTE_ID, RATER_ID, *tags)
        .join(notes, NOTE_ID)
        .join(raters, RATER_ID)
        .withColumn("_distance", F.abs(F.col("_raterZ") - F.col("_noteZ")))
    )
    # Exact percentile (linear interpolation, nulls skipped) = np.nanpercentile.
    p40 = joined.agg(
        F.percentile("_distance", F.lit(cfg.tag_normalization_percentile / 100.0)).alias("_p40")
    )
    weighted = joined.crossJoin(p40).withColumn(
        RATING_WEIGHT, _weight(F.col("_distance"), F.col("_p40"))
    )
    # pandas' groupby-sum skips NaN weights and gives 0 for an all-NaN group: coalesce to 0.
    sums = [F.coalesce(F.sum(RATING_WEIGHT), F.lit(0.0)).alias(RATING_WEIGHT)] + [
        F.coalesce(F.sum(F.col(RATING_WEIGHT) * F.col(t)), F.lit(0.0)).alias(adjusted_col(t))
        for t in NOT_HELPFUL_TAGS_TSV_ORDER
    ]
    totals = weighted.groupBy(NOTE_ID).agg(*sums)
    ratios = [
        F.try_divide(F.col(adjusted_col(t)), F.col(RATING_WEIGHT)).alias(ratio_col(t))
        for t in NOT_HELPFUL_TAGS_TSV_ORDER
    ]
    return totals.select("*", *ratios)


def tag_thresholds(
    adjusted: DataFrame, crh_note_ids: DataFrame, cfg: ScoringConfig
) -> dict[str, float]:
    """Per-tag AdjustedRatio threshold: its percentile over the given CRH notes (§4.7 step 5).

    Args:
        adjusted: output of `adjusted_tag_ratios` (prescoring: round-2 factors, all ratings).
        crh_note_ids: noteId of the notes that were CRH in round 1 (duplicates ignored).
        cfg: `tag_filter_percentile` (95; an integer index into 0, 0.01, ..., 0.99 as in the
            reference, so it must be in [0, 100)).

    Returns:
        {tag name: threshold} for all 13 not-helpful tags (keys are tag names such as
        "notHelpfulIncorrect", not the ratio column names). 0.0 for every tag when no CRH note
        has aggregates; NaN for a tag whose ratio is null on some CRH note (numpy's result).
    """
    index = int(round(cfg.tag_filter_percentile))
    if not 0 <= index < 100:
        raise ValueError(
            f"tag_filter_percentile must be in [0, 100), got {cfg.tag_filter_percentile}"
        )
    # np.arange(0, 1, 0.01)[k] is exactly k * 0.01 (e.g. 0.9500000000000001); use the same q.
    quantile = index * 0.01
    crh = adjusted.join(crh_note_ids.select(NOTE_ID).distinct(), NOTE_ID, "left_semi")
    aggs = [F.count(F.lit(1)).alias("_n")]
    for t in NOT_HELPFUL_TAGS_TSV_ORDER:
        aggs.append(F.percentile(ratio_col(t), F.lit(quantile)).alias(f"_q_{t}"))
        aggs.append(F.count(ratio_col(t)).alias(f"_c_{t}"))
    row = crh.agg(*aggs).first()
    if row is None or row["_n"] == 0:
        return {t: 0.0 for t in NOT_HELPFUL_TAGS_TSV_ORDER}
    return {
        t: float(row[f"_q_{t}"]) if row[f"_c_{t}"] == row["_n"] else math.nan
        for t in NOT_HELPFUL_TAGS_TSV_ORDER
    }


def filter_tags(cfg: ScoringConfig) -> list[str]:
    """The tags the filter checks: all not-helpful tags except `cfg.tag_filter_excluded_tags`."""
    return [t for t in NOT_HELPFUL_TAGS_TSV_ORDER if t not in cfg.tag_filter_excluded_tags]


def tag_filter_hits(
    adjusted: DataFrame, thresholds: dict[str, float], cfg: ScoringConfig
) -> DataFrame:
    """Notes on which the tag outlier filter fires (§4.7 step 6), with the reason.

    A tag fires when `<tag>Adjusted` > `cfg.min_adjusted_tag_total` and `<tag>AdjustedRatio` >
    `thresholds[tag]` (both strict; null or NaN never fires). Excluding CRNH notes is the
    status rule's job: this function looks at every note it is given.

    Args:
        adjusted: output of `adjusted_tag_ratios` (final scoring factors and ratings).
        thresholds: output of `tag_thresholds` from prescoring (keyed by tag name).
        cfg: `min_adjusted_tag_total`, `tag_filter_excluded_tags`.

    Returns:
        One row per note with at least one firing tag: noteId; activeFilterTags, the firing
        tags joined by "," in NOT_HELPFUL_TAGS_TSV_ORDER (as the reference's scored_notes
        column); tagFilterDetail, one "; "-separated clause per firing tag, e.g.
        "notHelpfulIncorrect adjusted 3.10 > 2.5 and ratio 0.420 > threshold 0.310".
    """
    names, details = [], []
    for tag in filter_tags(cfg):
        threshold = thresholds[tag]
        if math.isnan(threshold):
            continue  # numpy: x > NaN is False (Spark would order NaN above every value)
        total, ratio = F.col(adjusted_col(tag)), F.col(ratio_col(tag))
        above = (total > F.lit(cfg.min_adjusted_tag_total)) & (ratio > F.lit(threshold))
        fires = F.coalesce(above, F.lit(False))
        clause = F.format_string(
            f"{tag} adjusted %.2f > {cfg.min_adjusted_tag_total:g}"
            f" and ratio %.3f > threshold {threshold:.3f}",
            total,
            ratio,
        )
        names.append(F.when(fires, F.lit(tag)))
        details.append(F.when(fires, clause))
    if not names:
        return adjusted.sparkSession.createDataFrame(
            [], f"{NOTE_ID} bigint, {ACTIVE_FILTER_TAGS} string, {TAG_FILTER_DETAIL} string"
        )
    # concat_ws skips nulls, so only firing tags are listed; "" means none fired.
    hits = adjusted.select(
        NOTE_ID,
        F.concat_ws(",", *names).alias(ACTIVE_FILTER_TAGS),
        F.concat_ws("; ", *details).alias(TAG_FILTER_DETAIL),
    )
    return hits.where(F.col(ACTIVE_FILTER_TAGS) != "")
