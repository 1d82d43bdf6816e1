"""Incorrect filter: hand-computed cases and parity with the reference's aux_note_info."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from chispa import assert_df_equality

from cnscore.columns import NOT_HELPFUL_TAGS_TSV_ORDER as TAGS
from cnscore.scoring.incorrect_filter import (
    INTERVAL_COLUMNS,
    incorrect_filter_detail,
    incorrect_filter_fires,
    incorrect_interval_stats,
    rater_incorrect_propensity,
)
from cnscore.scoring.settings import ScoringConfig
from tests.scoring.test_tag_filter import NOTE_SCHEMA, RATER_SCHEMA, birdwatch_inputs, read_tsv

CFG = ScoringConfig()
INCORRECT, OTHER = "notHelpfulIncorrect", "notHelpfulOther"
STATS = (
    "noteId bigint, notHelpfulIncorrect_interval bigint, p_incorrect_user_interval double, "
    "num_voters_interval bigint, tf_idf_incorrect_interval double"
)
PROPENSITY = (
    "raterParticipantId string, incorrectTagRatingsMadeByRater bigint,"
    " totalRatingsMadeByRater bigint"
)
UNORDERED = {"ignore_row_order": True, "ignore_nullable": True}


def _ratings(spark, rows):
    schema = "noteId bigint, raterParticipantId string, " + ", ".join(f"{t} tinyint" for t in TAGS)
    data = [(n, r, *[tags.get(t, 0) for t in TAGS]) for n, r, tags in rows]
    return spark.createDataFrame(data, schema)


def test_rater_incorrect_propensity(spark):
    ratings = _ratings(
        spark,
        [
            (1, "a", {INCORRECT: 1}),
            (2, "a", {OTHER: 1}),
            (3, "a", {}),  # untagged: not counted
            (1, "b", {}),  # only untagged ratings: no row
            (1, "c", {INCORRECT: 1, OTHER: 1}),
        ],
    )
    expected = spark.createDataFrame([("a", 1, 2), ("c", 1, 1)], PROPENSITY)
    assert_df_equality(rater_incorrect_propensity(ratings), expected, **UNORDERED)


def test_incorrect_interval_stats_hand_computed(spark):
    notes = spark.createDataFrame([(1, 0.0), (2, 0.9), (3, 0.0)], NOTE_SCHEMA)
    raters = spark.createDataFrame(
        [("a", 0.1), ("b", -0.2), ("c", 0.3), ("d", 0.5), ("e", 0.6)], RATER_SCHEMA
    )
    propensity = spark.createDataFrame(
        [("a", 1, 2), ("b", 1, 4), ("c", 1, 1), ("d", 0, 3)], PROPENSITY
    )
    ratings = _ratings(
        spark,
        [
            (1, "a", {INCORRECT: 1}),  # |0.1 - 0| < 0.3, p = 1/2
            (1, "b", {INCORRECT: 1, OTHER: 1}),  # |-0.2 - 0| < 0.3, p = 1/4
            (1, "c", {INCORRECT: 1}),  # |0.3 - 0| = 0.3 exactly: strict, excluded
            (1, "d", {OTHER: 1}),  # |clip(0.5) - 0| = 0.4: excluded
            (1, "zz", {INCORRECT: 1}),  # rater without factors: excluded
            (2, "d", {OTHER: 1}),  # clip(0.5) = clip(0.9) = 0.4: near, p = 0
            (2, "e", {INCORRECT: 1}),  # near, no propensity row: p = 0
            (3, "a", {}),  # untagged only: note 3 gets no row
        ],
    )
    got = incorrect_interval_stats(ratings, notes, raters, propensity, CFG)
    expected = spark.createDataFrame(
        [(1, 2, 0.75, 2, 2 / math.log(1.75)), (2, 1, 0.0, 2, math.inf)],  # numpy: 1 / log(1) = inf
        STATS,
    )
    assert_df_equality(got, expected, allow_nan_equality=True, **UNORDERED)


def test_incorrect_filter_fires_boundaries(spark):
    stats = spark.createDataFrame(
        [
            (1, 2, 1.0, 3, 2.5),  # all exactly at the minimums: fires (>=)
            (2, 1, 1.0, 3, 9.0),  # one Incorrect tag
            (3, 2, 1.0, 2, 9.0),  # two voters
            (4, 2, 1.0, 3, 2.4999),  # tf-idf just below
            (5, None, None, None, None),  # no statistics: false, not null
            (6, 3, 0.0, 4, math.inf),
        ],
        STATS,
    )
    fires, detail = incorrect_filter_fires(CFG), incorrect_filter_detail(CFG)
    got = stats.select("noteId", fires.alias("fires"), detail.alias("d"))
    rows = {r["noteId"]: (r["fires"], r["d"]) for r in got.collect()}
    assert {k for k, v in rows.items() if v[0]} == {1, 6}
    assert rows[1][1] == (
        "notHelpfulIncorrect_interval 2 >= 2, num_voters_interval 3 >= 3, "
        "tf_idf_incorrect_interval 2.500 >= 2.5 (p_incorrect_user_interval 1.000)"
    )
    assert rows[2][1] is None


# --- Parity with the reference (golden sets in shared/data/golden) ---------------------------


def _compare(got: pd.DataFrame, aux: pd.DataFrame) -> None:
    want = aux.dropna(subset=["num_voters_interval"])[["noteId", *INTERVAL_COLUMNS]]
    assert sorted(got.noteId) == sorted(want.noteId)
    both = got.merge(want, on="noteId", suffixes=("", "_ref"))
    for col in INTERVAL_COLUMNS:
        got_col, ref_col = both[col].astype(float), both[col + "_ref"]
        np.testing.assert_allclose(got_col, ref_col, rtol=1e-12, atol=1e-12, err_msg=col)


def _stats(spark, ratings, note_factors, rater_factors):
    ratings_df = spark.createDataFrame(ratings[["noteId", "raterParticipantId", *TAGS]])
    propensity = rater_incorrect_propensity(ratings_df)
    notes, raters = spark.createDataFrame(note_factors), spark.createDataFrame(rater_factors)
    return incorrect_interval_stats(ratings_df, notes, raters, propensity, CFG).toPandas()


def test_parity_birdwatch_interval_columns(spark, shared_dir):
    ratings, note_factors, rater_factors, aux = birdwatch_inputs(shared_dir)
    _compare(_stats(spark, ratings, note_factors, rater_factors), aux)  # 183 notes


# Post-selection groups of synthetic-30k (16-character id prefixes): the two planted brigades,
# as found by cnscore.coordination (link_pairs + connected_components) on this input. The
# reference ran PSS here, and its Core ratings keep one rating per (note, group).
PSS_GROUPS = {
    1: "00280F9265E970D4 11C66E593063E08E 3B769E7DDF39EB43 3F6DC17602A506E5 4167F439CC89ECDE "
       "429ED6F593A7A328 4FC5DDE8966FAD28 5923B8F69B02C19C 895CBB40B6B4C439 AF11FD5D9294FE41 "
       "D398A36B89FFB520 E4792A37167B660F",
    2: "2399E4B16306BC34 2D0A6573C9361B53 45D00827712F534D 592C6861AED3A96D 6CD36A64C0B3FED9 "
       "6DC8B66757288A42 8563570BB6D39918 8E2F21DE293F9481 950BADD01FD9F123 A4FAC72637604D40 "
       "AAD04830A19F824E E2F7CF8E2DB834BB FE70BBE435B98D8F",
}


def _synthetic_core_ratings(base, scored: pd.DataFrame) -> pd.DataFrame:
    """synthetic-30k Core ratings: population, no topic notes, PSS applied (§4.1.4, §4.4.1)."""
    ratings = read_tsv(base / "input/ratings-00000.tsv")
    notes = read_tsv(base / "input/notes-00000.tsv")
    enrollment = read_tsv(base / "input/userEnrollment-00000.tsv")
    group = enrollment.set_index("participantId").modelingGroup
    rater_group = ratings.raterParticipantId.map(group)
    in_population = rater_group.isna() | rater_group.isin(CFG.modeling_groups)
    ratings = ratings[in_population & ~ratings.noteId.isin(scored.noteId[scored.noteTopic.notna()])]
    pss = {prefix: g for g, ids in PSS_GROUPS.items() for prefix in ids.split()}
    ratings = ratings.assign(_g=ratings.raterParticipantId.str[:16].map(pss))
    author_group = notes.set_index("noteId").noteAuthorParticipantId.str[:16].map(pss)
    grouped = ratings[ratings._g.notna()]
    grouped = grouped[grouped._g != grouped.noteId.map(author_group)]
    grouped = grouped.sort_values(["createdAtMillis", "raterParticipantId"])
    grouped = grouped.drop_duplicates(["noteId", "_g"])  # the earliest rating per (note, group)
    return pd.concat([ratings[ratings._g.isna()], grouped])


def test_parity_synthetic_interval_columns(spark, shared_dir):
    base = shared_dir / "data/golden/synthetic-30k"
    columns = ["noteId", "coreNoteFactor1", "noteTopic"]
    scored = read_tsv(base / "seed42/scored_notes.tsv", usecols=columns)
    raters = read_tsv(
        base / "seed42/helpfulness_scores.tsv", usecols=["raterParticipantId", "coreRaterFactor1"]
    )
    note_factors = scored[["noteId", "coreNoteFactor1"]].dropna()
    note_factors = note_factors.rename(columns={"coreNoteFactor1": "internalNoteFactor1"})
    rater_factors = raters.dropna().rename(columns={"coreRaterFactor1": "internalRaterFactor1"})
    ratings = _synthetic_core_ratings(base, scored)
    aux = read_tsv(base / "seed42/aux_note_info.tsv")
    got = _stats(spark, ratings, note_factors, rater_factors)
    _compare(got, aux)  # 189 notes
    # Our rule on our columns fires exactly where the reference's Core lists FilterIncorrect,
    # once the notes already CRNH (the rule skips them) are set aside: 19 notes here.
    fires = spark.createDataFrame(got).where(incorrect_filter_fires(CFG)).toPandas().noteId
    rules = read_tsv(base / "seed42/scored_notes.tsv", usecols=["noteId", "coreActiveRules"])
    rules = rules.set_index("noteId").coreActiveRules.fillna("")
    crnh = rules.str.contains("CRNH")
    assert set(fires[~fires.map(crnh)]) == set(rules.index[rules.str.contains("FilterIncorrect")])
