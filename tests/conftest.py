"""One SparkSession for the whole suite (starting one costs ~15 s)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Workers must run this interpreter (it has pyarrow); set before the JVM starts.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def spark():
    from jobs._session import build_session

    session = build_session(
        app_name="cnscore-tests",
        master="local[2]",
        conf={
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "4",
            "spark.driver.memory": "4g",
        },
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        message = f"shared data not found next to the repo ({SHARED})"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI always has ../shared: its absence is a failure there
        pytest.skip(message)
    return SHARED
