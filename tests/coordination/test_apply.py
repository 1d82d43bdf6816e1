"""apply_post_selection (one rating per note per group) and the rating-level flags."""

from __future__ import annotations

from chispa import assert_df_equality

from cnscore.config import CoordinationConfig
from cnscore.coordination import apply_post_selection, with_high_volume_flag
from cnscore.coordination.schemas import RATER_FLAGS
from tests.coordination.frames import MISLEADING, T0, notes_df, ratings_df


def _inputs(spark):
    # Group 1 = {r1, r2, A (an author)}, group 2 = {r3, r4}; r6 in quasi-clique 1, r3 in 2.
    flags = spark.createDataFrame(
        [
            ("r1", False, 1, None),
            ("r2", False, 1, None),
            ("A", False, 1, None),
            ("r3", False, 2, 2),
            ("r4", True, 2, None),
            ("r5", False, None, None),
            ("r6", False, None, 1),
        ],
        schema=RATER_FLAGS,
    )
    notes = notes_df(
        spark,
        [(1, "A", T0, 10, MISLEADING), (2, "X", T0, 20, MISLEADING), (3, "r3", T0, 30, MISLEADING)],
    )
    ratings = ratings_df(
        spark,
        [
            (1, "r1", T0 + 10, "HELPFUL"),
            (1, "r2", T0 + 5, "HELPFUL"),
            (1, "r3", T0 + 7, "HELPFUL"),
            (1, "r5", T0 + 1, "HELPFUL"),
            (2, "r1", T0 + 3, "HELPFUL"),
            (2, "r2", T0 + 2, "HELPFUL"),
            (2, "r3", T0 + 9, "HELPFUL"),
            (2, "r4", T0 + 9, "HELPFUL"),
            (2, "r6", T0 + 4, "HELPFUL"),
            (3, "r4", T0 + 1, "HELPFUL"),
            (3, "r1", T0 + 2, "HELPFUL"),
        ],
    )
    return ratings, notes, flags


def test_one_rating_per_note_per_group(spark):
    ratings, notes, flags = _inputs(spark)
    kept = apply_post_selection(ratings, notes, flags)
    actual = kept.select("noteId", "raterParticipantId", "correlatedRater")
    # Note 1 (author A in group 1): group 1's r1 and r2 dropped; r3 (group 2) and r5 kept.
    # Note 2: group 1 keeps its earliest, r2 (t+2); group 2's r3 and r4 tie at t+9: the
    #         smaller id, r3, is kept; r6 (no group) is kept, flagged as correlated.
    # Note 3 (author r3 in group 2): r4 (group 2) dropped; r1 alone for group 1, kept.
    expected = spark.createDataFrame(
        [
            (1, "r3", True),
            (1, "r5", False),
            (2, "r2", False),
            (2, "r3", True),
            (2, "r6", True),
            (3, "r1", False),
        ],
        schema=actual.schema,
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    assert kept.columns == [*ratings.columns, "correlatedRater"]


def test_small_data_switch_is_opt_in(spark):
    ratings, notes, flags = _inputs(spark)
    kept = apply_post_selection(
        ratings, notes, flags, cfg=CoordinationConfig(apply_skip_below_notes=200)
    )
    assert kept.count() == ratings.count()  # 3 notes < 200: unfiltered, as the reference does
    assert kept.where("correlatedRater").count() == 3  # r3 on notes 1 and 2, r6 on note 2


def test_high_volume_flag_on_every_rating(spark):
    ratings, _, flags = _inputs(spark)
    flagged = with_high_volume_flag(ratings, flags)
    assert {r.raterParticipantId for r in flagged.where("highVolumeRater").collect()} == {"r4"}
    assert flagged.count() == ratings.count()
