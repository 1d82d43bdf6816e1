"""Main job: read inputs (or make the embedded synthetic default), score, write tables and TSVs.

    python -m jobs.score --outdir out/run1                        # embedded default data
    python -m jobs.score --notes N --ratings R --status S --enrollment E --outdir OUT
    spark-submit jobs/score.py --notes N --ratings R --outdir OUT  # the same on a cluster

The flags are the reference runner's: OUT receives scored_notes.tsv, helpfulness_scores.tsv,
note_status_history.tsv and aux_note_info.tsv, and OUT/tables/ one table per stage.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):  # spark-submit runs this file as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from cnscore.config import ScoreConfig, as_dict, load_config
from jobs import _io, _scoring, _stages, coordination
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
    parser.add_argument("--phase", default="all",
                        choices=["all", "coordination", "pss", "prescoring", "final", "mf"],
                        help="all (default); coordination (alias pss: the reference's name); prescoring; "
                             "final (reads the prescoring tables in OUTDIR); mf (the bare MF fit only)")
    parser.add_argument("--rerun", action="append", default=[], metavar="SCORER",
                        help="score this group / topic / Gaussian model again (repeatable; --phase all) and "
                             "take every other model's outcome from the tables an earlier run wrote in OUTDIR; "
                             "coordination is not rerun (its rater_flags table is read)")
    parser.add_argument("--skip-pss", action="store_true",
                        help="no coordination stage: no post selection or correlated raters (the "
                             "reference runner's flag); high-volume raters are still flagged")
    parser.add_argument("--nopseudoraters", action="store_true",
                        help="skip the pseudo-rater bounds (same as --set scoring.pseudo_raters=false)")
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
    if args.nopseudoraters:
        overrides.append("scoring.pseudo_raters=false")
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
    flags = None
    # A rerun keeps the earlier run's coordination flags (read from OUTDIR like the final phase).
    if args.phase in coordination.PHASE_NAMES or (args.phase == "all" and not args.skip_pss and not args.rerun):
        tables = coordination.run(spark, inputs.tables, cfg, epoch_millis=args.epoch_millis)
        for name, table in tables.items():
            _io.write_table(table, args.outdir, name, cfg.output)
        if args.phase != "all":
            print(f"cnscore: coordination tables written to {args.outdir}/tables/: {', '.join(tables)}")
            return 0
        flags = tables["rater_flags"]
    if args.phase == "mf":
        return _bare_mf(spark, args, cfg, inputs, started)
    seconds = _scoring.run_scoring(spark, args.phase, inputs.tables, cfg, args.outdir,
                                   epoch_millis=args.epoch_millis, rater_flags=flags,
                                   read_flags=not args.skip_pss, rerun=tuple(args.rerun))
    print(f"cnscore: {args.phase} done in {time.time() - started:.1f}s ({inputs.source}); "
          + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))
    if args.phase != "prescoring":
        print(f"  reference TSVs in {args.outdir}/, stage tables ({cfg.output.format}) in {args.outdir}/tables/")
    return 0


def _bare_mf(spark, args, cfg: ScoreConfig, inputs, started: float) -> int:
    """The MF fit alone on every labelled rating (no filters or rules): for experiments."""
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
