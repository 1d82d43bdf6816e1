"""Benchmark of the group-model stage: every group and multi-group model of conf/models.yml
fitted one after another on the distributed engine, against the one-stage run (models side
by side, each fit in one pandas-UDF call on one worker), on the same prepared input.

    python -m jobs.bench_groups --data DIR [--parallelism 4] [--order sequential-first]

DIR holds the four input TSVs (e.g. made by the oracle's make_synthetic.py with
--group-shares for skewed groups). Prints wall time and peak memory (largest single Python
worker, all workers, driver JVM) per mode, the speed-up, and how closely the two modes agree
(same notes output, statuses, intercepts): the one-stage run must give the same answers.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from cnscore.config import ScoreConfig
from cnscore.io.tsv import read_input
from cnscore.scoring.multi_model import SCORED, run_isolated, unsupported_reason
from cnscore.scoring.pipeline import prepare_shared
from jobs._models import load_models_file
from jobs._session import build_session
from jobs.bench_coordination import PeakRss
from jobs.parity import FILES

GROUP_ROLES = ("group", "multi_group")
NOTE_COLUMNS = ["noteId", "internalNoteIntercept", "ratingStatus"]


def _specs(mode: str):
    """The implemented group / multi-group models; `sequential` forces the distributed engine."""
    chosen = [s for s in load_models_file() if s.enabled and s.role in GROUP_ROLES and unsupported_reason(s) is None]
    if mode == "sequential":
        chosen = [dataclasses.replace(s, mf_overrides=(*s.mf_overrides, ("engine", "distributed"))) for s in chosen]
    return chosen


def _run(mode: str, shared, tables, cfg: ScoreConfig, parallelism: int, jvm_pid: int):
    specs = _specs(mode)
    with PeakRss(jvm_pid) as rss:
        started = time.time()
        outcomes = run_isolated(shared, tables, specs, cfg.mf, parallelism if mode == "stage" else 1)
        seconds = time.time() - started
    notes = {}
    for o in outcomes:
        if o.state == SCORED:
            notes[o.spec.name] = o.run.scored_notes.select(*NOTE_COLUMNS).toPandas().set_index("noteId")
    return seconds, rss, outcomes, notes


def _agreement(a: dict, b: dict) -> tuple[int, float, float]:
    """(notes compared, status agreement, max |intercept difference|) over both modes' notes."""
    compared, same, worst = 0, 0, 0.0
    for name in set(a) & set(b):
        joined = a[name].join(b[name], lsuffix="_a", rsuffix="_b", how="inner")
        compared += len(joined)
        same += int((joined.ratingStatus_a == joined.ratingStatus_b).sum())
        diffs = np.abs(joined.internalNoteIntercept_a - joined.internalNoteIntercept_b).dropna()
        worst = max(worst, float(diffs.max()) if len(diffs) else 0.0)
    return compared, same / max(compared, 1), worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jobs.bench_groups", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--partitions", default="8")
    parser.add_argument("--parallelism", type=int, default=ScoreConfig().models.parallelism)
    parser.add_argument("--order", choices=["sequential-first", "stage-first"], default="sequential-first")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    logging.getLogger("cnscore.mf").setLevel(logging.WARNING)  # per-sweep lines of 2 x 14 models
    spark = build_session("bench-groups", master=args.master, conf={
        "spark.sql.shuffle.partitions": args.partitions, "spark.driver.memory": args.driver_memory})
    jvm_pid = int(spark.sparkContext._jvm.ProcessHandle.current().pid())
    cfg = ScoreConfig()
    tables = {kind: read_input(spark, str(Path(args.data) / name), kind).df.persist() for kind, name in FILES.items()}
    num_ratings = tables["ratings"].count()
    shared = prepare_shared(tables, cfg.scoring, cfg.coordination, None)
    shared.prepared.count()  # both modes start from the same materialized input
    modes = ["sequential", "stage"] if args.order == "sequential-first" else ["stage", "sequential"]
    results = {mode: _run(mode, shared, tables, cfg, args.parallelism, jvm_pid) for mode in modes}
    print(f"group models on {Path(args.data).name}: {num_ratings} ratings, master={args.master}, "
          f"{args.partitions} partitions, parallelism {args.parallelism} (modes run {', '.join(modes)})")
    for mode, (seconds, rss, outcomes, _) in results.items():
        states = {}
        for o in outcomes:
            states[o.state] = states.get(o.state, 0) + 1
        print(f"  {mode:<11} {seconds:8.1f} s  peak RSS: one worker {rss.peak_one_worker / 1024:.0f} MiB, "
              f"all workers {rss.peak_workers / 1024:.0f} MiB, driver JVM {rss.peak_jvm / 1024:.0f} MiB  {states}")
        for o in outcomes:
            print(f"      {o.spec.name:<24} {o.state:<8} {o.notes_output:>7} notes {o.seconds:7.1f} s {o.reason}")
    compared, agreement, worst = _agreement(results["sequential"][3], results["stage"][3])
    print(f"  speed-up of the one-stage run: {results['sequential'][0] / results['stage'][0]:.2f}x")
    print(f"  agreement: {compared} notes, status {agreement:.4f}, max |intercept diff| {worst:.2e}")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
