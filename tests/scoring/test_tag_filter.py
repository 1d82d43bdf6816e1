"""Tag outlier filter: hand-computed cases and parity with the reference's aux_note_info."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from chispa import assert_df_equality
from pyspark.sql import types as T

from cnscore.columns import NOT_HELPFUL_TAGS_TSV_ORDER as TAGS
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.tag_filter import (
    adjusted_col,
    adjusted_tag_ratios,
    ratio_col,
    tag_filter_hits,
    tag_thresholds,
)

CFG = ScoringConfig()
NOTE_SCHEMA = "noteId bigint, internalNoteFactor1 double"
RATER_SCHEMA = "raterParticipantId string, internalRaterFactor1 double"
ID_TYPES = {"raterParticipantId": str, "noteAuthorParticipantId": str, "participantId": str}
INCORRECT, OTHER, HARD = "notHelpfulIncorrect", "notHelpfulOther", "notHelpfulHardToUnderstand"
ADJUSTED_SCHEMA = T.StructType(
    [T.StructField("noteId", T.LongType()), T.StructField("ratingWeight", T.DoubleType())]
    + [T.StructField(adjusted_col(t), T.DoubleType()) for t in TAGS]
    + [T.StructField(ratio_col(t), T.DoubleType()) for t in TAGS]
)


def _ratings(spark, rows):
    """rows: (noteId, raterId, {tag: 1}) -> ratings frame with all 13 tags as bytes."""
    schema = "noteId bigint, raterParticipantId string, " + ", ".join(f"{t} tinyint" for t in TAGS)
    return spark.createDataFrame(
        [(n, r, *[tags.get(t, 0) for t in TAGS]) for n, r, tags in rows], schema
    )


def _adjusted(spark, rows):
    """rows: (noteId, {tag: (adjusted, ratio)}) -> frame shaped like adjusted_tag_ratios."""
    out = []
    for note, values in rows:
        adj = [values.get(t, (0.0, 0.0))[0] for t in TAGS]
        ratio = [values.get(t, (0.0, 0.0))[1] for t in TAGS]
        out.append((note, 1.0, *adj, *ratio))
    return spark.createDataFrame(out, ADJUSTED_SCHEMA)


def test_adjusted_tag_ratios_hand_computed(spark):
    # Notes (1, -1) and raters (1, 1, -1, -1) z-normalize to themselves, so d is 0 or 2.
    # Distances of the six factored ratings: 0,2,2 (note 1) and 2,2,0 (note 2): sorted
    # 0,0,2,2,2,2, the 40th percentile (index 2.0) is 2, so w = 1 at d=0 and 1/(1+1) = 0.5 at d=2.
    notes = spark.createDataFrame([(1, 1.0), (2, -1.0), (3, None)], NOTE_SCHEMA)
    raters = spark.createDataFrame([("a", 1.0), ("b", 1.0), ("c", -1.0), ("d", -1.0)], RATER_SCHEMA)
    ratings = _ratings(
        spark,
        [
            (1, "a", {OTHER: 1}),
            (1, "c", {INCORRECT: 1}),
            (1, "d", {INCORRECT: 1, OTHER: 1}),
            (2, "a", {INCORRECT: 1}),
            (2, "b", {INCORRECT: 1}),
            (2, "c", {}),
            (1, "zz", {INCORRECT: 1}),  # rater without factors: dropped
            (9, "a", {INCORRECT: 1}),  # note without factors: dropped
            (3, "a", {INCORRECT: 1}),  # null note factor: kept, weight null (pandas NaN)
        ],
    )
    got = adjusted_tag_ratios(ratings, notes, raters, CFG).collect()
    got = {r["noteId"]: r.asDict() for r in got}
    assert set(got) == {1, 2, 3}
    assert got[1]["ratingWeight"] == pytest.approx(2.0)
    assert got[1][adjusted_col(INCORRECT)] == pytest.approx(1.0)
    assert got[1][adjusted_col(OTHER)] == pytest.approx(1.5)
    assert got[1][ratio_col(OTHER)] == pytest.approx(0.75)
    assert got[2]["ratingWeight"] == pytest.approx(2.0)
    assert got[2][ratio_col(INCORRECT)] == pytest.approx(0.5)
    assert got[2][adjusted_col(OTHER)] == 0.0
    # All weights null: totals 0 (pandas sum of NaN), ratio null (0/0).
    assert got[3]["ratingWeight"] == 0.0 and got[3][adjusted_col(INCORRECT)] == 0.0
    assert got[3][ratio_col(INCORRECT)] is None


def test_adjusted_tag_ratios_interpolated_percentile(spark):
    # Notes 0 and 2 -> z -1, 1; raters 0 and 2 -> z -1, 1. Ratings give d = 0, 2, 2, 0, 2:
    # sorted 0,0,2,2,2, index 0.4*4 = 1.6 -> p40 = 0 + 0.6*2 = 1.2; w(2) = 1/(1+(2/1.2)^5).
    notes = spark.createDataFrame([(1, 0.0), (2, 2.0)], NOTE_SCHEMA)
    raters = spark.createDataFrame([("a", 0.0), ("b", 2.0), ("c", 0.0)], RATER_SCHEMA)
    # raters (0, 2, 0): mean 2/3, population std sqrt(8/9) -> z = -1/sqrt(2), sqrt(2), -1/sqrt(2).
    ratings = _ratings(spark, [(1, "a", {}), (1, "b", {INCORRECT: 1}), (2, "a", {}), (2, "b", {})])
    rows = {r["noteId"]: r for r in adjusted_tag_ratios(ratings, notes, raters, CFG).collect()}
    zn = {1: -1.0, 2: 1.0}
    zr = {"a": -1 / math.sqrt(2), "b": math.sqrt(2)}
    d = {(n, r): abs(zr[r] - zn[n]) for n in (1, 2) for r in ("a", "b")}
    p40 = float(np.percentile(list(d.values()), 40))
    w = {k: 1 / (1 + (v / p40) ** 5) for k, v in d.items()}
    assert rows[1]["ratingWeight"] == pytest.approx(w[1, "a"] + w[1, "b"], rel=1e-12)
    assert rows[1][adjusted_col(INCORRECT)] == pytest.approx(w[1, "b"], rel=1e-12)
    assert rows[2]["ratingWeight"] == pytest.approx(w[2, "a"] + w[2, "b"], rel=1e-12)


def test_tag_thresholds(spark):
    adjusted = _adjusted(
        spark,
        [(n, {INCORRECT: (1.0, 0.1 * n), OTHER: (1.0, 0.5)}) for n in range(1, 6)]
        + [(6, {INCORRECT: (9.0, 0.99)})],
    )
    crh = spark.createDataFrame([(n,) for n in (1, 2, 3, 4, 5, 5)], "noteId bigint")  # 6 is not CRH
    got = tag_thresholds(adjusted, crh, CFG)
    assert set(got) == set(TAGS)
    # 0.95 quantile of 0.1..0.5 with linear interpolation: position 3.8 -> 0.4 + 0.8 * 0.1.
    assert got[INCORRECT] == pytest.approx(0.48, abs=1e-12)
    assert got[OTHER] == pytest.approx(0.5)
    assert got[HARD] == 0.0
    no_crh = spark.createDataFrame([], "noteId bigint")
    assert tag_thresholds(adjusted, no_crh, CFG) == {t: 0.0 for t in TAGS}


def test_tag_thresholds_null_ratio_gives_nan(spark):
    rows = [(1, 1.0, *[0.0] * 13, *[0.2] * 13), (2, 0.0, *[0.0] * 13, *[None] * 13)]
    adjusted = spark.createDataFrame(rows, ADJUSTED_SCHEMA)
    got = tag_thresholds(adjusted, spark.createDataFrame([(1,), (2,)], "noteId bigint"), CFG)
    assert all(math.isnan(v) for v in got.values())  # np.quantile over a NaN is NaN


def test_tag_filter_hits_boundaries_and_format(spark):
    adjusted = _adjusted(
        spark,
        [
            (1, {INCORRECT: (3.1, 0.42)}),  # fires
            (2, {INCORRECT: (2.5, 0.9)}),  # adjusted exactly at 2.5: strict, no
            (3, {INCORRECT: (3.0, 0.31)}),  # ratio exactly at the threshold: strict, no
            (4, {HARD: (10.0, 0.99)}),  # excluded tag
            (5, {OTHER: (4.0, 0.6), INCORRECT: (2.6, 0.5)}),  # two tags, TSV order
            (6, {"notHelpfulOutdated": (5.0, 0.9)}),  # NaN threshold: never fires
        ],
    )
    thresholds = {t: 0.31 for t in TAGS} | {OTHER: 0.2, "notHelpfulOutdated": math.nan}
    got = tag_filter_hits(adjusted, thresholds, CFG)
    expected = spark.createDataFrame(
        [
            (
                1,
                INCORRECT,
                "notHelpfulIncorrect adjusted 3.10 > 2.5 and ratio 0.420 > threshold 0.310",
            ),
            (
                5,
                "notHelpfulOther,notHelpfulIncorrect",
                "notHelpfulOther adjusted 4.00 > 2.5 and ratio 0.600 > threshold 0.200; "
                "notHelpfulIncorrect adjusted 2.60 > 2.5 and ratio 0.500 > threshold 0.310",
            ),
        ],
        "noteId bigint, activeFilterTags string, tagFilterDetail string",
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_tag_filter_hits_null_ratio_never_fires(spark):
    rows = [(1, 0.0, *[3.0] * 13, *[None] * 13)]
    adjusted = spark.createDataFrame(rows, ADJUSTED_SCHEMA)
    assert tag_filter_hits(adjusted, {t: 0.0 for t in TAGS}, CFG).count() == 0


# --- Parity with the reference (golden sets in shared/data/golden) ---------------------------

NOT_MISLEADING_LAUNCH = CFG.not_misleading_ui_launch_millis


def read_tsv(path, **kwargs) -> pd.DataFrame:
    """A golden TSV with participant ids kept as strings."""
    return pd.read_csv(path, sep="\t", dtype=ID_TYPES, **kwargs)


def _post_topic(summaries: pd.Series):
    from cnscore.scoring.topics import post_text, seed_topic

    return seed_topic(post_text([x if isinstance(x, str) else "" for x in summaries]))


def birdwatch_inputs(shared_dir):
    """The Core model's ratings and the published Core factors of birdwatch-2021-03 (pandas).

    This set ran with --skip-pss and every rater in group 13, so the Core ratings are the input
    minus unlabeled ratings, ratings on pre-2022-10 NOT_MISLEADING notes and ratings on seed-term
    topic notes (§1.6, §4.3); the capture threshold drops no note.
    """
    base = shared_dir / "data/golden/birdwatch-2021-03"
    ratings = read_tsv(base / "input/ratings-00000.tsv")
    notes = read_tsv(base / "input/notes-00000.tsv")
    labeled = (ratings.helpful == 1) | (ratings.notHelpful == 1) | ratings.helpfulnessLevel.notna()
    old = notes.createdAtMillis < NOT_MISLEADING_LAUNCH
    old_nm = notes.noteId[(notes.classification == "NOT_MISLEADING") & old]
    topic = notes.groupby("tweetId").summary.apply(_post_topic)
    topic_notes = notes.noteId[notes.tweetId.map(topic).notna()]
    ratings = ratings[labeled & ~ratings.noteId.isin(old_nm) & ~ratings.noteId.isin(topic_notes)]
    scored = read_tsv(base / "seed42/scored_notes.tsv", usecols=["noteId", "coreNoteFactor1"])
    raters = read_tsv(
        base / "seed42/helpfulness_scores.tsv", usecols=["raterParticipantId", "coreRaterFactor1"]
    )
    note_factors = scored.dropna().rename(columns={"coreNoteFactor1": "internalNoteFactor1"})
    rater_factors = raters.dropna().rename(columns={"coreRaterFactor1": "internalRaterFactor1"})
    aux = read_tsv(base / "seed42/aux_note_info.tsv")
    return ratings[["noteId", "raterParticipantId", *TAGS]], note_factors, rater_factors, aux


def test_parity_birdwatch_adjusted_tags(spark, shared_dir):
    ratings, note_factors, rater_factors, aux = birdwatch_inputs(shared_dir)
    frames = [spark.createDataFrame(df) for df in (ratings, note_factors, rater_factors)]
    got = adjusted_tag_ratios(*frames, CFG).toPandas()
    want = aux.dropna(subset=["ratingWeight"])
    assert sorted(got.noteId) == sorted(want.noteId)  # 864 notes
    both = got.merge(want, on="noteId", suffixes=("", "_ref"))
    # The reference works in float32: relative agreement ~1e-6 is its precision.
    np.testing.assert_allclose(both.ratingWeight, both.ratingWeight_ref, rtol=2e-6)
    for tag in TAGS:
        for col, atol in ((adjusted_col(tag), 1e-6), (ratio_col(tag), 1e-7)):
            np.testing.assert_allclose(both[col], both[col + "_ref"], rtol=2e-6, atol=atol)
