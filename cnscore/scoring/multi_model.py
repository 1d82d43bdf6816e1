"""Run several scoring models and combine their outputs (shared docs/reference.md §4.4-4.5 per
model, §4.10, §5.1).

Each model of conf/models.yml (a ModelSpec) whose role and algorithms the pipeline implements
runs the Core pipeline with its own ScoringConfig: its rating selection, its thresholds, its
capture threshold, and for group models the eligibility of `cnscore.scoring.groups`. The
inputs (preprocessing, post selection, topics) are prepared once for all of them. Models the
pipeline does not implement yet (Gaussian final scoring, reputation, normalized loss) are skipped
with a log line; their columns stay null. Decisions branch on configured fields, never on names.
Topic models (use_reputation false) score every rater's ratings on their topic's notes.

A model whose slice has no ratings left after the count filter is skipped (the reference
returns an empty result for it). A group, multi-group or topic model that fails is logged and dropped
so the other models' results survive; a failing Core, CoreWithTopics or Expansion model fails
the stage, because the meta rules would silently change meaning without it.

`combine_outputs` then puts every model's note columns side by side, coalescing the models
that share a prefix (group models: groupNoteIntercept, groupRatingStatus, ..., modelingGroup)
into one set of columns, as `run_scoring.combine_final_scorer_results` does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from cnscore.columns import RatingCols
from cnscore.config import ConfigError, CoordinationConfig, MFConfig, ModelsConfig
from cnscore.scoring import groups, topics
from cnscore.scoring.counts import filter_min_counts
from cnscore.scoring.models import ROLES, ModelSpec, single_role
from cnscore.scoring.outputs import model_columns
from cnscore.scoring.pipeline import (CoreInputs, CoreRun, SharedInputs, Selector, capture, prepare_model,
                                      prepare_shared, score_prepared)
from cnscore.scoring.reconcile import required_columns

log = logging.getLogger(__name__)
NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
# Roles without <prefix>Rater* columns in helpfulness_scores: Core's are built by post-scoring;
# topic models share raters across topics and the reference outputs none for them.
NO_RATER_COLUMNS = ("core", "topic")
FILTER_TAGS = "activeFilterTags"  # the scored_notes column is Core's tag-filter result

RUN_ALL = "all"  # models.run value: every enabled model of the file
SUPPORTED_ROLES = ("core", "core_with_topics", "expansion", "expansion_plus", "group", "multi_group", "topic")
SUPPORTED_ALGORITHM = "mf"  # prescoring and final scoring
ISOLATED_ROLES = ("group", "multi_group", "topic")  # a failure drops the model, not the stage
SCORED, SKIPPED, FAILED, UNSUPPORTED = "scored", "skipped", "failed", "unsupported"
MODEL_RUNS_SCHEMA = ("scorerName string, role string, prefix string, state string, reason string, "
                     "notesOutput bigint, seconds double")


@dataclass(frozen=True)
class ModelOutcome:
    """What happened to one model: scored (with its run), skipped, failed or unsupported."""

    spec: ModelSpec
    state: str
    reason: str = ""
    run: CoreRun | None = None  # scored only; run.scored_notes holds the notes it outputs
    notes_output: int = 0
    seconds: float = 0.0


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


def select_models(specs: Sequence[ModelSpec], run: Sequence[str]) -> list[ModelSpec]:
    """The enabled models whose role is listed in `run` (every enabled model with "all").

    Raises:
        ConfigError: an unknown role, or no core model (Core is authoritative, and
            post-scoring reads its raters).
    """
    unknown = sorted(set(run) - {*ROLES, RUN_ALL})
    if unknown:
        raise ConfigError(f"models.run: unknown roles {unknown}; expected {RUN_ALL!r} or some of {ROLES}")
    chosen = [s for s in specs if s.enabled and (RUN_ALL in run or s.role in run)]
    if single_role(chosen, "core") is None:
        raise ConfigError("models.run must include the core model (role core)")
    return chosen


def unsupported_reason(spec: ModelSpec) -> str | None:
    """Why the pipeline cannot run this model yet, or None when it can."""
    if spec.role not in SUPPORTED_ROLES:
        return f"role {spec.role} is not implemented"
    if (spec.prescoring, spec.final) != (SUPPORTED_ALGORITHM, SUPPORTED_ALGORITHM):
        return f"{spec.prescoring} prescoring / {spec.final} final scoring is not implemented"
    if spec.normalized_loss is not None:
        return "the normalized-loss refit (§3.9) is not implemented"
    return None


def run_models(tables: dict[str, DataFrame], specs: Sequence[ModelSpec], mf: MFConfig,
               coordination: CoordinationConfig, *, rater_flags: DataFrame | None = None,
               parallelism: int = ModelsConfig.parallelism) -> MultiRun:
    """Prescoring and final scoring of each model in `specs` (see `select_models`).

    Args:
        tables: "notes", "ratings", optionally "noteStatusHistory" and "userEnrollment".
        specs: the models to run; exactly one has role core.
        mf: the job's MF settings; each model applies its own overrides (`ModelSpec.mf_config`).
        rater_flags: the coordination stage's rater flags (None: no post selection).
        parallelism: how many group / multi-group models run at once (threads); the others
            run first, one after another.

    Returns:
        One outcome per spec. Raises when the core model (or another non-isolated one) fails.
    """
    core = single_role(specs, "core")
    if core is None:
        raise ConfigError("run_models needs a core model")
    # Preprocessing reads only run-wide settings (the NOT_MISLEADING launch time): Core's serve.
    shared = prepare_shared(tables, core.scoring, coordination, rater_flags)
    # Core first: it is required, so a failure there should surface before the others run.
    ordered = sorted((s for s in specs if s.enabled), key=lambda s: s.role != "core")
    done = {s.name: _run_one(s, shared, tables, mf) for s in ordered if s.role not in ISOLATED_ROLES}
    isolated = run_isolated(shared, tables, [s for s in ordered if s.role in ISOLATED_ROLES], mf, parallelism)
    done.update((o.spec.name, o) for o in isolated)
    outcomes = tuple(done[s.name] for s in ordered)
    shared.prepared.unpersist()  # each model's id space and ratings are materialized
    for o in outcomes:
        detail = f"{o.notes_output} notes, {o.seconds:.1f}s" if o.state == SCORED else o.reason
        log.info("model %s (%s): %s (%s)", o.spec.name, o.spec.role, o.state, detail)
    return MultiRun(outcomes)


def run_isolated(shared: SharedInputs, tables: dict[str, DataFrame], specs: Sequence[ModelSpec], mf: MFConfig,
                 parallelism: int) -> list[ModelOutcome]:
    """The group and multi-group models as one stage: `parallelism` at a time, each failure
    recorded in its outcome (the others keep their results); outcomes in `specs` order.

    They are independent (own id space, ratings and config) and small: run side by side,
    their many short Spark jobs overlap instead of leaving workers idle, and with mf.engine
    auto each of their fits is one pandas-UDF call on one worker (cnscore.mf.worker).
    """
    if any(s.role not in ISOLATED_ROLES for s in specs):
        raise ValueError(f"run_isolated runs only {ISOLATED_ROLES} models")
    started = time.time()
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(specs))), thread_name_prefix="model") as pool:
        outcomes = list(pool.map(lambda s: _run_one(s, shared, tables, mf), specs))
    if specs:
        log.info("%d group models, %d at a time: %.1fs", len(specs), parallelism, time.time() - started)
    return outcomes


def _run_one(spec: ModelSpec, shared: SharedInputs, tables: dict[str, DataFrame], mf: MFConfig) -> ModelOutcome:
    reason = unsupported_reason(spec)
    if reason is not None:
        log.info("%s: not run (%s); its %s* columns stay empty", spec.name, reason, spec.prefix)
        return ModelOutcome(spec, UNSUPPORTED, reason)
    started = time.time()
    try:
        return _score(spec, shared, tables, mf, started)
    except Exception as exc:  # noqa: BLE001 - isolated roles only; everything else re-raises
        if spec.role not in ISOLATED_ROLES:
            raise
        log.exception("%s failed; the other models' results are kept", spec.name)
        return ModelOutcome(spec, FAILED, f"{type(exc).__name__}: {exc}"[:500], seconds=time.time() - started)


def _score(spec: ModelSpec, shared: SharedInputs, tables: dict[str, DataFrame], mf: MFConfig,
           started: float) -> ModelOutcome:
    cfg = spec.scoring
    log.info("%s (%s): preparing its ratings", spec.name, spec.role)
    prepared = prepare_model(shared, cfg, _selector(spec, shared))
    trainable = filter_min_counts(prepared.pre_model, cfg.min_ratings_per_note, cfg.min_ratings_per_rater)
    if not trainable.limit(1).count():
        reason = (f"no ratings left after the {cfg.min_ratings_per_note}-per-note / "
                  f"{cfg.min_ratings_per_rater}-per-rater count filter")
        if spec.role == "core":
            raise ValueError(f"{spec.name}: {reason}")
        log.warning("%s: %s; skipped (an empty result, as in the reference)", spec.name, reason)
        return ModelOutcome(spec, SKIPPED, reason, seconds=time.time() - started)
    pre, final = score_prepared(prepared, spec.mf_config(mf), cfg)
    notes = _output_notes(spec, final.scored_notes, prepared, tables).localCheckpoint()
    run = CoreRun(prepared.ratings, prepared.history, prepared.topics, pre, final, notes)
    return ModelOutcome(spec, SCORED, run=run, notes_output=notes.count(), seconds=time.time() - started)


def _selector(spec: ModelSpec, shared: SharedInputs) -> Selector | None:
    """The model's rating selection; None (the pipeline's default) unless strict inclusion
    also drops notes below the capture share at input time (§4.4.1, group 33)."""
    if spec.topic is not None:
        return topics.topic_selector(shared.topics, spec.topic.name)
    if not spec.selection.strict_inclusion:
        return None

    def select(ratings: DataFrame) -> DataFrame:
        chosen = groups.select_group_ratings(ratings, spec)
        if spec.scoring.exclude_topic_notes:
            chosen = chosen.join(shared.topics.select(NOTE_ID), NOTE_ID, "left_anti")
        return chosen

    return select


def _output_notes(spec: ModelSpec, scored: DataFrame, prepared: CoreInputs,
                  tables: dict[str, DataFrame]) -> DataFrame:
    """The notes the model outputs (§4.5 step 6): the capture share over every rater's
    ratings; group models use the group eligibility (share, optional author condition)."""
    if spec.topic is not None:
        return topics.with_topic_confidence(capture(scored, prepared, spec.scoring), spec.topic)
    if spec.group_id is None:
        return capture(scored, prepared, spec.scoring)
    eligible = groups.group_eligible_notes(prepared.ratings, tables["notes"], tables.get("userEnrollment"), spec)
    notes = scored.join(eligible.select(NOTE_ID), NOTE_ID, "left_semi")
    if spec.scoring.exclude_topic_notes:
        notes = notes.join(prepared.topics.select(NOTE_ID), NOTE_ID, "left_anti")
    return notes


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
            cols = model_columns(o.run.scored_notes, prefix)  # type: ignore[union-attr]
            cols = cols if o.spec.role == "core" else cols.drop(FILTER_TAGS)
            if o.spec.topic is not None:  # the meta rules read which topic and whether confident
                cols = cols.join(o.run.scored_notes.select(NOTE_ID, topics.NOTE_TOPIC, topics.TOPIC_CONFIDENT),  # type: ignore[union-attr]
                                 NOTE_ID)
            frames.append(_with_group_key(cols, o.spec))
        combined = combined.join(_coalesced(frames, NOTE_ID, f"{prefix} notes"), NOTE_ID, "left")
    specs = [o.spec for o in outcomes if o.state == SCORED]
    missing = {k: t for k, t in required_columns(specs).items() if k not in combined.columns}
    return combined.withColumns({k: F.lit(None).cast(t) for k, t in missing.items()})


def combine_raters(outcomes: Sequence[ModelOutcome]) -> DataFrame | None:
    """raterParticipantId plus <prefix>RaterIntercept / <prefix>RaterFactor1 (second-round
    prescoring) of every scored model but Core and the topic models (NO_RATER_COLUMNS);
    group models coalesced with modelingGroup. None when only Core scored."""
    combined = None
    for prefix, members in _by_prefix(outcomes).items():
        frames = [_with_group_key(o.run.prescoring.second_round.raters.select(  # type: ignore[union-attr]
            RATER_ID, F.col("internalRaterIntercept").alias(f"{prefix}RaterIntercept"),
            F.col("internalRaterFactor1").alias(f"{prefix}RaterFactor1")), o.spec)
            for o in members if o.spec.role not in NO_RATER_COLUMNS]
        if frames:
            merged = _coalesced(frames, RATER_ID, f"{prefix} raters")
            combined = merged if combined is None else combined.join(merged, RATER_ID, "full_outer")
    return combined


def model_runs_table(spark: SparkSession, run: MultiRun) -> DataFrame:
    """One row per selected model: scorerName, role, prefix, state, reason, notesOutput, seconds."""
    rows = [(o.spec.name, o.spec.role, o.spec.prefix, o.state, o.reason, o.notes_output, float(o.seconds))
            for o in run.outcomes]
    return spark.createDataFrame(rows, MODEL_RUNS_SCHEMA)
