"""The score job's scoring phases: what to read, what to run, what to write (paths live here).

- prescoring: coordination flags (read from OUT/tables/rater_flags when a coordination phase
  wrote them, computed otherwise), then Core prescoring; writes the prescoring tables.
- final: reads the prescoring tables, runs final scoring and post-scoring, writes the stage
  tables and the reference's four TSVs into OUT.
- all: both in one process, without the round trip through tables.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from cnscore.config import ScoreConfig
from cnscore.scoring import persist
from cnscore.scoring.final import score_final
from cnscore.scoring.outputs import post_score
from cnscore.scoring.pipeline import CoreRun, captured, prepare_core, score_core
from cnscore.scoring.prescoring import prescore
from jobs import _io
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
                read_flags: bool = True) -> dict[str, float]:
    """Run the scoring phase(s) and write their outputs; returns wall seconds per step."""
    if "notes" not in tables:
        raise SystemExit("scoring needs --notes as well as --ratings")
    epoch = epoch_millis if epoch_millis is not None else _latest_rating_millis(tables)
    flags = _flags(spark, outdir, cfg, rater_flags) if read_flags else None
    seconds: dict[str, float] = {}
    started = time.time()
    if phase == "all":
        run = score_core(tables, cfg.mf, cfg.scoring, cfg.coordination, rater_flags=flags, epoch_millis=epoch)
        _write(_stage_tables(run), outdir, cfg)
        seconds["prescoring+final"] = time.time() - started
    else:
        prepared = prepare_core(tables, cfg.scoring, cfg.coordination, flags)
        _io.write_table(prepared.ids.note_ids, outdir, "note_ids", cfg.output)
        _io.write_table(prepared.ids.rater_ids, outdir, "rater_ids", cfg.output)
        if phase == "prescoring":
            pre = prescore(prepared.pre_model, prepared.history, prepared.ids, cfg.mf, cfg.scoring)
            _write(persist.prescoring_tables(pre), outdir, cfg)
            seconds["prescoring"] = time.time() - started
            return seconds
        pre = persist.load_prescoring(spark, {n: _io.read_table(spark, outdir, n, cfg.output) for n in persist.TABLES})
        final = score_final(prepared.final_model, prepared.history, prepared.ids, pre, cfg.mf, cfg.scoring,
                            correlated_raters=prepared.correlated)
        run = CoreRun(prepared.ratings, prepared.history, prepared.topics, pre, final,
                      captured(final, prepared, cfg.scoring))
        _write({"core_scored_notes": run.scored_notes, "core_pseudo_rater_bounds": final.pseudo_bounds,
                "core_pseudo_bootstrap": final.pseudo_bootstrap}, outdir, cfg)
        seconds["final"] = time.time() - started
    post_started = time.time()
    outputs = post_score(run, tables, epoch, cfg.scoring)
    for name in REFERENCE_TSVS:
        _io.write_table(outputs[name], outdir, name, cfg.output)
        write_reference_tsv(outputs[name], Path(outdir) / f"{name}.tsv", order_by=TSV_ORDER.get(name, "noteId"))
    _io.write_table(outputs["note_explanations"], outdir, "note_explanations", cfg.output)
    write_reference_tsv(outputs["note_explanations"], Path(outdir) / "note_explanations.tsv", order_by="noteId")
    seconds["post-scoring"] = time.time() - post_started
    return seconds


def _stage_tables(run: CoreRun) -> dict[str, DataFrame]:
    return {**persist.prescoring_tables(run.prescoring), "core_scored_notes": run.scored_notes,
            "core_pseudo_rater_bounds": run.final.pseudo_bounds,
            "core_pseudo_bootstrap": run.final.pseudo_bootstrap}


def _write(tables: dict[str, DataFrame], outdir: str, cfg: ScoreConfig) -> None:
    for name, df in tables.items():
        _io.write_table(df, outdir, name, cfg.output)
