"""High-volume raters: the exact 99.9th percentile and its strict boundary."""

from __future__ import annotations

from chispa import assert_approx_df_equality

from cnscore.config import CoordinationConfig
from cnscore.coordination.high_volume import high_volume_raters
from tests.coordination.frames import DAY, T0, ratings_df

END = T0 + 40 * DAY  # the latest rating


def _ratings(spark):
    counts_7d = {"a": 1, "b": 1, "c": 1, "d": 5, "e": 5}
    rows, note = [], iter(range(1, 1000))
    for rater, n in counts_7d.items():
        rows += [(next(note), rater, END - i * 3_600_000, "HELPFUL") for i in range(n)]
    rows += [
        (next(note), "f", END - (8 + 2 * i) * DAY, "HELPFUL") for i in range(9)
    ]  # 8..24 days ago
    rows.append((next(note), "g", END - 7 * DAY, "HELPFUL"))  # exactly 7 days: only in 28d
    rows.append((next(note), "h", END - 28 * DAY, "HELPFUL"))  # exactly 28 days: in neither
    return ratings_df(spark, rows)


def test_strictly_above_the_exact_percentile(spark):
    result = high_volume_raters(_ratings(spark), CoordinationConfig())
    flags = {
        r.raterParticipantId: (r.ratings7d, r.ratings28d, r.isHighVolume)
        for r in result.raters.collect()
    }
    # 7d counts of active raters: [1, 1, 1, 5, 5]; position 0.999 * 4 = 3.996 lies between
    # two 5s -> threshold 5.0: d and e sit on it, not strictly above -> not flagged.
    # 28d: a, b, c, g = 1; d, e = 5; f = 9 -> [1,1,1,1,5,5,9]; position 0.999 * 6 = 5.994
    # -> 5 + 0.994 * (9 - 5) = 8.976 -> f (9) is flagged. h (exactly 28 days) is inactive.
    assert flags == {
        "a": (1, 1, False),
        "b": (1, 1, False),
        "c": (1, 1, False),
        "d": (5, 5, False),
        "e": (5, 5, False),
        "f": (0, 9, True),
        "g": (0, 1, False),
        "h": (0, 0, False),
    }
    expected = spark.createDataFrame(
        [(7, 5, 5.0, 0), (28, 7, 8.976, 1)], schema=result.windows.schema
    )
    assert_approx_df_equality(result.windows, expected, precision=1e-9, ignore_row_order=True)


def test_explicit_run_time_moves_the_windows(spark):
    # Run time ten days after the last rating: the 7d window (END+3d, END+10d] is empty. The
    # 28d window (END-18d, END+10d] keeps a..e, g (7 days ago) and f's ratings 8..16 days
    # ago (5 of them; 18 days ago is on the open boundary): [1,1,1,1,5,5,5], position 5.994
    # between two 5s -> threshold 5.0, and f = 5 is not strictly above it.
    result = high_volume_raters(_ratings(spark), CoordinationConfig(), epoch_millis=END + 10 * DAY)
    flags = {
        r.raterParticipantId: (r.ratings7d, r.ratings28d, r.isHighVolume)
        for r in result.raters.collect()
    }
    assert flags["f"] == (0, 5, False)
    assert not any(v[2] for v in flags.values())
    windows = {r.windowDays: (r.activeRaters, r.threshold) for r in result.windows.collect()}
    assert windows[7] == (0, None)  # nobody active: no threshold, nobody flagged
    assert windows[28] == (7, 5.0)


def test_small_data_switch_is_opt_in(spark):
    ratings = _ratings(spark)
    off = high_volume_raters(ratings, CoordinationConfig(high_volume_skip_below_notes=200))
    assert off.raters.where("isHighVolume").count() == 0  # 25 notes < 200: the reference's switch
    assert (
        high_volume_raters(ratings, CoordinationConfig()).raters.where("isHighVolume").count() == 1
    )
