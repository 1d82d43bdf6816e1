"""High-volume raters (shared docs/reference.md §1.6 step 3; `tag_high_volume_raters`).

For each window (7 and 28 days ending at the run time) count each rater's ratings; among the
raters active in the window (count >= 1) take the exact linear-interpolation percentile
(`percentile`, as pandas' `quantile`; `percentile_approx` would move the boundary). A rater
is high-volume when strictly above that percentile in either window.

The run time is `epoch_millis` when given, else the latest rating time (the reference).
Window membership is `end - days < createdAtMillis <= end`, as the reference's `> cutoff`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import RatingCols
from cnscore.config import CoordinationConfig
from cnscore.coordination.schemas import CoordCols

DAY_MILLIS = 86_400_000
R, C = RatingCols, CoordCols


@dataclass(frozen=True)
class HighVolumeResult:
    """Per-rater counts and flag, and one row per window with its threshold."""

    raters: DataFrame  # raterParticipantId, ratings<d>d per window, isHighVolume
    windows: DataFrame  # windowDays, activeRaters, threshold, flaggedRaters


def window_count_col(days: int) -> str:
    return f"ratings{days}d"


def high_volume_raters(
    ratings: DataFrame, cfg: CoordinationConfig, *, epoch_millis: int | None = None
) -> HighVolumeResult:
    """Flag raters whose recent rating count is strictly above the configured percentile.

    Args:
        ratings: at least raterParticipantId, noteId, createdAtMillis.
        cfg: windows, quantile and the optional small-data switch.
        epoch_millis: end of the windows; None = the latest rating time.

    Returns:
        HighVolumeResult; every rater of `ratings` has a row in `raters`.

    Example:
        >>> high_volume_raters(ratings, CoordinationConfig()).raters.where("isHighVolume")
    """
    days = (cfg.high_volume_short_days, cfg.high_volume_long_days)
    t = F.col(R.CREATED_AT)
    if epoch_millis is None:
        # One-row frame, cross-joined (broadcast): keeps the stage lazy, no driver round trip.
        end = ratings.agg(F.max(t).alias("_end"))
    else:
        end = ratings.sparkSession.range(1).select(
            F.lit(int(epoch_millis)).cast("long").alias("_end")
        )
    dated = ratings.select(R.RATER_ID, R.CREATED_AT).crossJoin(F.broadcast(end))
    counts = dated.groupBy(R.RATER_ID).agg(
        *[
            F.count_if((t > F.col("_end") - d * DAY_MILLIS) & (t <= F.col("_end"))).alias(
                window_count_col(d)
            )
            for d in days
        ]
    )
    # Exact percentile over active raters only: inactive raters are null and skipped.
    thresholds = counts.agg(
        *[
            F.percentile(
                F.when(F.col(window_count_col(d)) > 0, F.col(window_count_col(d))).cast("double"),
                F.lit(cfg.high_volume_quantile),
            ).alias(f"_thr{d}")
            for d in days
        ],
        *[F.count_if(F.col(window_count_col(d)) > 0).alias(f"_active{d}") for d in days],
    )
    above = [F.coalesce(F.col(window_count_col(d)) > F.col(f"_thr{d}"), F.lit(False)) for d in days]
    flagged = above[0] | above[1]
    if cfg.high_volume_skip_below_notes is not None:
        # The reference's test-data switch, kept only as an explicit opt-in.
        num_notes = ratings.select(R.NOTE_ID).distinct().count()
        if num_notes < cfg.high_volume_skip_below_notes:
            flagged = F.lit(False)
    scored = counts.crossJoin(F.broadcast(thresholds))
    raters = scored.select(
        R.RATER_ID,
        *[F.col(window_count_col(d)).cast("long") for d in days],
        *[a.alias(f"_above{d}") for a, d in zip(above, days)],
        flagged.alias(C.IS_HIGH_VOLUME),
    )
    windows = _window_rows(raters, thresholds, days)
    return HighVolumeResult(raters.drop(*[f"_above{d}" for d in days]), windows)


def _window_rows(raters: DataFrame, thresholds: DataFrame, days: tuple[int, int]) -> DataFrame:
    flagged = raters.agg(*[F.count_if(F.col(f"_above{d}")).alias(f"_flagged{d}") for d in days])
    both = thresholds.crossJoin(flagged)
    rows = F.array(
        *[
            F.struct(
                F.lit(d).alias("windowDays"),
                F.col(f"_active{d}").cast("long").alias("activeRaters"),
                F.col(f"_thr{d}").alias("threshold"),
                F.col(f"_flagged{d}").cast("long").alias("flaggedRaters"),
            )
            for d in days
        ]
    )
    return both.select(F.inline(rows))
