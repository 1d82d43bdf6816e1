"""Rerun some models of an earlier multi-model run (shared docs/reference.md §5: a failed
group does not lose the others' results, and the group stage can be rerun for one group).

A run's tables hold what its combined outputs read from every model: `model_runs` (which
models ran, and how each ended), `model_scored_notes` (each model's notes), `model_rater_params`
(each model's second-round raters), Core's prescoring tables and its final scoring
(`core_final_notes`, `core_final_raters`, the pseudo-rater tables). `rerun_models` scores the
named models again on the same inputs and takes every other model's outcome from those tables.
Core is not refitted: its run is rebuilt from its tables and from its ratings' preparation,
which has no fit and is deterministic. Post-scoring then runs on the merged outcomes as after a
whole run, so a rerun that reproduces a model's notes reproduces every output.

Only the models of the isolated stage (group, multi-group, topic, Gaussian, reputation) can be
rerun: Core, CoreWithTopics and Expansion are the meta rules' authorities, and changing one of them
means running every model again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.config import ConfigError, CoordinationConfig, MFConfig, ModelsConfig
from cnscore.scoring import persist
from cnscore.scoring.combine import (ROLE, SCORED, SCORER_NAME, ModelOutcome, MultiRun, model_notes_table,
                                     model_raters_table, model_runs_table)
from cnscore.scoring.final import FinalResult, final_round_ratings
from cnscore.scoring.models import ModelSpec, single_role
from cnscore.scoring.multi_model import ISOLATED_ROLES, run_isolated
from cnscore.scoring.pipeline import CoreRun, SharedInputs, prepare_model, prepare_shared

log = logging.getLogger(__name__)
MODEL_RUNS, MODEL_NOTES, MODEL_RATERS = "model_runs", "model_scored_notes", "model_rater_params"
CORE_FINAL_NOTES, CORE_FINAL_RATERS = "core_final_notes", "core_final_raters"
CORE_BOUNDS, CORE_BOOTSTRAP = "core_pseudo_rater_bounds", "core_pseudo_bootstrap"
# Everything rerun_models reads from the earlier run.
TABLES = (MODEL_RUNS, MODEL_NOTES, MODEL_RATERS, CORE_FINAL_NOTES, CORE_FINAL_RATERS, CORE_BOUNDS, CORE_BOOTSTRAP,
          *persist.TABLES)


def run_tables(run: MultiRun) -> dict[str, DataFrame]:
    """The tables of a multi-model run that a later `rerun_models` reads (TABLES)."""
    core = run.core
    spark = core.ratings.sparkSession
    return {**persist.prescoring_tables(core.prescoring), MODEL_RUNS: model_runs_table(spark, run),
            MODEL_NOTES: model_notes_table(run), MODEL_RATERS: model_raters_table(run),
            CORE_FINAL_NOTES: core.final.scored_notes, CORE_FINAL_RATERS: core.final.final_raters,
            CORE_BOUNDS: core.final.pseudo_bounds, CORE_BOOTSTRAP: core.final.pseudo_bootstrap}


def rerun_models(tables: dict[str, DataFrame], specs: Sequence[ModelSpec], previous: dict[str, DataFrame],
                 names: Sequence[str], mf: MFConfig, coordination: CoordinationConfig, *,
                 rater_flags: DataFrame | None = None,
                 parallelism: int = ModelsConfig.parallelism) -> MultiRun:
    """Score the models named in `names` again; every other model of `specs` keeps the outcome
    the earlier run's tables (`previous`, see TABLES) recorded.

    Args:
        tables, specs, mf, coordination, rater_flags, parallelism: as for
            `multi_model.run_models`, and the same as the earlier run's (same inputs, same
            models); the earlier run must have selected exactly `specs`.
        previous: the earlier run's tables by name, materialized by the caller if it will
            overwrite them.
        names: scorer names (conf/models.yml `name`) of isolated-stage models (ISOLATED_ROLES).

    Raises:
        ConfigError: an unknown name, a model outside the isolated stage, a missing table, or
            an earlier run that selected other models.
    """
    chosen = _check(specs, previous, names)
    core_spec = single_role(specs, "core")
    shared = prepare_shared(tables, core_spec.scoring, coordination, rater_flags)  # type: ignore[union-attr]
    core_run = _stored_core_run(shared, core_spec, previous)  # type: ignore[arg-type]
    fresh = {o.spec.name: o for o in run_isolated(shared, tables, chosen, mf, parallelism, core_run=core_run)}
    shared.prepared.unpersist()
    earlier = {r[SCORER_NAME]: r for r in previous[MODEL_RUNS].collect()}
    outcomes = []
    for spec in sorted((s for s in specs if s.enabled), key=lambda s: s.role != "core"):
        if spec.name in fresh:
            outcomes.append(fresh[spec.name])
        elif spec is core_spec:
            outcomes.append(_stored(spec, earlier[spec.name], run=core_run))
        else:
            outcomes.append(_stored(spec, earlier[spec.name], previous=previous))
    for o in fresh.values():
        log.info("rerun %s (%s): %s (was %s)", o.spec.name, o.spec.role, o.state, earlier[o.spec.name]["state"])
    return MultiRun(tuple(outcomes))


def _check(specs: Sequence[ModelSpec], previous: dict[str, DataFrame], names: Sequence[str]) -> list[ModelSpec]:
    missing = [t for t in TABLES if t not in previous]
    if missing:
        raise ConfigError(f"rerun needs the earlier run's tables {missing} (written by a whole multi-model run)")
    by_name = {s.name: s for s in specs if s.enabled}
    unknown = sorted(set(names) - set(by_name))
    if unknown:
        raise ConfigError(f"rerun: {unknown} are not among the selected models {sorted(by_name)}")
    authorities = sorted(n for n in names if by_name[n].role not in ISOLATED_ROLES)
    if authorities:
        raise ConfigError(f"rerun: {authorities} are not group, multi-group, topic, Gaussian or reputation models; "
                          "changing them means running every model again")
    earlier = {r[SCORER_NAME] for r in previous[MODEL_RUNS].select(SCORER_NAME).collect()}
    if earlier != set(by_name):
        raise ConfigError(f"rerun: the earlier run selected {sorted(earlier)}, this one {sorted(by_name)}; "
                          "rerun with the earlier run's models.run")
    return [by_name[n] for n in dict.fromkeys(names)]


def _stored_core_run(shared: SharedInputs, spec: ModelSpec, previous: dict[str, DataFrame]) -> CoreRun:
    """Core's run as post-scoring and the Core-reading models see it, from its tables."""
    prepared = prepare_model(shared, spec.scoring)
    spark = prepared.ratings.sparkSession
    pre = persist.load_prescoring(spark, {name: previous[name] for name in persist.TABLES})
    selected = final_round_ratings(prepared.final_model, pre)
    final = FinalResult(previous[CORE_FINAL_NOTES].localCheckpoint(), previous[CORE_FINAL_RATERS].localCheckpoint(),
                        previous[CORE_BOUNDS], selected.count(), previous[CORE_BOOTSTRAP])
    notes = _stored_notes(previous, spec.name)
    return CoreRun(prepared.ratings, prepared.history, prepared.topics, pre, final, notes, prepared.ids)


def _stored_notes(previous: dict[str, DataFrame], name: str) -> DataFrame:
    notes = previous[MODEL_NOTES].where(F.col(SCORER_NAME) == name).drop(SCORER_NAME, ROLE)
    return notes.localCheckpoint()


def _stored(spec: ModelSpec, row, *, run: CoreRun | None = None,
            previous: dict[str, DataFrame] | None = None) -> ModelOutcome:
    """The earlier run's outcome of a model that is not rerun."""
    if row["state"] != SCORED:
        return ModelOutcome(spec, row["state"], row["reason"] or "", seconds=row["seconds"] or 0.0)
    notes = raters = None
    if run is None:
        notes = _stored_notes(previous, spec.name)  # type: ignore[arg-type]
        raters = (previous[MODEL_RATERS].where(F.col(SCORER_NAME) == spec.name)  # type: ignore[index]
                  .drop(SCORER_NAME, ROLE).localCheckpoint())
    return ModelOutcome(spec, SCORED, row["reason"] or "", run=run, notes_output=row["notesOutput"],
                        seconds=row["seconds"], stored_notes=notes, stored_raters=raters)
