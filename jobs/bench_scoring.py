"""End-to-end benchmark of the scorer: wall time per phase and peak memory, optionally
against the reference scorer on the same input.

    python -m jobs.bench_scoring --data DIR [--epoch-millis N] [--reference-summary S.json]

DIR holds the four input TSVs in the public layout (e.g. made by the oracle's
make_synthetic.py). What runs is the score job's configuration (conf/score.yml, changed with
--set, e.g. --set models.run=all) through the job's own scoring step. With
--reference-summary (the run_summary.json that the oracle's run_reference.py wrote for the
same DIR) the reference's wall time is read from it and the ratio printed; with
--run-reference CMD the reference command is run here first and timed.

The reference runs every scorer it has, and its pflip and pCRH models, whatever its --scorers
flag says (that flag only selects meta rules). A ratio of its whole run against a run here of
fewer models compares different work. With a summary that records its per-scorer times (and
scorers run one after another, no --parallel), the benchmark also prints the reference's time
for the models run here: its whole run minus the scorers not run here and minus pflip/pCRH
(not built here); steps every scorer shares (reading, post selection, topic assignment, meta
scoring, contributor scores) stay in whole. That like-for-like ratio is the speed-up.
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
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from cnscore.config import load_config
from cnscore.coordination.stage import run_coordination
from cnscore.io.tsv import read_input
from cnscore.scoring.combine import SCORED, SCORER_NAME, SKIPPED
from jobs import _io
from jobs._scoring import run_scoring
from jobs._session import build_session
from jobs.bench_coordination import PeakRss
from jobs.parity import FILES
from jobs.score import DEFAULT_CONF


# Timed blocks of the reference's pflip and pCRH models (run_reference.py's blocks_s keys);
# nothing here builds them, so they are not part of a like-for-like baseline.
SIDE_MODEL_BLOCKS = ("pflip", "pcrh")


@dataclass(frozen=True)
class ReferenceTime:
    """The reference's recorded run: wall seconds in all, and per scorer where its log has them.

    scorer_seconds: per scorer name, summed over phases (None: not recorded, or scorers ran in
    parallel, so their times overlap and cannot be taken out of the wall time).
    side_model_seconds: its pflip and pCRH blocks.
    """

    total: float
    scorer_seconds: dict[str, float] | None
    side_model_seconds: float

    def for_models(self, names: set[str]) -> float | None:
        """Wall seconds without the scorers outside `names` and without pflip/pCRH (None when
        the per-scorer times are unknown)."""
        if self.scorer_seconds is None:
            return None
        others = sum(s for name, s in self.scorer_seconds.items() if name not in names)
        return self.total - others - self.side_model_seconds


def reference_time(summary: Path) -> ReferenceTime:
    """The phases recorded by run_reference.py (run_summary.json)."""
    data = json.loads(summary.read_text())
    phases = data.get("phases", data)
    phases = [p for p in (phases.values() if isinstance(phases, dict) else phases) if isinstance(p, dict)]
    walls = [p.get("wall_s", p.get("wall_seconds", p.get("wall"))) for p in phases]
    walls = [w for w in walls if isinstance(w, (int, float))]
    if not walls:
        raise SystemExit(f"no wall times found in {summary}")
    scorers: dict[str, float] | None = {}
    for phase in phases:
        for name, minutes in (phase.get("scorer_minutes") or {}).items():
            scorers[name] = scorers.get(name, 0.0) + 60.0 * float(minutes)
    if not scorers or "--parallel" in data.get("scorer_args", []):
        scorers = None
    side = sum(float(s) for phase in phases for name, s in (phase.get("blocks_s") or {}).items()
               if any(k in name.lower() for k in SIDE_MODEL_BLOCKS))
    return ReferenceTime(float(sum(walls)), scorers, side)


def reference_lines(reference: ReferenceTime, where: str, models: set[str], total: float) -> list[str]:
    """What the benchmark prints about the reference: its whole run, and the like-for-like
    ratio against the models run here when its per-scorer times allow."""
    lines = [f"reference: {reference.total:.1f} s in all ({where})"]
    if "FAILED" in where:
        return [*lines, "no ratio: the reference did not finish"]
    same = reference.for_models(models)
    if same is None:
        return [*lines, f"no per-scorer times: speed-up {reference.total / total:.1f}x against its whole run, "
                        f"which ran every scorer it has (compare with --set models.run=all)"]
    others = set(reference.scorer_seconds) - models  # known: `same` is not None
    return [*lines,
            f"  of which the {len(models)} models run here: {same:.1f} s (without its {len(others)} other scorers, "
            f"{reference.total - same - reference.side_model_seconds:.1f} s, and pflip/pCRH, "
            f"{reference.side_model_seconds:.1f} s; shared steps in whole)",
            f"speed-up on the same models: {same / total:.1f}x "
            f"(against its whole run, which did more work: {reference.total / total:.1f}x)"]


def per_model_lines(reference: ReferenceTime, runs: dict[str, tuple[str, float]]) -> list[str]:
    """Per model: its seconds here and the reference's for the same scorer (prescoring plus
    final scoring, from its log). Models of the group stage run side by side here, so their
    seconds overlap; the reference ran its scorers one after another."""
    if reference.scorer_seconds is None:
        return []
    lines = ["per model (here: prescoring + final, group-stage models side by side; reference: its scorer's time):"]
    for name, (state, seconds) in runs.items():
        theirs = reference.scorer_seconds.get(name)
        ref = "not in its log" if theirs is None else f"{theirs:7.1f} s"
        ratio = f"  {theirs / seconds:4.1f}x" if theirs and state == SCORED and seconds > 0 else ""
        lines.append(f"  {name:<36} {state:<11} {seconds:7.1f} s  reference {ref}{ratio}")
    return lines


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
        where = "run here" if rc == 0 else f"run here, FAILED with exit code {rc}"
        reference = (where, ReferenceTime(time.time() - started, None, 0.0))
    elif args.reference_summary:
        reference = (f"recorded in {args.reference_summary}", reference_time(Path(args.reference_summary)))

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
        runs = {r[SCORER_NAME]: (r["state"], r["seconds"])
                for r in _io.read_table(spark, out, "model_runs", cfg.output).collect()}
    total = sum(seconds.values())
    print(f"cnscore on {data.name}: {num_ratings} ratings, master={args.master}, driver memory {args.driver_memory}, "
          f"models.run={','.join(cfg.models.run)}, mf.engine={cfg.mf.engine}")
    for name, value in seconds.items():
        print(f"  {name:<20} {value:8.1f} s")
    print(f"  {'total':<20} {total:8.1f} s")
    print(f"  peak RSS: driver JVM {rss.peak_jvm / 1024:.0f} MiB, python workers {rss.peak_workers / 1024:.0f} MiB")
    if reference:
        where, ref_time = reference
        # Models that ran here (a skipped one found no ratings, as in the reference); a failed
        # or unsupported one did not do the reference's work.
        models = {name for name, (state, _) in runs.items() if state in (SCORED, SKIPPED)}
        print("\n".join([*reference_lines(ref_time, where, models, total), *per_model_lines(ref_time, runs)]))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
