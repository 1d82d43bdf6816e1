"""End-to-end benchmark of the scorer: wall time per phase and peak memory, optionally
against the reference scorer on the same input.

    python -m jobs.bench_scoring --data DIR [--epoch-millis N] [--reference-summary S.json]

DIR holds the four input TSVs in the public layout (e.g. made by the oracle's
make_synthetic.py). What runs is the score job's configuration (conf/score.yml, changed with
--set, e.g. --set models.run=all) through the job's own scoring step. With
--reference-summary (the run_summary.json that the oracle's run_reference.py wrote for the
same DIR) the reference's wall time is read from it and the ratio printed; with
--run-reference CMD the reference command is run here first and timed. The reference runs
every model it has: compare it with --set models.run=all.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from cnscore.config import load_config
from cnscore.coordination.stage import run_coordination
from cnscore.io.tsv import read_input
from jobs._scoring import run_scoring
from jobs._session import build_session
from jobs.bench_coordination import PeakRss
from jobs.parity import FILES
from jobs.score import DEFAULT_CONF


def reference_seconds(summary: Path) -> float:
    """Total wall seconds of the phases recorded by run_reference.py."""
    data = json.loads(summary.read_text())
    phases = data.get("phases", data)
    phases = phases.values() if isinstance(phases, dict) else phases
    walls = [p.get("wall_s", p.get("wall_seconds", p.get("wall"))) for p in phases if isinstance(p, dict)]
    walls = [w for w in walls if isinstance(w, (int, float))]
    if not walls:
        raise SystemExit(f"no wall times found in {summary}")
    return float(sum(walls))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jobs.bench_scoring", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--epoch-millis", type=int, default=None)
    parser.add_argument("--skip-pss", action="store_true")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--partitions", default="8")
    parser.add_argument("--reference-summary", help="run_summary.json of the reference on the same --data")
    parser.add_argument("--run-reference", help="command that runs the reference on --data (timed here)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override conf/score.yml (the score job's configuration, measured here)")
    args = parser.parse_args(argv)
    # Progress: every stage logs its sizes and times (the MF's sweeps, coordination's tables).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    reference = None
    if args.run_reference:
        started = time.time()
        rc = subprocess.run(shlex.split(args.run_reference), check=False).returncode
        # A failed reference run still gets ours measured; its time is then not a baseline.
        reference = ("run here" if rc == 0 else f"run here, FAILED with exit code {rc}", time.time() - started)
    elif args.reference_summary:
        reference = (f"recorded in {args.reference_summary}", reference_seconds(Path(args.reference_summary)))

    spark = build_session("bench-scoring", master=args.master, conf={
        "spark.sql.shuffle.partitions": args.partitions, "spark.driver.memory": args.driver_memory})
    jvm_pid = int(spark.sparkContext._jvm.ProcessHandle.current().pid())
    job_conf = yaml.safe_load(DEFAULT_CONF.read_text()) or {}
    job_conf.pop("spark", None)  # session settings: this benchmark sets its own (--driver-memory, --partitions)
    cfg = load_config([job_conf], args.set)
    data = Path(args.data)
    seconds: dict[str, float] = {}
    with PeakRss(jvm_pid) as rss, tempfile.TemporaryDirectory() as out:
        t0 = time.time()
        tables = {kind: read_input(spark, str(data / name), kind).df.persist() for kind, name in FILES.items()}
        num_ratings = tables["ratings"].count()
        epoch = args.epoch_millis or int(tables["ratings"].agg({"createdAtMillis": "max"}).first()[0])
        seconds["read"] = time.time() - t0
        flags = None
        if not args.skip_pss:
            t0 = time.time()
            flags = run_coordination(tables["ratings"], tables["notes"], cfg.coordination, epoch_millis=epoch).rater_flags
            seconds["coordination"] = time.time() - t0
        # The score job's own scoring step: the models of models.run, their stage tables, the
        # reference's four TSVs (post-scoring includes writing them).
        seconds.update(run_scoring(spark, "all", tables, cfg, out, epoch_millis=epoch, rater_flags=flags,
                                   read_flags=False))
    total = sum(seconds.values())
    print(f"cnscore on {data.name}: {num_ratings} ratings, master={args.master}, driver memory {args.driver_memory}, "
          f"models.run={','.join(cfg.models.run)}, mf.engine={cfg.mf.engine}")
    for name, value in seconds.items():
        print(f"  {name:<20} {value:8.1f} s")
    print(f"  {'total':<20} {total:8.1f} s")
    print(f"  peak RSS: driver JVM {rss.peak_jvm / 1024:.0f} MiB, python workers {rss.peak_workers / 1024:.0f} MiB")
    if reference:
        where, ref_seconds = reference
        ratio = "no ratio: the reference did not finish" if "FAILED" in where else f"speed-up {ref_seconds / total:.1f}x"
        print(f"reference: {ref_seconds:.1f} s ({where}); {ratio}")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
