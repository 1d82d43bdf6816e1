"""Valid ratings and rater helpfulness on explicit rows (reference §4.4.5-4.4.6)."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from cnscore.scoring import helpfulness
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status import CRH, CRNH, NMR

CFG = ScoringConfig()
H48 = 172_800_000
NEW = 1_700_000_000_000  # after the tombstones launch: the "before latest status" rule applies
OLD = 1_600_000_000_000  # before it: the first five ratings within 48 h count
RATING = "noteId bigint, raterParticipantId string, helpfulNum double, createdAtMillis bigint"
HISTORY = "noteId bigint, createdAtMillis bigint, timestampMillisOfLatestNonNMRStatus double"


def test_valid_ratings_windows(spark):
    history = spark.createDataFrame([(1, NEW, float(NEW + 1000)), (2, OLD, None), (3, NEW, None)], HISTORY)
    ratings = spark.createDataFrame([
        (1, "early", 1.0, NEW + 999),        # before the status: valid
        (1, "at_status", 1.0, NEW + 1000),   # not strictly before the status
        (3, "in_48h", 0.0, NEW + H48 - 1),   # last millisecond of the window
        (3, "at_48h", 0.0, NEW + H48),       # outside
        (3, "somewhat", 0.5, NEW + 5),       # not binary
        *[(2, f"old{i}", 1.0, OLD + i) for i in range(7)],  # only the first five count
    ], RATING)
    status = spark.createDataFrame([(1, CRH), (2, CRNH), (3, CRNH)], "noteId bigint, ratingStatus string")
    valid = helpfulness.valid_ratings(ratings, history, status, CFG)
    got = {r.raterParticipantId for r in valid.collect()}
    assert got == {"early", "in_48h", "old0", "old1", "old2", "old3", "old4"}
    flags = {r.raterParticipantId: r for r in valid.collect()}
    assert flags["early"].successfulRatingHelpfulCount and flags["early"].ratingAgreesWithNoteStatus
    assert flags["in_48h"].successfulRatingNotHelpfulCount
    assert flags["old0"].unsuccessfulRatingNotHelpfulCount and not flags["old0"].ratingAgreesWithNoteStatus


def test_notes_without_a_decided_status_give_no_valid_ratings(spark):
    history = spark.createDataFrame([(1, NEW, None)], HISTORY)
    ratings = spark.createDataFrame([(1, "r", 1.0, NEW + 1)], RATING)
    status = spark.createDataFrame([(1, NMR)], "noteId bigint, ratingStatus string")
    assert helpfulness.valid_ratings(ratings, history, status, CFG).count() == 0


@pytest.fixture
def scores(spark):
    # Rater "agree2of3": 2 of 3 valid ratings agree (0.667 >= 0.66); "agree1of2": 0.5.
    valid = spark.createDataFrame([
        ("agree2of3", True), ("agree2of3", True), ("agree2of3", False),
        ("agree1of2", True), ("agree1of2", False),
        ("author_ok", True), ("bad_author", True),
    ], "raterParticipantId string, ratingAgreesWithNoteStatus boolean")
    for name in ("successfulRatingHelpfulCount", "successfulRatingNotHelpfulCount",
                 "unsuccessfulRatingHelpfulCount", "unsuccessfulRatingNotHelpfulCount"):
        valid = valid.withColumn(name, F.lit(False))
    notes = spark.createDataFrame([
        (10, "author_ok", CRH, 0.5), (11, "author_ok", NMR, 0.1),   # ratio diff 0.5, mean 0.3
        (12, "bad_author", CRNH, -0.2), (13, "bad_author", CRH, 0.5),  # 0.5 - 5*0.5 < 0
    ], "noteId bigint, noteAuthorParticipantId string, ratingStatus string, internalNoteIntercept double")
    training = spark.createDataFrame([], RATING)
    rows = helpfulness.helpfulness_scores(notes, valid, training, CFG).collect()
    return {r.raterParticipantId: r for r in rows}


def test_agreement_threshold(scores):
    assert scores["agree2of3"].raterAgreeRatio == pytest.approx(2 / 3)
    assert scores["agree2of3"].aboveHelpfulnessThreshold
    assert not scores["agree1of2"].aboveHelpfulnessThreshold


def test_author_scores(scores):
    assert scores["author_ok"].crhCrnhRatioDifference == pytest.approx(0.5)
    assert scores["author_ok"].meanNoteScore == pytest.approx(0.3)
    assert scores["author_ok"].aboveHelpfulnessThreshold
    assert scores["bad_author"].crhCrnhRatioDifference == pytest.approx(0.5 - 5 * 0.5)
    assert not scores["bad_author"].aboveHelpfulnessThreshold  # agrees, but writes CRNH notes


def test_harassment_penalty_lowers_the_ratio(spark):
    valid = spark.createDataFrame([("r", True)] * 10, "raterParticipantId string, ratingAgreesWithNoteStatus boolean")
    for name in ("successfulRatingHelpfulCount", "successfulRatingNotHelpfulCount",
                 "unsuccessfulRatingHelpfulCount", "unsuccessfulRatingNotHelpfulCount"):
        valid = valid.withColumn(name, F.lit(False))
    notes = spark.createDataFrame([], "noteId bigint, noteAuthorParticipantId string, ratingStatus string, "
                                      "internalNoteIntercept double")
    training = spark.createDataFrame([(7, "r", 1.0, NEW)], RATING)
    harassment = spark.createDataFrame([(7, 0.8)], "noteId bigint, harassmentNoteIntercept double")
    # Intercept 0.8 < 2.0: no penalty.
    row = helpfulness.helpfulness_scores(notes, valid, training, CFG, harassment).first()
    assert row.raterAgreeRatioWithHarassmentAbusePenalty == pytest.approx(1.0)
    harassment = spark.createDataFrame([(7, 2.0)], "noteId bigint, harassmentNoteIntercept double")
    row = helpfulness.helpfulness_scores(notes, valid, training, CFG, harassment).first()
    # Penalty 10 * 2.0 / 2.0 = 10 on 10 valid ratings: (10 - 10) / 10 = 0.
    assert row.raterAgreeRatioWithHarassmentAbusePenalty == pytest.approx(0.0)
    assert not row.aboveHelpfulnessThreshold
