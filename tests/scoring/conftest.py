"""Fixtures shared by the scoring tests."""

from __future__ import annotations

import pytest

from tests.scoring.golden import SYNTHETIC_EPOCH, SYNTHETIC_MODELS, run_job


@pytest.fixture(scope="session")
def synthetic_run(spark, shared_dir, tmp_path_factory):
    """(golden dir, output dir) of one job on synthetic-30k with every model we compare; the
    outputs are files, so the session-wide scope holds no Spark data."""
    golden = shared_dir / "data/golden/synthetic-30k"
    return golden, run_job(golden, tmp_path_factory.mktemp("syn30k"), SYNTHETIC_EPOCH, "--set", SYNTHETIC_MODELS)
