"""Main job: read inputs (or make the embedded synthetic default), fit the MF, write tables.

    python -m jobs.score --outdir out/run1                       # embedded default data
    python -m jobs.score --ratings R --notes N --outdir out/run2  # real TSVs
    spark-submit jobs/score.py --ratings R --outdir out/run3      # the same on a cluster
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):  # spark-submit runs this file as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from cnscore.config import ScoreConfig, as_dict, load_config
from jobs import _io, _stages, coordination
from jobs._session import build_session

log = logging.getLogger("cnscore.jobs")
DEFAULT_CONF = Path(__file__).resolve().parents[1] / "conf" / "score.yml"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="jobs.score", description=__doc__.splitlines()[0])
    parser.add_argument("--notes", help="notes TSV file or directory of shards")
    parser.add_argument("--ratings", help="ratings TSV file or directory of shards")
    parser.add_argument("--status", help="noteStatusHistory TSV (read and validated)")
    parser.add_argument("--enrollment", help="userEnrollment TSV (read and validated)")
    parser.add_argument("--outdir", default="out/score", help="output directory (tables/ inside)")
    parser.add_argument("--conf", action="append", default=[], help="YAML config (repeatable)")
    parser.add_argument("--set", action="append", default=[], dest="overrides",
                        metavar="KEY=VALUE", help="config override, e.g. mf.num_factors=2")
    parser.add_argument("--seed", type=int, help="MF seed (same as --set mf.seed=N)")
    parser.add_argument("--format", choices=["delta", "parquet"], help="table format")
    parser.add_argument("--mf-model", choices=["standard", "qsmf"],
                        help="MF model (same as --set mf.model=...); qsmf = quality-sensitive MF")
    parser.add_argument("--master", help="Spark master for python -m runs, e.g. local[2]")
    parser.add_argument("--phase", default="all", choices=["all", "coordination", "pss", "mf"],
                        help="all (default), coordination (alias pss: the reference's name), or mf")
    parser.add_argument("--epoch-millis", type=int,
                        help="the run's 'now' (default: the latest rating time)")
    return parser.parse_args(argv)


def load(args: argparse.Namespace) -> tuple[ScoreConfig, dict[str, str]]:
    """Config documents (default file first), then --set, --seed and --format overrides."""
    # The default file may be absent where only the packages were shipped (cluster mode).
    paths = ([DEFAULT_CONF] if DEFAULT_CONF.is_file() else []) + [Path(p) for p in args.conf]
    documents = [yaml.safe_load(p.read_text()) or {} for p in paths]
    spark_conf: dict[str, str] = {}
    for doc in documents:
        spark_conf.update({k: str(v) for k, v in (doc.pop("spark", None) or {}).items()})
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"mf.seed={args.seed}")
    if args.format:
        overrides.append(f"output.format={args.format}")
    if args.mf_model:
        overrides.append(f"mf.model={args.mf_model}")
    return load_config(documents, overrides), spark_conf


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    cfg, spark_conf = load(args)
    started = time.time()
    spark = build_session("cnscore-score", master=args.master, conf=spark_conf)
    inputs = _stages.read_inputs(spark, args, cfg)
    for kind, table in inputs.quarantine.items():
        _io.write_table(table, args.outdir, f"quarantine_{kind}", cfg.output)
    if args.phase in ("all", *coordination.PHASE_NAMES):
        flags = coordination.run(spark, inputs.tables, cfg, epoch_millis=args.epoch_millis)
        for name, table in flags.items():
            _io.write_table(table, args.outdir, name, cfg.output)
        if args.phase != "all":
            print(f"cnscore: coordination tables written to {args.outdir}/tables/: {', '.join(flags)}")
            return 0
    outputs = _stages.fit_core(inputs, cfg)
    for name, table in outputs.tables.items():
        _io.write_table(table, args.outdir, name, cfg.output)
    metadata = _stages.run_metadata(
        spark, run_id=str(uuid.uuid4()), config=as_dict(cfg), inputs=inputs, outputs=outputs,
        seconds=time.time() - started,
    )
    _io.write_table(metadata, args.outdir, "run_metadata", cfg.output)
    print(_stages.summary(args.outdir, cfg, inputs, outputs, time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
