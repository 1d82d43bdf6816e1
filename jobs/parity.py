"""Compare our Core model with the reference's outputs on a golden set.

    python -m jobs.parity --golden ../shared/data/golden/synthetic-30k [--seed-dir seed42] [--out OUT]

Runs the pipeline (coordination, prescoring, final scoring) on GOLDEN/input, joins our scored
notes with GOLDEN/<seed-dir>/scored_notes.tsv, prints the agreement of coreRatingStatus and the
correlation of coreNoteIntercept, and lists every disagreement with our explanation next to
the reference's intercept, factor and active rules (also written to OUT/disagreements.tsv).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cnscore.config import ScoreConfig
from cnscore.coordination.stage import run_coordination
from cnscore.io.tsv import read_input
from cnscore.scoring.models import single_role
from cnscore.scoring.multi_model import run_models
from jobs._models import load_models_file
from jobs._session import build_session

FILES = {"notes": "notes-00000.tsv", "ratings": "ratings-00000.tsv",
         "noteStatusHistory": "noteStatusHistory-00000.tsv", "userEnrollment": "userEnrollment-00000.tsv"}


def compare(ours: pd.DataFrame, ref: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Agreement numbers and the disagreement table (ours: noteId, ratingStatus, ...)."""
    merged = ref[["noteId", "coreRatingStatus", "coreNoteIntercept", "coreNoteFactor1", "coreActiveRules",
                  "coreNoteInterceptMax"]].merge(ours, on="noteId", how="outer")
    both = merged[merged.coreRatingStatus.notna() | merged.ratingStatus.notna()]
    same = both.coreRatingStatus.fillna("null") == both.ratingStatus.fillna("null")
    has = merged.coreNoteIntercept.notna() & merged.internalNoteIntercept.notna()
    r = float(np.corrcoef(merged.coreNoteIntercept[has], merged.internalNoteIntercept[has])[0, 1]) if has.sum() > 1 else float("nan")
    stats = {"notes_with_a_status": int(len(both)), "status_agreement": float(same.mean()),
             "intercept_corr": r, "intercepts_compared": int(has.sum()),
             "max_abs_intercept_diff": float((merged.coreNoteIntercept - merged.internalNoteIntercept)[has].abs().max())}
    return stats, both[~same]


def diligence_agreement(ours: pd.DataFrame, seed_dir: Path, threshold: float = 0.263) -> dict:
    """Correlation and threshold-side agreement of lowDiligenceNoteIntercept with the reference's
    aux_note_info.lowDiligenceIntercept."""
    ref = pd.read_csv(seed_dir / "aux_note_info.tsv", sep="\t", usecols=["noteId", "lowDiligenceIntercept"])
    both = ours[["noteId", "lowDiligenceNoteIntercept"]].merge(ref, on="noteId").dropna()
    if both.empty:
        return {"compared": 0}
    x, y = both["lowDiligenceNoteIntercept"], both["lowDiligenceIntercept"]
    return {"compared": len(both), "corr": round(float(np.corrcoef(x, y)[0, 1]), 5),
            "max_abs_diff": round(float((x - y).abs().max()), 4),
            "other_side_of_threshold": int(((x > threshold) != (y > threshold)).sum()),
            "reference_above": int((y > threshold).sum())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", required=True)
    parser.add_argument("--seed-dir", default="seed42")
    parser.add_argument("--out", default=None)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    golden = Path(args.golden)
    spark = build_session("cnscore-parity", master=args.master, conf={"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "6g"})
    started = time.time()
    tables = {kind: read_input(spark, str(golden / "input" / name), kind).df for kind, name in FILES.items()}
    cfg = ScoreConfig()
    flags = run_coordination(tables['ratings'], tables['notes'], cfg.coordination).rater_flags
    core = single_role(load_models_file(), "core")  # Core as the job runs it (conf/models.yml)
    run = run_models(tables, [core], cfg.mf, cfg.coordination, rater_flags=flags).core
    ours = run.scored_notes.select("noteId", "ratingStatus", "internalNoteIntercept", "internalNoteFactor1",
                                   "activeRules", "explanation", "lowDiligenceNoteIntercept").toPandas()
    seconds = time.time() - started
    ref = pd.read_csv(golden / args.seed_dir / "scored_notes.tsv", sep="\t", dtype={"noteId": "int64"})
    stats, diffs = compare(ours, ref)
    print(f"parity on {golden.name} vs {args.seed_dir}: {stats} ({seconds:.0f} s)")
    print(f"low-diligence intercepts: {diligence_agreement(ours, golden / args.seed_dir)}")
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 200)
    for _, row in diffs.iterrows():
        print(f"- note {row.noteId}: reference {row.coreRatingStatus} (intercept {row.coreNoteIntercept:.4f}, "
              f"factor {row.coreNoteFactor1:.4f}, max {row.coreNoteInterceptMax:.4f}; {row.coreActiveRules})\n"
              f"    ours {row.ratingStatus} (intercept {row.internalNoteIntercept:.4f}, "
              f"factor {row.internalNoteFactor1:.4f}): {row.explanation}")
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        diffs.to_csv(Path(args.out) / "disagreements.tsv", sep="\t", index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
