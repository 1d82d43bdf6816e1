"""The multi-model run's outcomes and their combination into one set of output columns
(shared docs/reference.md §4.10): `combine_outputs` puts every model's note columns side by
side, coalescing the models that share a prefix (group models: groupNoteIntercept,
groupRatingStatus, ..., modelingGroup) into one set of columns, as the reference's
`run_scoring.combine_final_scorer_results` does; `combine_raters` does the same for the rater
columns of helpfulness_scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from cnscore.columns import RatingCols
from cnscore.scoring import groups, reputation_scorer, topics
from cnscore.scoring.models import CORE_PRESCORING, ModelSpec
from cnscore.scoring.outputs import model_columns
from cnscore.scoring.pipeline import CoreRun
from cnscore.scoring.reconcile import required_columns

NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
# Roles without <prefix>Rater* columns in helpfulness_scores: Core's are built by post-scoring;
# topic models share raters across topics and the reference outputs none for them; models
# that read Core's prescoring have no rater parameters of their own.
NO_RATER_COLUMNS = ("core", "topic")
FILTER_TAGS = "activeFilterTags"  # the scored_notes column is Core's tag-filter result
SCORED, SKIPPED, FAILED, UNSUPPORTED = "scored", "skipped", "failed", "unsupported"
SCORER_NAME, ROLE = "scorerName", "role"
RATER_PARAMS = (RATER_ID, "internalRaterIntercept", "internalRaterFactor1")
RATER_REPUTATION = reputation_scorer.RATER_REPUTATION  # reputation models' raters only (null elsewhere)
MODEL_RUNS_SCHEMA = ("scorerName string, role string, prefix string, state string, reason string, "
                     "notesOutput bigint, seconds double")
MODEL_RATERS_SCHEMA = (f"{SCORER_NAME} string, {ROLE} string, {RATER_ID} string, internalRaterIntercept double, "
                       f"internalRaterFactor1 double, {RATER_REPUTATION} double")


@dataclass(frozen=True)
class ModelOutcome:
    """What happened to one model: scored (with its run), skipped, failed or unsupported."""

    spec: ModelSpec
    state: str
    reason: str = ""
    run: CoreRun | None = None  # scored in this run; run.scored_notes holds the notes it outputs
    notes_output: int = 0
    seconds: float = 0.0
    # A model whose outcome is tables, not a CoreRun: one scored by an earlier run and not rerun
    # (cnscore.scoring.rerun), its notes and second-round raters as that run's
    # model_scored_notes / model_rater_params hold them; or a reputation model (no MF run),
    # its notes and raters (cnscore.scoring.reputation_scorer).
    stored_notes: DataFrame | None = None
    stored_raters: DataFrame | None = None

    @property
    def notes(self) -> DataFrame:
        """The notes the model outputs, with its final-scoring columns (scored models only)."""
        notes = self.run.scored_notes if self.run is not None else self.stored_notes
        if notes is None:
            raise ValueError(f"{self.spec.name} has no notes: it is {self.state}")
        return notes

    @property
    def raters(self) -> DataFrame | None:
        """raterParticipantId, internalRaterIntercept, internalRaterFactor1 of the model's own
        second-round prescoring (reputation models: of their prescoring, plus
        internalRaterReputation); None for roles without rater columns (NO_RATER_COLUMNS) and
        for models that read Core's prescoring."""
        if self.spec.role in NO_RATER_COLUMNS or self.spec.prescoring == CORE_PRESCORING:
            return None
        if self.run is None:
            return self.stored_raters
        return self.run.prescoring.second_round.raters.select(*RATER_PARAMS)


@dataclass(frozen=True)
class MultiRun:
    """Every selected model's outcome: Core first, then the models file's order."""

    outcomes: tuple[ModelOutcome, ...]

    @property
    def scored(self) -> list[ModelOutcome]:
        return [o for o in self.outcomes if o.state == SCORED]

    @property
    def specs(self) -> list[ModelSpec]:
        """The models that scored: the ones the meta rules take into account."""
        return [o.spec for o in self.scored]

    @property
    def core(self) -> CoreRun:
        """The core-role model's run (post-scoring reads its ratings, history and raters)."""
        found = [o.run for o in self.scored if o.spec.role == "core" and o.run is not None]
        if not found:
            raise ValueError("the core model did not score: nothing to post-score")
        return found[0]


def _by_prefix(outcomes: Sequence[ModelOutcome]) -> dict[str, list[ModelOutcome]]:
    """Scored models grouped by output prefix, in order: models sharing a prefix (the group
    models) are coalesced into one set of columns."""
    found: dict[str, list[ModelOutcome]] = {}
    for o in outcomes:
        if o.state == SCORED:
            found.setdefault(o.spec.prefix, []).append(o)
    return found


def _coalesced(frames: list[DataFrame], key: str, what: str) -> DataFrame:
    """Union of same-prefix outputs; each key may come from one model only (the reference
    asserts the same: group populations are disjoint and captures are >= 0.5)."""
    merged = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
    if len(frames) > 1:
        twice = merged.groupBy(key).count().where(F.col("count") > 1)
        if twice.limit(1).count():
            raise ValueError(f"{what}: {key} {twice.first()[key]} is output by more than one model")
    return merged


def _with_group_key(df: DataFrame, spec: ModelSpec) -> DataFrame:
    if spec.role not in groups.GROUP_KEYS:
        return df
    return df.withColumn(groups.GROUP_KEYS[spec.role], F.lit(float(spec.group_id)))  # type: ignore[arg-type]


def combine_outputs(outcomes: Sequence[ModelOutcome], note_ids: DataFrame) -> DataFrame:
    """noteId (every note of `note_ids`) plus each scored model's output columns (§4.10):
    <prefix>NoteIntercept, <prefix>RatingStatus, ...; group models coalesced into one set
    plus modelingGroup (multi-group: modelingMultiGroup); activeFilterTags from Core. Columns
    the meta rules read but a model did not produce (a population-sampled intercept without
    population-sampled ratings) are added as nulls."""
    combined = note_ids.select(NOTE_ID).distinct()
    for prefix, members in _by_prefix(outcomes).items():
        frames = []
        for o in members:
            cols = model_columns(o.notes, prefix)
            cols = cols if o.spec.role == "core" else cols.drop(FILTER_TAGS)
            if o.spec.topic is not None:  # the meta rules read which topic and whether confident
                cols = cols.join(o.notes.select(NOTE_ID, topics.NOTE_TOPIC, topics.TOPIC_CONFIDENT), NOTE_ID)
            frames.append(_with_group_key(cols, o.spec))
        combined = combined.join(_coalesced(frames, NOTE_ID, f"{prefix} notes"), NOTE_ID, "left")
    specs = [o.spec for o in outcomes if o.state == SCORED]
    missing = {k: t for k, t in required_columns(specs).items() if k not in combined.columns}
    return combined.withColumns({k: F.lit(None).cast(t) for k, t in missing.items()})


def combine_raters(outcomes: Sequence[ModelOutcome]) -> DataFrame | None:
    """raterParticipantId plus <prefix>RaterIntercept / <prefix>RaterFactor1 (second-round
    prescoring) of every scored model but Core, the topic models (NO_RATER_COLUMNS) and the
    models that read Core's prescoring; raterHelpfulnessReputation of a reputation model;
    group models coalesced with modelingGroup. None when only Core scored."""
    combined = None
    for prefix, members in _by_prefix(outcomes).items():
        frames = [_rater_columns(o, prefix) for o in members if o.raters is not None]
        if frames:
            merged = _coalesced(frames, RATER_ID, f"{prefix} raters")
            combined = merged if combined is None else combined.join(merged, RATER_ID, "full_outer")
    return combined


def _rater_columns(outcome: ModelOutcome, prefix: str) -> DataFrame:
    raters: DataFrame = outcome.raters  # type: ignore[assignment]
    if outcome.spec.role == reputation_scorer.ROLE:  # the reference outputs its reputation only (§2.2)
        return raters.select(RATER_ID, F.col(RATER_REPUTATION).alias(reputation_scorer.HELPFULNESS_REPUTATION))
    return _with_group_key(raters.select(
        RATER_ID, F.col("internalRaterIntercept").alias(f"{prefix}RaterIntercept"),
        F.col("internalRaterFactor1").alias(f"{prefix}RaterFactor1")), outcome.spec)


def model_runs_table(spark: SparkSession, run: MultiRun) -> DataFrame:
    """One row per selected model: scorerName, role, prefix, state, reason, notesOutput, seconds."""
    rows = [(o.spec.name, o.spec.role, o.spec.prefix, o.state, o.reason, o.notes_output, float(o.seconds))
            for o in run.outcomes]
    return spark.createDataFrame(rows, MODEL_RUNS_SCHEMA)


def model_notes_table(run: MultiRun) -> DataFrame:
    """One row per (scored model, note it outputs): scorerName, role, then the model's own
    note columns as its final scoring wrote them (internalNoteIntercept, ratingStatus,
    activeRules, explanation, ...; columns one model lacks are null). Unlike scored_notes,
    models sharing a prefix stay apart, so each group model's notes can be read alone."""
    frames = [o.notes.select(F.lit(o.spec.name).alias(SCORER_NAME), F.lit(o.spec.role).alias(ROLE), "*")
              for o in run.scored]
    return reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)


def model_raters_table(run: MultiRun) -> DataFrame:
    """One row per (scored model with rater columns, rater it fitted): scorerName, role,
    raterParticipantId, internalRaterIntercept, internalRaterFactor1 (second-round prescoring),
    internalRaterReputation (reputation models; else null). With model_scored_notes it holds
    what the combined outputs read from each model."""
    frames = [o.raters.select(F.lit(o.spec.name).alias(SCORER_NAME), F.lit(o.spec.role).alias(ROLE),
                              *RATER_PARAMS, _reputation_or_null(o.raters))
              for o in run.scored if o.raters is not None]
    if not frames:
        return run.core.ratings.sparkSession.createDataFrame([], MODEL_RATERS_SCHEMA)
    return reduce(lambda a, b: a.unionByName(b), frames)


def _reputation_or_null(raters: DataFrame):
    if RATER_REPUTATION in raters.columns:
        return F.col(RATER_REPUTATION).cast("double")
    return F.lit(None).cast("double").alias(RATER_REPUTATION)
