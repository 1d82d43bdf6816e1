"""The coordination stage: high-volume raters, post-selection groups, quasi-cliques, flags.

`run_coordination` is the reference's `pss` phase (shared docs/reference.md §4.1-4.2, plus
§1.6 step 3); `apply_post_selection` is §4.1.4, applied wherever ratings are scored.
Table layouts are documented in cnscore.coordination.schemas.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, fields

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cnscore import schemas
from cnscore.columns import NoteCols, RatingCols
from cnscore.config import CoordinationConfig
from cnscore.coordination import schemas as cs
from cnscore.coordination.affinity import affinity_links, author_rater_scores
from cnscore.coordination.components import connected_components
from cnscore.coordination.corating import corating_links, corating_scores
from cnscore.coordination.high_volume import high_volume_raters
from cnscore.coordination.quasi_cliques import find_quasi_cliques
from cnscore.coordination.schemas import CoordCols, Rules
from cnscore.coordination.summary import summarize
from cnscore.preprocess import filter_labeled_ratings

log = logging.getLogger("cnscore.coordination")
R, N, C = RatingCols, NoteCols, CoordCols
_RATING_COLS = (R.NOTE_ID, R.RATER_ID, R.CREATED_AT, R.HELPFUL, R.NOT_HELPFUL, R.HELPFULNESS_LEVEL)
REQUIRED_RATINGS = T.StructType([f for f in schemas.RATINGS.fields if f.name in _RATING_COLS])
_NOTE_COLS = (N.NOTE_ID, N.AUTHOR_ID, N.CREATED_AT, N.TWEET_ID, N.CLASSIFICATION)
REQUIRED_NOTES = T.StructType([f for f in schemas.NOTES.fields if f.name in _NOTE_COLS])


@dataclass(frozen=True)
class CoordinationResult:
    """The stage's tables (materialized and persisted: writing them twice is cheap)."""

    pairs: DataFrame  # cs.PAIRS
    groups: DataFrame  # cs.GROUPS
    quasi_cliques: DataFrame  # cs.QUASI_CLIQUES
    rater_flags: DataFrame  # cs.RATER_FLAGS
    summary: DataFrame  # cs.SUMMARY

    def release(self) -> None:
        """Unpersist every table (call after writing them)."""
        for f in fields(self):
            getattr(self, f.name).unpersist()


def _conform(df: DataFrame, schema: T.StructType) -> DataFrame:
    """Select the schema's columns in order, cast to its types (missing ones as typed nulls)."""
    have = set(df.columns)
    return df.select(
        *[
            (F.col(f.name) if f.name in have else F.lit(None)).cast(f.dataType).alias(f.name)
            for f in schema.fields
        ]
    )


def _materialize(df: DataFrame, name: str, started: float | None = None) -> DataFrame:
    """Cache and count `df` (if not cached yet), logging its rows and time since `started`."""
    started = time.perf_counter() if started is None else started
    if not df.is_cached:
        df = df.persist(StorageLevel.MEMORY_AND_DISK)
    rows = df.count()
    log.info("coordination: %s has %d rows (%.1fs)", name, rows, time.perf_counter() - started)
    return df


def link_pairs(ratings: DataFrame, notes: DataFrame, cfg: CoordinationConfig) -> DataFrame:
    """Both rules' links in the PAIRS layout (lazy)."""
    affinity = affinity_links(author_rater_scores(ratings, notes, cfg), cfg)
    affinity = affinity.withColumn(C.RULE, F.lit(Rules.AFFINITY))
    corating = corating_links(corating_scores(ratings, notes, cfg), cfg)
    corating = corating.withColumn(C.RULE, F.lit(Rules.CORATING))
    return _conform(affinity, cs.PAIRS).unionByName(_conform(corating, cs.PAIRS))


def run_coordination(
    ratings: DataFrame,
    notes: DataFrame,
    cfg: CoordinationConfig,
    *,
    epoch_millis: int | None = None,
) -> CoordinationResult:
    """Detect coordinated raters: the reference's `pss` phase on Spark.

    Args:
        ratings: ratings in the canonical input schema (unlabelled rows are dropped here, as
            the reference's preprocessing does before this phase).
        notes: notes in the canonical input schema (tweetId, classification, author).
        cfg: thresholds (defaults are the reference's).
        epoch_millis: end of the high-volume windows; None = the latest rating time.

    Returns:
        CoordinationResult with pairs, groups, quasi_cliques, rater_flags and summary.

    Raises:
        SchemaError: an input lacks a required column.
        QuasiCliqueBoundError / ComponentsDidNotConvergeError: a documented bound was hit.

    Example:
        >>> result = run_coordination(ratings, notes, CoordinationConfig())
        >>> result.rater_flags.where("postSelectionGroupId IS NOT NULL").count()
    """
    schemas.validate_schema(ratings, REQUIRED_RATINGS, where="run_coordination(ratings)")
    schemas.validate_schema(notes, REQUIRED_NOTES, where="run_coordination(notes)")
    labelled = filter_labeled_ratings(ratings.select(*_RATING_COLS))
    # Read by every rule below. Cut from its plan (the TSV parsing) as well as cached:
    # adaptive execution re-renders every plan holding a cached frame's plan at each stage.
    labelled = labelled.localCheckpoint(eager=False).persist(StorageLevel.MEMORY_AND_DISK)
    notes = notes.select(*_NOTE_COLS)
    try:
        pairs = _materialize(link_pairs(labelled, notes, cfg), "pairs")
        started = time.perf_counter()
        groups = _materialize(
            connected_components(
                pairs,
                src=C.LEFT,
                dst=C.RIGHT,
                max_iterations=cfg.components_max_iterations,
                max_driver_links=cfg.max_driver_component_links,
            ),
            "groups",
            started,
        )
        started = time.perf_counter()
        cliques = _materialize(find_quasi_cliques(labelled, notes, cfg), "quasi_cliques", started)
        high_volume = high_volume_raters(labelled, cfg, epoch_millis=epoch_millis)
        flags = _materialize(_rater_flags(high_volume.raters, groups, cliques), "rater_flags")
        summary = _materialize(
            summarize(pairs, groups, cliques, flags, high_volume.windows, cfg), "summary"
        )
    finally:
        labelled.unpersist()
    return CoordinationResult(pairs, groups, cliques, flags, summary)


def _rater_flags(high_volume: DataFrame, groups: DataFrame, cliques: DataFrame) -> DataFrame:
    members = groups.select(C.PARTICIPANT, C.GROUP_ID)
    first_clique = cliques.groupBy(C.PARTICIPANT).agg(F.min(C.CLIQUE_ID).alias(C.CLIQUE_ID))
    flags = (
        high_volume.select(R.RATER_ID, C.IS_HIGH_VOLUME)
        .join(members, on=C.PARTICIPANT, how="full")  # authors in a group may never rate
        .join(first_clique, on=C.PARTICIPANT, how="left")
        .withColumn(C.IS_HIGH_VOLUME, F.coalesce(F.col(C.IS_HIGH_VOLUME), F.lit(False)))
    )
    return _conform(flags, cs.RATER_FLAGS)


def apply_post_selection(
    ratings: DataFrame,
    notes: DataFrame,
    rater_flags: DataFrame,
    *,
    cfg: CoordinationConfig | None = None,
) -> DataFrame:
    """Treat each post-selection group as one rater, and mark quasi-clique members (§4.1.4).

    - Every rating gets `correlatedRater`: its rater has a quasiCliqueId. Ratings are kept.
    - Ratings by members of a group on a note whose author is in the same group are dropped.
    - Otherwise a group keeps only its earliest rating on each note (ties: smallest rater id).
    - Ratings by raters in no group pass through.

    The reference returns the ratings unfiltered (flag still set) when there are fewer than
    200 notes; here that happens only when `cfg.apply_skip_below_notes` is set (default
    None: always filter), so small tests exercise the production path.

    Args:
        ratings: any ratings frame with noteId, raterParticipantId, createdAtMillis.
        notes: noteId, noteAuthorParticipantId.
        rater_flags: the stage's rater_flags table.

    Returns:
        The kept ratings, with their own columns plus `correlatedRater` (boolean).

    Example:
        >>> apply_post_selection(ratings, notes, result.rater_flags)
    """
    cfg = cfg or CoordinationConfig()
    flags = rater_flags.select(C.PARTICIPANT, C.GROUP_ID, C.CLIQUE_ID)
    flagged = ratings.join(flags, on=R.RATER_ID, how="left").withColumn(
        C.CORRELATED, F.col(C.CLIQUE_ID).isNotNull()
    )
    out_cols = [*ratings.columns, C.CORRELATED]
    if cfg.apply_skip_below_notes is not None and notes.count() < cfg.apply_skip_below_notes:
        return flagged.select(*out_cols)
    author_groups = notes.select(N.NOTE_ID, N.AUTHOR_ID).join(
        flags.select(
            F.col(C.PARTICIPANT).alias(N.AUTHOR_ID), F.col(C.GROUP_ID).alias("_authorGroup")
        ),
        on=N.AUTHOR_ID,
        how="inner",
    )
    ungrouped = flagged.where(F.col(C.GROUP_ID).isNull())
    grouped = flagged.where(F.col(C.GROUP_ID).isNotNull()).join(
        author_groups.select(N.NOTE_ID, "_authorGroup"), on=N.NOTE_ID, how="left"
    )
    # The author's group is a property of the note, so within one (note, group) window either
    # every row is dropped or none: ranking before or after that filter is the same.
    first = Window.partitionBy(R.NOTE_ID, C.GROUP_ID).orderBy(R.CREATED_AT, R.RATER_ID)
    kept = (
        grouped.where(~F.col(C.GROUP_ID).eqNullSafe(F.col("_authorGroup")))
        .withColumn("_rank", F.row_number().over(first))
        .where(F.col("_rank") == 1)
    )
    return ungrouped.select(*out_cols).unionByName(kept.select(*out_cols))


def with_high_volume_flag(ratings: DataFrame, rater_flags: DataFrame) -> DataFrame:
    """Add `highVolumeRater` (boolean) to every rating, as the reference's preprocessing does."""
    flags = rater_flags.select(R.RATER_ID, F.col(C.IS_HIGH_VOLUME).alias(C.HIGH_VOLUME_RATING))
    return ratings.join(flags, on=R.RATER_ID, how="left").select(
        *ratings.columns,
        F.coalesce(F.col(C.HIGH_VOLUME_RATING), F.lit(False)).alias(C.HIGH_VOLUME_RATING),
    )
