"""Running the score job on a golden set of shared data/golden (the reference's inputs)."""

from __future__ import annotations

from pathlib import Path

from jobs import score

FILES = {"--notes": "notes-00000.tsv", "--ratings": "ratings-00000.tsv",
         "--status": "noteStatusHistory-00000.tsv", "--enrollment": "userEnrollment-00000.tsv"}
SYNTHETIC_EPOCH = 1795305600000
# Every model the synthetic-30k golden outputs contain that we run: Core and the models of
# tests/scoring/test_golden_models.py, in one job (its Core outputs serve the Core tests).
SYNTHETIC_MODELS = "models.run=[core,expansion,expansion_plus,multi_group,topic,gaussian,reputation]"


def run_job(golden: Path, out: Path, epoch: int, *extra: str) -> Path:
    """The score job on `golden`/input, writing Parquet tables and the TSVs into `out`."""
    args = [a for flag, name in FILES.items() for a in (flag, str(golden / "input" / name))]
    assert score.main([*args, "--outdir", str(out), "--format", "parquet", "--epoch-millis", str(epoch), *extra]) == 0
    return out
