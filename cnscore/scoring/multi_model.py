"""Run several scoring models and combine their outputs (shared docs/reference.md §4.4-4.5 per
model, §4.10, §5.1).

Each model of conf/models.yml (a ModelSpec) whose role and algorithms the pipeline implements
runs the Core pipeline with its own ScoringConfig: its rating selection, its thresholds, its
capture threshold, and for group models the eligibility of `cnscore.scoring.groups`. The
inputs (preprocessing, post selection, topics) are prepared once for all of them. Models the
pipeline does not implement (unsupported_reason) are skipped with a log line; their columns
stay null. A model with a normalized loss (group 14, §3.9) runs like the others: its MFConfig
makes each of its MF fits two rounds (cnscore.mf.normalized_loss). Decisions branch on configured
fields, never on names.
Topic models (use_reputation false) score every rater's ratings on their topic's notes.
Models whose final algorithm is Gaussian score with the Gaussian scorer (§5.5) on their own MF
prescoring, or on Core's (prescoring "core": the Gaussian coverage models), in an id space that
extends Core's so that Core's parameters stay valid.
The reputation model (§5.8; algorithm reputation_mf) scores with the in-memory reputation MF
of cnscore.scoring.reputation_scorer instead of the MF phases; no meta rule reads it.

A model whose slice has no ratings left after the count filter is skipped (the reference
returns an empty result for it). A group, multi-group, topic, Gaussian or reputation model that
fails is logged and dropped so the other models' results survive; a failing Core, CoreWithTopics
or Expansion model fails the stage, because the meta rules would silently change meaning without it.

`combine_outputs` (cnscore.scoring.combine, re-exported here) then puts every model's note
columns side by side, coalescing the models that share a prefix.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from pyspark.sql import DataFrame

from cnscore.columns import RatingCols
from cnscore.config import ConfigError, CoordinationConfig, MFConfig, ModelsConfig
from cnscore.scoring import groups, reputation_scorer, topics
from cnscore.scoring.combine import (FAILED, SCORED, SKIPPED, UNSUPPORTED, ModelOutcome, MultiRun, combine_outputs,
                                     combine_raters, model_runs_table)
from cnscore.scoring.counts import filter_min_counts
from cnscore.scoring.models import CORE_PRESCORING, GAUSSIAN, REPUTATION_MF, ROLES, ModelSpec, single_role
from cnscore.scoring.pipeline import (CoreInputs, CoreRun, SharedInputs, Selector, capture, prepare_model,
                                      prepare_shared, score_prepared)

__all__ = ["FAILED", "SCORED", "SKIPPED", "UNSUPPORTED", "ModelOutcome", "MultiRun", "combine_outputs",
           "combine_raters", "model_runs_table", "run_models", "run_isolated", "select_models",
           "unsupported_reason"]

log = logging.getLogger(__name__)
NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
RUN_ALL = "all"  # models.run value: every enabled model of the file
SUPPORTED_ROLES = ("core", "core_with_topics", "expansion", "expansion_plus", "group", "multi_group", "topic",
                   "gaussian", reputation_scorer.ROLE)
# (prescoring, final) algorithm pairs: MF throughout; Gaussian final scoring on the model's own
# MF prescoring (group 15, InDimensionTwo) or on Core's (the Gaussian coverage models); the
# reputation MF in both phases (the reputation model).
SUPPORTED_ALGORITHMS = (("mf", "mf"), ("mf", GAUSSIAN), (CORE_PRESCORING, GAUSSIAN), (REPUTATION_MF, REPUTATION_MF))
# A failure drops the model, not the stage (they add statuses, or only columns; none is
# authoritative).
ISOLATED_ROLES = ("group", "multi_group", "topic", "gaussian", reputation_scorer.ROLE)


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
    if (spec.prescoring, spec.final) not in SUPPORTED_ALGORITHMS:
        return f"{spec.prescoring} prescoring / {spec.final} final scoring is not implemented"
    if (spec.role == reputation_scorer.ROLE) != (spec.final == REPUTATION_MF):
        # The reputation MF writes coverage columns and rater reputations, not the statuses and
        # columns the other roles' meta rules read; MF outputs lack the rater reputation.
        return f"role {spec.role} with {spec.final} final scoring is not implemented"
    if spec.normalized_loss is not None and (spec.prescoring, spec.final) != ("mf", "mf"):
        # The reference's normalized loss lives in its MF class; Gaussian and Core-reusing models
        # have no such fit of their own to weigh.
        return "the normalized loss (§3.9) is implemented for MF prescoring and MF final scoring only"
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
        parallelism: how many group / multi-group / topic / Gaussian / reputation models
            run at once (threads); the others run first, one after another.

    Returns:
        One outcome per spec. Raises when the core model (or another non-isolated one) fails.
    """
    core = single_role(specs, "core")
    if core is None:
        raise ConfigError("run_models needs a core model")
    # Preprocessing reads only run-wide settings (the NOT_MISLEADING launch time): Core's serve.
    shared = prepare_shared(tables, core.scoring, coordination, rater_flags)
    # Core first: it is required, so a failure there should surface before the others run.
    # One after another: side by side (Core with Expansion, the Gaussian models with Expansion's
    # tail) was slower at 1M ratings on 2 cores, 881 s against 815 s for the whole job.
    ordered = sorted((s for s in specs if s.enabled), key=lambda s: s.role != "core")
    done = {s.name: _run_one(s, shared, tables, mf) for s in ordered if s.role not in ISOLATED_ROLES}
    core_run = done[core.name].run
    isolated = run_isolated(shared, tables, [s for s in ordered if s.role in ISOLATED_ROLES], mf, parallelism,
                            core_run=core_run)
    done.update((o.spec.name, o) for o in isolated)
    outcomes = tuple(done[s.name] for s in ordered)
    shared.prepared.unpersist()  # each model's id space and ratings are materialized
    for o in outcomes:
        detail = f"{o.notes_output} notes, {o.seconds:.1f}s" if o.state == SCORED else o.reason
        log.info("model %s (%s): %s (%s)", o.spec.name, o.spec.role, o.state, detail)
    return MultiRun(outcomes)


def run_isolated(shared: SharedInputs, tables: dict[str, DataFrame], specs: Sequence[ModelSpec], mf: MFConfig,
                 parallelism: int, *, core_run: CoreRun | None = None) -> list[ModelOutcome]:
    """The group, multi-group, topic, Gaussian and reputation models as one stage: `parallelism` at a
    time, each failure recorded in its outcome (the others keep their results); outcomes in
    `specs` order. core_run: Core's run, for the models whose prescoring is Core's.

    They are independent (own id space, ratings and config) and small: run side by side,
    their many short Spark jobs overlap instead of leaving workers idle, and with mf.engine
    auto each of their fits is one pandas-UDF call on one worker (cnscore.mf.worker).
    """
    if any(s.role not in ISOLATED_ROLES for s in specs):
        raise ValueError(f"run_isolated runs only {ISOLATED_ROLES} models")
    started = time.time()
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(specs))), thread_name_prefix="model") as pool:
        outcomes = list(pool.map(lambda s: _run_one(s, shared, tables, mf, core_run), specs))
    if specs:
        log.info("%d group models, %d at a time: %.1fs", len(specs), parallelism, time.time() - started)
    return outcomes


def _run_one(spec: ModelSpec, shared: SharedInputs, tables: dict[str, DataFrame], mf: MFConfig,
             core_run: CoreRun | None = None) -> ModelOutcome:
    reason = unsupported_reason(spec)
    if reason is not None:
        log.info("%s: not run (%s); its %s* columns stay empty", spec.name, reason, spec.prefix)
        return ModelOutcome(spec, UNSUPPORTED, reason)
    started = time.time()
    try:
        return _score(spec, shared, tables, mf, started, core_run)
    except Exception as exc:  # noqa: BLE001 - isolated roles only; everything else re-raises
        if spec.role not in ISOLATED_ROLES:
            raise
        log.exception("%s failed; the other models' results are kept", spec.name)
        return ModelOutcome(spec, FAILED, f"{type(exc).__name__}: {exc}"[:500], seconds=time.time() - started)


def _score(spec: ModelSpec, shared: SharedInputs, tables: dict[str, DataFrame], mf: MFConfig,
           started: float, core_run: CoreRun | None) -> ModelOutcome:
    cfg = spec.scoring
    log.info("%s (%s): preparing its ratings", spec.name, spec.role)
    reads_core = spec.prescoring == CORE_PRESCORING
    if reads_core and core_run is None:
        raise ValueError(f"{spec.name}: its prescoring is Core's, and Core has not scored")
    base_ids = core_run.ids if reads_core else None  # type: ignore[union-attr]
    prepared = prepare_model(shared, cfg, _selector(spec, shared), base_ids=base_ids)
    if reads_core:  # the reference's Gaussian final scoring: notes with >= 5 ratings, no rater minimum
        trainable = filter_min_counts(prepared.final_model, cfg.min_ratings_per_note, 0)
        wanted = f"{cfg.min_ratings_per_note}-per-note"
    else:
        trainable = filter_min_counts(prepared.pre_model, cfg.min_ratings_per_note, cfg.min_ratings_per_rater)
        wanted = f"{cfg.min_ratings_per_note}-per-note / {cfg.min_ratings_per_rater}-per-rater"
    if not trainable.limit(1).count():
        reason = f"no ratings left after the {wanted} count filter"
        if spec.role == "core":
            raise ValueError(f"{spec.name}: {reason}")
        log.warning("%s: %s; skipped (an empty result, as in the reference)", spec.name, reason)
        return ModelOutcome(spec, SKIPPED, reason, seconds=time.time() - started)
    if spec.final == REPUTATION_MF:
        return _score_reputation(spec, prepared, mf, started, wanted)
    pre, final = score_prepared(prepared, spec.mf_config(mf), cfg, gaussian=spec.gaussian,
                                pre=core_run.prescoring if reads_core else None)  # type: ignore[union-attr]
    notes = _output_notes(spec, final.scored_notes, prepared, tables).localCheckpoint()
    run = CoreRun(prepared.ratings, prepared.history, prepared.topics, pre, final, notes, prepared.ids)
    return ModelOutcome(spec, SCORED, run=run, notes_output=notes.count(), seconds=time.time() - started)


def _score_reputation(spec: ModelSpec, prepared: CoreInputs, mf: MFConfig, started: float,
                      wanted: str) -> ModelOutcome:
    """The reputation model (§5.8): no CoreRun; its outcome carries its notes and raters as
    tables (stored_notes / stored_raters), as a model kept from an earlier run does."""
    result = reputation_scorer.score_reputation(prepared, spec.mf_config(mf), spec.scoring,
                                              spec.reputation_mf)
    if result is None:
        reason = f"no ratings left after the {wanted} count filter"
        log.warning("%s: %s; skipped (an empty result, as in the reference)", spec.name, reason)
        return ModelOutcome(spec, SKIPPED, reason, seconds=time.time() - started)
    return ModelOutcome(spec, SCORED, notes_output=result.notes.count(), seconds=time.time() - started,
                        stored_notes=result.notes, stored_raters=result.raters)


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
