"""One SparkSession for the whole suite (starting one costs ~15 s)."""

from __future__ import annotations

import gc
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
            "spark.driver.memory": "6g",
            # The suite runs thousands of jobs in one JVM: keep the status store small.
            "spark.ui.enabled": "false",
            "spark.ui.retainedJobs": "50",
            "spark.ui.retainedStages": "50",
            "spark.ui.retainedTasks": "1000",
            "spark.sql.ui.retainedExecutions": "20",
        },
    )
    yield session
    session.stop()


@pytest.fixture(autouse=True, scope="module")
def _release_spark_memory():
    """Free each module's Spark data when it ends, so one module's leftovers cannot starve the
    next (the suite shares one driver heap), and log the heap for diagnosis. No fixture above
    module scope holds Spark data, so every persisted or locally checkpointed RDD can go."""
    yield
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:  # no Spark test has run yet
        return
    session.catalog.clearCache()
    jvm, jsc = session.sparkContext._jvm, session.sparkContext._jsc
    for rdd in list(jsc.getPersistentRDDs().values()):  # localCheckpoint blocks too
        rdd.unpersist(False)
    gc.collect()  # drop Python-side handles so the JVM objects can be collected
    jvm.java.lang.System.gc()
    runtime = jvm.java.lang.Runtime.getRuntime()
    used_mib = (runtime.totalMemory() - runtime.freeMemory()) // 2**20
    print(f"\n[heap] after the module: {used_mib} MiB used of {runtime.maxMemory() // 2**20} MiB", file=sys.stderr)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        message = f"shared data not found next to the repo ({SHARED})"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI always has ../shared: its absence is a failure there
        pytest.skip(message)
    return SHARED
