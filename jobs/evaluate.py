"""Evaluation job: run the QS-MF harness, write its tables and plots, print a short report.

    python -m jobs.evaluate --outdir out/eval            # full harness (a few minutes)
    python -m jobs.evaluate --outdir out/eval --quick    # tiny sizes (seconds)

Writes OUT/tables/<name>/<name>.csv and OUT/tables/<name>/<name>.parquet for every table,
OUT/plots/<experiment>.png, OUT/report.txt and OUT/run_metadata.json. No Spark: every fit runs
in memory (cnscore.mf.local, identical to the Spark engine).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cnscore
from cnscore.qs.experiments import EXPERIMENTS, EvalConfig, run_experiment
from cnscore.qs.plots import PLOTS
from cnscore.qs.report import report

log = logging.getLogger("cnscore.jobs")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="jobs.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", required=True, help="output directory (tables/, plots/)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (EvalConfig.quick())")
    parser.add_argument("--only", action="append", choices=sorted(EXPERIMENTS), default=[],
                        help="run only this experiment (repeatable)")
    return parser.parse_args(argv)


def write_tables(tables: dict, outdir: Path) -> None:
    """Each table as OUT/tables/<name>/<name>.csv and .parquet (pandas + pyarrow)."""
    for name, table in tables.items():
        folder = outdir / "tables" / name
        folder.mkdir(parents=True, exist_ok=True)
        table.to_csv(folder / f"{name}.csv", index=False)
        table.to_parquet(folder / f"{name}.parquet", index=False)


def main(argv: list[str] | None = None) -> int:
    # WARNING: the engine logs every ALS sweep at INFO, far too much for hundreds of fits.
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    cfg = EvalConfig.quick() if args.quick else EvalConfig()
    real = None  # planted data; library callers may pass real ratings arrays instead
    outdir = Path(args.outdir)
    (outdir / "plots").mkdir(parents=True, exist_ok=True)
    started, seconds, all_tables = time.time(), {}, {}
    for name in args.only or list(EXPERIMENTS):
        t0 = time.time()
        tables = run_experiment(name, cfg, real)
        write_tables(tables, outdir)
        PLOTS[name](tables, outdir / "plots" / f"{name}.png")
        seconds[name] = round(time.time() - t0, 1)
        print(f"{name}: {seconds[name]}s", file=sys.stderr)
        all_tables.update(tables)
    text = report(all_tables)
    (outdir / "report.txt").write_text(text + "\n")
    metadata = {
        "version": cnscore.__version__,
        "quick": args.quick, "config": dataclasses.asdict(cfg),
        "secondsByExperiment": seconds, "wallSeconds": round(time.time() - started, 1),
    }
    (outdir / "run_metadata.json").write_text(json.dumps(metadata, indent=2, default=str) + "\n")
    print(text)
    print(f"\ntables: {outdir / 'tables'}  plots: {outdir / 'plots'}  "
          f"({metadata['wallSeconds']}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
