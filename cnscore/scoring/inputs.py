"""Scoring inputs (shared docs/reference.md §1.6, §4.4.1): which ratings a model sees.

The reader has already dropped exact duplicate rows and refused conflicting ones, and
`cnscore.preprocess` sets helpfulNum. Here: the note status history gains every note that is
missing from it, ratings are filtered by note type, and a model's population is selected.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import EnrollmentCols, NoteCols, RatingCols, StatusHistoryCols
from cnscore.schemas import NOTE_STATUS_HISTORY
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status import NOT_MISLEADING

IN_NOTES = "_inNotes"
IN_HISTORY = "_inHistory"


def status_history_with_notes(notes: DataFrame, history: DataFrame | None) -> DataFrame:
    """The status history with a row for every note (reference merge_note_info).

    Notes missing from the history get noteId, author and creation time and nulls elsewhere;
    `classification` comes from the notes file and is null for deleted notes (which the rules
    count as misleading).
    """
    note_cols = notes.select(
        NoteCols.NOTE_ID,
        F.col(NoteCols.AUTHOR_ID).alias("_author"),
        F.col(NoteCols.CREATED_AT).alias("_created"),
        NoteCols.CLASSIFICATION,
    ).dropDuplicates([NoteCols.NOTE_ID])
    if history is None:  # a first run: the empty history, so every column exists
        history = notes.sparkSession.createDataFrame([], NOTE_STATUS_HISTORY)
    merged = history.join(note_cols, on=NoteCols.NOTE_ID, how="full_outer")
    return merged.select(
        NoteCols.NOTE_ID,
        F.coalesce(StatusHistoryCols.AUTHOR_ID, "_author").alias(StatusHistoryCols.AUTHOR_ID),
        F.coalesce(StatusHistoryCols.CREATED_AT, "_created").alias(StatusHistoryCols.CREATED_AT),
        *[c for c in history.columns if c not in (NoteCols.NOTE_ID, StatusHistoryCols.AUTHOR_ID,
                                                   StatusHistoryCols.CREATED_AT)],
        NoteCols.CLASSIFICATION,
    )


def filter_ratings_by_note_type(
    ratings: DataFrame, notes: DataFrame, history: DataFrame, cfg: ScoringConfig
) -> DataFrame:
    """Keep ratings on misleading notes, on deleted notes still in the history, and on
    NOT_MISLEADING notes created after the UI change; drop the rest (reference §1.6.5)."""
    note_info = notes.select(
        NoteCols.NOTE_ID,
        F.col(NoteCols.CLASSIFICATION).alias("_class"),
        F.col(NoteCols.CREATED_AT).alias("_noteCreated"),
        F.lit(True).alias(IN_NOTES),
    ).dropDuplicates([NoteCols.NOTE_ID])
    in_history = history.select(NoteCols.NOTE_ID, F.lit(True).alias(IN_HISTORY)).distinct()
    tagged = ratings.join(note_info, on=NoteCols.NOTE_ID, how="left").join(
        in_history, on=NoteCols.NOTE_ID, how="left"
    )
    existing = F.coalesce(F.col(IN_NOTES), F.lit(False))
    keep = (
        (existing & (F.col("_class") != NOT_MISLEADING))
        | (~existing & F.coalesce(F.col(IN_HISTORY), F.lit(False)))
        | (existing & (F.col("_class") == NOT_MISLEADING)
           & (F.col("_noteCreated") > cfg.not_misleading_ui_launch_millis))
    )
    return tagged.where(keep).drop("_class", "_noteCreated", IN_NOTES, IN_HISTORY)


def with_modeling_group(ratings: DataFrame, enrollment: DataFrame | None) -> DataFrame:
    """Add the rater's modelingGroup (null when the rater is not enrolled)."""
    if enrollment is None:
        return ratings.withColumn(EnrollmentCols.MODELING_GROUP, F.lit(None).cast("double"))
    groups = enrollment.select(
        F.col(EnrollmentCols.PARTICIPANT_ID).alias(RatingCols.RATER_ID),
        EnrollmentCols.MODELING_GROUP,
    ).dropDuplicates([RatingCols.RATER_ID])
    return ratings.join(groups, on=RatingCols.RATER_ID, how="left")


def in_population(cfg: ScoringConfig):
    """Column: the rating's rater belongs to the model's population (needs modelingGroup)."""
    group = F.col(EnrollmentCols.MODELING_GROUP)
    member = group.isin([float(g) for g in cfg.modeling_groups])
    if cfg.include_unassigned:
        member = member | group.isNull()
    return F.coalesce(member, F.lit(False))


def model_ratings(ratings: DataFrame, topic_notes: DataFrame | None, cfg: ScoringConfig) -> DataFrame:
    """The model's ratings: its population, without topic notes when configured (§4.4.1)."""
    selected = ratings.where(in_population(cfg))
    if cfg.exclude_topic_notes and topic_notes is not None:
        selected = selected.join(topic_notes.select(NoteCols.NOTE_ID), on=NoteCols.NOTE_ID, how="left_anti")
    return selected
