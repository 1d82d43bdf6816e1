from __future__ import annotations

from chispa import assert_df_equality
from pyspark.sql import types as T

from cnscore.ids import build_id_map, densify_ratings, extend_id_map, with_public_id
from cnscore.schemas import ID_MAP


def test_id_map_is_dense_and_in_sorted_id_order(spark):
    ids = spark.createDataFrame([("c",), ("a",), ("b",), ("a",), (None,)], "raterParticipantId string")
    actual = build_id_map(ids.repartition(3), "raterParticipantId")
    expected = spark.createDataFrame([("a", 0), ("b", 1), ("c", 2)], schema=ID_MAP)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_an_extended_map_keeps_every_index_and_numbers_new_ids_after_them(spark):
    base = spark.createDataFrame([("b", 0), ("d", 1)], schema=ID_MAP)
    more = spark.createDataFrame([("e",), ("a",), ("d",), ("c",), (None,)], "raterParticipantId string")
    actual = extend_id_map(base, more.repartition(3), "raterParticipantId")
    expected = spark.createDataFrame([("b", 0), ("d", 1), ("a", 2), ("c", 3), ("e", 4)], schema=ID_MAP)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    empty = spark.createDataFrame([], schema=ID_MAP)
    assert sorted(tuple(r) for r in extend_id_map(empty, more, "raterParticipantId").collect()) == [
        ("a", 0), ("c", 1), ("d", 2), ("e", 3)]


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
