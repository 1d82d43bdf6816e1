"""note_stats: hand-computed counts, and parity with the reference's aux_note_info / numRatings."""

from __future__ import annotations

import functools

import pandas as pd
import pytest
from pyspark.sql import Window
from pyspark.sql import functions as F

from cnscore.columns import HELPFUL_TAGS_TSV_ORDER, NOT_HELPFUL_TAGS_TSV_ORDER
from cnscore.io.tsv import read_input
from cnscore.preprocess import filter_labeled_ratings
from cnscore.scoring.inputs import filter_ratings_by_note_type
from cnscore.scoring.note_stats import STAT_COLUMNS, note_stats
from cnscore.scoring.settings import ScoringConfig

TAGS = HELPFUL_TAGS_TSV_ORDER + NOT_HELPFUL_TAGS_TSV_ORDER
DAY = 86_400_000
NOW = 1_000 * DAY
EPOCH = {"synthetic-30k": 1795305600000, "birdwatch-2021-03": 1616630400000}


def _rating(note, rater, created, source="DEFAULT", **tags):
    row = {"noteId": note, "raterParticipantId": rater, "createdAtMillis": created,
           "ratingSourceBucketed": source}
    row.update({t: tags.get(t, 0) for t in TAGS})
    return row


def _ratings_df(spark, rows):
    schema = ("noteId long, raterParticipantId string, createdAtMillis long, "
              "ratingSourceBucketed string, " + ", ".join(f"{t} tinyint" for t in TAGS))
    return spark.createDataFrame([tuple(r.values()) for r in rows], schema)


def test_hand_computed_counts(spark):
    cutoff = NOW - 28 * DAY
    rows = [
        _rating(1, "a", cutoff, helpfulClear=1, helpfulGoodSources=1),  # at the cutoff: not last 28
        _rating(1, "b", cutoff + 1, "POPULATION_SAMPLED", helpfulClear=1),
        _rating(1, "c", NOW, notHelpfulIncorrect=1),
        _rating(2, "a", cutoff - DAY, "POPULATION_SAMPLED"),
        _rating(9, "a", NOW, helpfulClear=1),  # note 9 is not in `notes`: ignored
    ]
    ratings = _ratings_df(spark, rows)
    # a null tag counts as 0 (old ratings have empty tag fields)
    ratings = ratings.withColumn("helpfulOther", F.when(F.col("raterParticipantId") == "c", None)
                                 .otherwise(F.col("helpfulOther")))
    notes = spark.createDataFrame(
        [(1, "x", 5), (2, "y", 6), (3, "z", 7)],
        "noteId long, noteAuthorParticipantId string, createdAtMillis long")
    out = {r.noteId: r.asDict() for r in note_stats(ratings, notes, NOW).collect()}
    assert sorted(out) == [1, 2, 3]
    assert note_stats(ratings, notes, NOW).columns == [
        "noteId", "createdAtMillis", "noteAuthorParticipantId", *STAT_COLUMNS]
    one = out[1]
    counts = ("numRatings", "numRatingsLast28", "numPopulationSampledRatings")
    assert tuple(one[c] for c in counts) == (3, 2, 1)
    assert (one["helpfulClear"], one["helpfulGoodSources"], one["notHelpfulIncorrect"]) == (2, 1, 1)
    assert one["helpfulOther"] == 0
    assert tuple(out[2][c] for c in counts) == (1, 0, 1)
    assert all(out[3][c] == 0 for c in STAT_COLUMNS)  # a note without ratings: zeros, not nulls
    assert out[3]["createdAtMillis"] == 7


def _pss_filter(ratings, notes, groups):
    """The reference's final-scoring post-selection filter for the given (rater, group) pairs:
    drop a group's ratings on notes its own members wrote, keep its earliest rating per note."""
    authors = notes.select("noteId", F.col("noteAuthorParticipantId").alias("_author")).join(
        groups.select(F.col("raterParticipantId").alias("_author"), F.col("group").alias("_ag")),
        on="_author")
    tagged = ratings.join(groups, on="raterParticipantId", how="left").join(
        authors.select("noteId", "_ag"), on="noteId", how="left")
    first = Window.partitionBy("noteId", "group").orderBy("createdAtMillis", "raterParticipantId")
    kept = (tagged.where(F.col("group").isNotNull() & ~F.col("group").eqNullSafe(F.col("_ag")))
            .withColumn("_rank", F.row_number().over(first)).where("_rank = 1"))
    return tagged.where(F.col("group").isNull()).select(*ratings.columns).unionByName(
        kept.select(*ratings.columns))


@functools.lru_cache(maxsize=None)
def final_scoring_inputs(spark, shared_dir, name):
    """(ratings, noteStatusHistory) as the reference's final scoring counts them.

    Preprocessing: unlabelled ratings dropped, ratings on old NOT_MISLEADING notes dropped.
    Post-selection filter: in synthetic-30k the reference's PSS groups that survive into final
    scoring are exactly the two planted brigades (truth_raters.tsv `brigade`); see
    `test_golden_note_stats` for why only they count. birdwatch-2021-03 has none (--skip-pss).
    """
    base = shared_dir / "data" / "golden" / name
    ratings = read_input(spark, str(base / "input" / "ratings-00000.tsv"), "ratings").df
    notes = read_input(spark, str(base / "input" / "notes-00000.tsv"), "notes").df
    history = read_input(spark, str(base / "input" / "noteStatusHistory-00000.tsv"),
                         "noteStatusHistory").df
    labelled = filter_labeled_ratings(ratings)
    kept = filter_ratings_by_note_type(labelled, notes, history, ScoringConfig())
    truth = base / "truth" / "truth_raters.tsv"
    if truth.exists():
        planted = pd.read_csv(truth, sep="\t", usecols=["raterParticipantId", "brigade"])
        planted = planted[planted.brigade >= 0].astype({"brigade": "int64"})
        groups = spark.createDataFrame(
            list(planted.itertuples(index=False, name=None)),
            "raterParticipantId string, group long")
        kept = _pss_filter(kept, notes, groups)
    return kept.cache(), history.cache()


def _golden(shared_dir, name, kind):
    path = shared_dir / "data" / "golden" / name / "seed42" / f"{kind}.tsv"
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False).set_index("noteId")


@pytest.mark.parametrize("name", ["birdwatch-2021-03", "synthetic-30k"])
def test_golden_note_stats(spark, shared_dir, name):
    """Every count of every note equals the reference's.

    The counted ratings (reported findings): helpfulNum-labelled ratings, minus ratings on
    NOT_MISLEADING notes created before 2022-10-03 (birdwatch: 13,559 -> 11,861), minus the
    post-selection filter. That filter uses only raters with BOTH a post-selection value and
    a quasi-clique value: final scoring does `.dropna()` on [rater, postSelectionValue,
    quasiCliqueValue]. Filtering every post-selection group member instead leaves 12 notes of
    synthetic-30k with wrong counts.
    """
    ratings, history = final_scoring_inputs(spark, shared_dir, name)
    stats = note_stats(ratings, history, EPOCH[name]).toPandas()
    stats["noteId"] = stats["noteId"].astype(str)
    stats = stats.set_index("noteId")
    aux = _golden(shared_dir, name, "aux_note_info")
    scored = _golden(shared_dir, name, "scored_notes")
    assert set(stats.index) == set(aux.index) == set(scored.index)
    stats = stats.loc[aux.index]
    for col in ["numRatingsLast28", "numPopulationSampledRatings", *TAGS]:
        mismatched = (stats[col] != aux[col].astype("int64")).sum()
        assert mismatched == 0, f"{col}: {mismatched} notes differ"
    mismatched = (stats["numRatings"] != scored.loc[aux.index, "numRatings"].astype("int64")).sum()
    assert mismatched == 0, f"numRatings: {mismatched} notes differ"
