"""helpfulNum (shared docs/reference.md §1.2): explicit cases and the real 2021 ratings."""

from __future__ import annotations

import csv

import pytest
from chispa import assert_df_equality
from pyspark.sql import types as T

from cnscore.io.tsv import read_input
from cnscore.preprocess import (
    filter_labeled_ratings,
    helpful_num_counts,
    unlabeled_ratings,
    with_helpful_num,
)

SCHEMA = T.StructType(
    [
        T.StructField("id", T.StringType()),
        T.StructField("helpful", T.ByteType()),
        T.StructField("notHelpful", T.ByteType()),
        T.StructField("helpfulnessLevel", T.StringType()),
    ]
)
# id, helpful, notHelpful, helpfulnessLevel, expected helpfulNum
CASES = [
    ("v1 helpful", 1, 0, None, 1.0),
    ("v1 not helpful", 0, 1, None, 0.0),
    ("v1 both set: notHelpful is assigned last", 1, 1, None, 0.0),
    ("v1 neither", 0, 0, None, None),
    ("all null", None, None, None, None),
    ("v2 helpful", None, None, "HELPFUL", 1.0),
    ("v2 somewhat", 0, 0, "SOMEWHAT_HELPFUL", 0.5),
    ("v2 not helpful", None, None, "NOT_HELPFUL", 0.0),
    ("level overrides helpful", 1, 0, "NOT_HELPFUL", 0.0),
    ("level overrides notHelpful", 0, 1, "HELPFUL", 1.0),
    ("level overrides both", 1, 1, "SOMEWHAT_HELPFUL", 0.5),
    ("unknown level keeps v1 value", 1, 0, "MAYBE", 1.0),
    ("unknown level alone", None, None, "MAYBE", None),
]


@pytest.fixture(scope="module")
def ratings(spark):
    return spark.createDataFrame([c[:4] for c in CASES], SCHEMA)


def test_with_helpful_num_matches_spec(spark, ratings):
    schema = T.StructType(SCHEMA.fields + [T.StructField("helpfulNum", T.DoubleType())])
    expected = spark.createDataFrame(CASES, schema)
    assert_df_equality(with_helpful_num(ratings), expected, ignore_row_order=True)


def test_unlabeled_rows_are_dropped_and_countable(ratings):
    labeled = filter_labeled_ratings(ratings)  # adds helpfulNum itself when missing
    dropped = {r.id for r in unlabeled_ratings(ratings).collect()}
    assert dropped == {c[0] for c in CASES if c[4] is None}
    assert labeled.count() == len(CASES) - len(dropped)
    assert labeled.where("helpfulNum IS NULL").count() == 0
    assert helpful_num_counts(ratings) == {
        "helpful": 4, "somewhat": 2, "not_helpful": 4, "unlabeled": 3, "total": len(CASES)
    }


def test_2021_ratings_labels_match_an_independent_count(spark, shared_dir):
    path = shared_dir / "data/real/colinfraser-birdwatch_data_guide/ratings-00000.tsv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    # v1 form: notHelpful==1 wins over helpful==1, no helpfulnessLevel exists.
    not_helpful = sum(r["notHelpful"] == "1" for r in rows)
    helpful = sum(r["helpful"] == "1" and r["notHelpful"] != "1" for r in rows)
    result = read_input(spark, str(path), "ratings")
    counts = helpful_num_counts(with_helpful_num(result.df))
    assert counts == {
        "helpful": helpful,
        "somewhat": 0,
        "not_helpful": not_helpful,
        "unlabeled": len(rows) - helpful - not_helpful,
        "total": 13559,
    }
    assert counts["unlabeled"] == 259  # golden README: helpful = notHelpful = 0
    assert filter_labeled_ratings(result.df).count() == 13559 - 259
    result.release()
