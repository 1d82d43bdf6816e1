from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import types as T

from cnscore.ids import build_id_map, densify_ratings, with_public_id
from cnscore.schemas import ID_MAP


def test_id_map_is_dense_and_in_sorted_id_order(spark):
    ids = spark.createDataFrame([("c",), ("a",), ("b",), ("a",), (None,)], "raterParticipantId string")
    actual = build_id_map(ids.repartition(3), "raterParticipantId")
    expected = spark.createDataFrame([("a", 0), ("b", 1), ("c", 2)], schema=ID_MAP)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_densify_then_map_back_round_trips(spark):
    ratings = spark.createDataFrame(
        [(20, "u2", 1.0), (10, "u1", 0.0), (20, "u1", 0.5)],
        "noteId bigint, raterParticipantId string, helpfulNum double",
    )
    dense = densify_ratings(ratings)
    rows = sorted(tuple(r) for r in dense.ratings.collect())
    # u1 -> 0, u2 -> 1; note ids sort as strings: "10" -> 0, "20" -> 1
    assert rows == [(0, 0, 0.0), (0, 1, 0.5), (1, 1, 1.0)]
    params = spark.createDataFrame([(1, 0.25)], "noteIdx int, intercept double")
    back = with_public_id(params, dense.note_ids, key="noteIdx", out="noteId", cast="bigint")
    assert back.collect()[0].asDict() == {"noteId": 20, "intercept": 0.25}
    assert back.schema["noteId"].dataType == T.LongType()
