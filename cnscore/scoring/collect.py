"""Ratings collected to the driver as dense arrays, for the side models fitted in memory.

The low-diligence and tag-consensus models are full-batch Adam fits of hundreds of epochs:
cheap on a few arrays in memory, hundreds of Spark jobs otherwise. Rows are sorted by dense
ids before numbering, so the fit does not depend on partitioning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession

from cnscore.columns import ParamCols, RatingCols
from cnscore.scoring.reputation_mf import RatingArrays

P = ParamCols
NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
_TARGET = "_target"


@dataclass(frozen=True)
class Collected:
    """Rating arrays plus the public id of each dense position."""

    arrays: RatingArrays
    note_ids: np.ndarray  # public noteId per dense note position
    rater_ids: np.ndarray  # public raterParticipantId per dense rater position


def collect_ratings(ratings: DataFrame, target: Column) -> Collected:
    """ratings (noteId, raterParticipantId, noteIdx, raterIdx, ...) with a 0/1 target column
    expression, as arrays numbered 0..n-1 in the order of the dense run ids."""
    rows = (ratings.select(NOTE_ID, RATER_ID, P.NOTE_IDX, P.RATER_IDX, target.cast("double").alias(_TARGET))
            .toPandas().sort_values([P.NOTE_IDX, P.RATER_IDX], kind="stable"))
    note_keys, note_pos = np.unique(rows[P.NOTE_IDX].to_numpy(), return_inverse=True)
    rater_keys, rater_pos = np.unique(rows[P.RATER_IDX].to_numpy(), return_inverse=True)
    first_note = pd.Series(rows[NOTE_ID].to_numpy()).groupby(note_pos).first().to_numpy()
    first_rater = pd.Series(rows[RATER_ID].to_numpy()).groupby(rater_pos).first().to_numpy()
    arrays = RatingArrays(note_pos.astype(np.int64), rater_pos.astype(np.int64),
                          rows[_TARGET].to_numpy(dtype=float), len(note_keys), len(rater_keys))
    return Collected(arrays, first_note, first_rater)


def aligned(ids: np.ndarray, table: pd.DataFrame, key: str, column: str) -> np.ndarray:
    """table[column] in the order of ids (NaN where an id is missing)."""
    if table.empty:
        return np.full(len(ids), np.nan)
    return table.set_index(key)[column].reindex(ids).to_numpy(dtype=float)


def as_reference_finds(note_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Initial note values as the reference's initialisation finds them (NaN: not found, the
    note starts at 0). It looks each note up in a dict built from `frame[[noteId, value]].values`,
    where pandas has turned the int64 ids into doubles: an id a double does not hold exactly
    (almost every id above 2^53, so every production noteId) is not found. Rater ids are
    strings and are found."""
    ids = np.asarray(note_ids, dtype=np.int64)
    with np.errstate(invalid="ignore"):  # ids near 2^63 round to 2^63, outside int64: not found either
        exact = ids.astype(np.float64).astype(np.int64) == ids
    return np.where(exact, values, np.nan)


def note_init(note_ids: np.ndarray, table: pd.DataFrame, column: str) -> np.ndarray:
    """A note parameter's initial values in the order of note_ids, as the reference finds them."""
    return as_reference_finds(note_ids, aligned(note_ids, table, NOTE_ID, column))


def params_frame(spark: SparkSession, table: pd.DataFrame, key_ddl: str, columns) -> DataFrame:
    """A small driver-side parameter table as a checkpointed DataFrame (key + double columns)."""
    ddl = ", ".join([key_ddl] + [f"{c} double" for c in columns])
    return spark.createDataFrame(table, ddl).localCheckpoint(eager=True)
