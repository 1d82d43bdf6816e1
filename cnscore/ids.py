"""Dense integer ids: one stage maps public participant and note ids to 0..n-1.

The mapping is the sorted order of the distinct ids (as the reference's loader does), so it is
deterministic and independent of partitioning; it is written out with the run, and later
stages work on integers and map back on output.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import IdMapCols, ParamCols, RatingCols
from cnscore.schemas import ID_MAP, validate_schema

ENTITY, IDX = IdMapCols.ENTITY_ID, IdMapCols.INDEX


def build_id_map(ids: DataFrame, column: str) -> DataFrame:
    """entityId (string), idx (int, dense, in sorted id order) for the distinct values."""
    distinct = ids.select(F.col(column).cast("string").alias(ENTITY)).where(F.col(ENTITY).isNotNull())
    indexed = distinct.distinct().orderBy(ENTITY).zipWithIndex(IDX)
    return indexed.select(F.col(ENTITY), F.col(IDX).cast("int").alias(IDX))


def extend_id_map(id_map: DataFrame, ids: DataFrame, column: str) -> DataFrame:
    """`id_map` plus the values of `column` it lacks, numbered after its largest index in
    sorted id order: a model that reads another model's parameters (keyed by that model's
    dense ids) keeps them valid while densifying entities that model never saw."""
    start = id_map.agg(F.max(IDX)).first()[0]
    start = -1 if start is None else int(start)
    new = (build_id_map(ids, column).join(id_map.select(ENTITY), ENTITY, "left_anti")
           .orderBy(ENTITY).zipWithIndex("_new"))
    added = new.select(ENTITY, (F.col("_new") + start + 1).cast("int").alias(IDX))
    return id_map.select(ENTITY, IDX).unionByName(added)


@dataclass(frozen=True)
class DenseRatings:
    """Ratings on dense ids plus the two mappings that produced them."""

    ratings: DataFrame  # raterIdx, noteIdx, helpfulNum
    rater_ids: DataFrame  # entityId, idx
    note_ids: DataFrame  # entityId, idx


def densify_ratings(ratings: DataFrame) -> DenseRatings:
    """Map raterParticipantId and noteId of labelled ratings to dense integers."""
    rater_ids = build_id_map(ratings, RatingCols.RATER_ID)
    note_ids = build_id_map(ratings, RatingCols.NOTE_ID)
    dense = (
        ratings.select(
            F.col(RatingCols.RATER_ID).alias("_r"),
            F.col(RatingCols.NOTE_ID).cast("string").alias("_n"),
            F.col(RatingCols.HELPFUL_NUM).cast("double").alias(ParamCols.LABEL),
        )
        .join(rater_ids.select(F.col(ENTITY).alias("_r"), F.col(IDX).alias(ParamCols.RATER_IDX)), "_r", "inner")
        .join(note_ids.select(F.col(ENTITY).alias("_n"), F.col(IDX).alias(ParamCols.NOTE_IDX)), "_n", "inner")
        .select(ParamCols.RATER_IDX, ParamCols.NOTE_IDX, ParamCols.LABEL)
    )
    return DenseRatings(dense, rater_ids, note_ids)


def with_public_id(params: DataFrame, id_map: DataFrame, *, key: str, out: str, cast: str) -> DataFrame:
    """Replace dense `key` by the public id named `out` (cast to `cast`)."""
    validate_schema(id_map, ID_MAP, where="with_public_id")
    mapping = id_map.select(F.col(IDX).alias(key), F.col(ENTITY).cast(cast).alias(out))
    joined = params.join(mapping, on=key, how="inner")
    return joined.select(out, *[c for c in params.columns if c != key])
