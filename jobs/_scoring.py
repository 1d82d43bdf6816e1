"""The score job's scoring phases: what to read, what to run, what to write (paths live here).

- prescoring: coordination flags (read from OUT/tables/rater_flags when a coordination phase
  wrote them, computed otherwise), then Core prescoring; writes the prescoring tables.
- final: reads the prescoring tables, runs final scoring and post-scoring, writes the stage
  tables and the reference's four TSVs into OUT.
- all: both in one process, without the round trip through tables. This phase also runs the
  other models selected by `models.run` (cnscore/scoring/multi_model.py); the split phases
  persist Core's prescoring only, so they refuse a multi-model selection. With `rerun` names it
  scores only those group / multi-group / topic / Gaussian / reputation models again and reads every other model's outcome
  from OUT/tables (cnscore/scoring/rerun.py), then post-scores and writes as usual.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from cnscore.config import ScoreConfig
from cnscore.scoring import persist
from cnscore.scoring.final import score_final
from cnscore.scoring import rerun as reruns
from cnscore.scoring.combine import model_notes_table
from cnscore.scoring.multi_model import SCORED, ModelOutcome, MultiRun, combine_outputs, combine_raters, run_models
from cnscore.scoring.outputs import post_score
from cnscore.scoring.pipeline import CoreRun, captured, prepare_core
from cnscore.scoring.prescoring import prescore
from jobs import _io
from jobs._models import selected_models
from jobs._reference_tsv import write_reference_tsv

log = logging.getLogger("cnscore.jobs")
REFERENCE_TSVS = ("scored_notes", "helpfulness_scores", "note_status_history", "aux_note_info")
TSV_ORDER = {"helpfulness_scores": "raterParticipantId"}


def _latest_rating_millis(tables: dict[str, DataFrame]) -> int:
    row = tables["ratings"].agg({"createdAtMillis": "max"}).first()
    return int(row[0] or 0)


def _flags(spark: SparkSession, outdir: str, cfg: ScoreConfig, flags: DataFrame | None) -> DataFrame | None:
    if flags is not None:
        return flags
    try:
        return _io.read_table(spark, outdir, "rater_flags", cfg.output)
    except FileNotFoundError:
        log.warning("no rater_flags table in %s: post selection is not applied", outdir)
        return None


def run_scoring(spark: SparkSession, phase: str, tables: dict[str, DataFrame], cfg: ScoreConfig, outdir: str,
                *, epoch_millis: int | None, rater_flags: DataFrame | None = None,
                read_flags: bool = True, rerun: tuple[str, ...] = ()) -> dict[str, float]:
    """Run the scoring phase(s) and write their outputs; returns wall seconds per step.

    rerun: scorer names to score again (phase all only), reading the other models' outcomes
        from the tables an earlier whole run wrote into OUT/tables.
    """
    if "notes" not in tables:
        raise SystemExit("scoring needs --notes as well as --ratings")
    epoch = epoch_millis if epoch_millis is not None else _latest_rating_millis(tables)
    # Flags passed in are used either way; read_flags only allows reading them from OUT.
    flags = _flags(spark, outdir, cfg, rater_flags) if read_flags else rater_flags
    seconds: dict[str, float] = {}
    started = time.time()
    specs = selected_models(cfg)
    if rerun and phase != "all":
        raise SystemExit(f"--rerun needs --phase all (got --phase {phase})")
    if rerun:
        # Materialized before anything overwrites them: the merged tables replace these.
        previous = {name: _read_earlier(spark, outdir, name, cfg) for name in reruns.TABLES}
        multi = reruns.rerun_models(tables, specs, previous, rerun, cfg.mf, cfg.coordination, rater_flags=flags,
                                    parallelism=cfg.models.parallelism)
        run_tables = reruns.run_tables(multi)
        _write({name: run_tables[name] for name in (reruns.MODEL_RUNS, reruns.MODEL_NOTES, reruns.MODEL_RATERS)},
               outdir, cfg)
        seconds["rerun"] = time.time() - started
    elif phase == "all":
        multi = run_models(tables, specs, cfg.mf, cfg.coordination, rater_flags=flags,
                           parallelism=cfg.models.parallelism)
        _write({**reruns.run_tables(multi), "core_scored_notes": multi.core.scored_notes}, outdir, cfg)
        seconds["prescoring+final"] = time.time() - started
    else:
        if len(specs) > 1:
            raise SystemExit(f"--phase {phase} scores Core only; run other models with --phase all "
                             f"(models.run={','.join(cfg.models.run)})")
        scoring, mf = specs[0].scoring, specs[0].mf_config(cfg.mf)  # Core, as the models file defines it
        prepared = prepare_core(tables, scoring, cfg.coordination, flags)
        mf = prepared.mf_config(mf)
        _io.write_table(prepared.ids.note_ids, outdir, "note_ids", cfg.output)
        _io.write_table(prepared.ids.rater_ids, outdir, "rater_ids", cfg.output)
        if phase == "prescoring":
            pre = prescore(prepared.pre_model, prepared.history, prepared.ids, mf, scoring)
            _write(persist.prescoring_tables(pre), outdir, cfg)
            seconds["prescoring"] = time.time() - started
            return seconds
        pre = persist.load_prescoring(spark, {n: _io.read_table(spark, outdir, n, cfg.output) for n in persist.TABLES})
        final = score_final(prepared.final_model, prepared.history, prepared.ids, pre, mf, scoring,
                            correlated_raters=prepared.correlated)
        run = CoreRun(prepared.ratings, prepared.history, prepared.topics, pre, final,
                      captured(final, prepared, scoring), prepared.ids)
        _write({"core_scored_notes": run.scored_notes, "core_pseudo_rater_bounds": final.pseudo_bounds,
                "core_pseudo_bootstrap": final.pseudo_bootstrap}, outdir, cfg)
        multi = MultiRun((ModelOutcome(specs[0], SCORED, run=run),))
        _write({"model_scored_notes": model_notes_table(multi)}, outdir, cfg)
        seconds["final"] = time.time() - started
    post_started = time.time()
    outputs = post_score(multi.core, tables, epoch, cfg.scoring, specs=multi.specs,
                         model_notes=combine_outputs(multi.outcomes, multi.core.history),
                         model_raters=combine_raters(multi.outcomes))
    for name in REFERENCE_TSVS:
        _io.write_table(outputs[name], outdir, name, cfg.output)
        write_reference_tsv(outputs[name], Path(outdir) / f"{name}.tsv", order_by=TSV_ORDER.get(name, "noteId"))
    _io.write_table(outputs["note_explanations"], outdir, "note_explanations", cfg.output)
    write_reference_tsv(outputs["note_explanations"], Path(outdir) / "note_explanations.tsv", order_by="noteId")
    seconds["post-scoring"] = time.time() - post_started
    return seconds


def _read_earlier(spark: SparkSession, outdir: str, name: str, cfg: ScoreConfig) -> DataFrame:
    try:
        return _io.read_table(spark, outdir, name, cfg.output).localCheckpoint(eager=True)
    except FileNotFoundError as exc:
        raise SystemExit(f"--rerun reads the tables of an earlier --phase all run in {outdir}: {exc}") from exc


def _write(tables: dict[str, DataFrame], outdir: str, cfg: ScoreConfig) -> None:
    for name, df in tables.items():
        _io.write_table(df, outdir, name, cfg.output)
