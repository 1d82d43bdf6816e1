"""The coordination phase (the reference's `pss`), called by jobs/score.py.

No argument parsing here: the main job reads inputs and config, calls `run`, and writes each
returned table as OUT/tables/<name>.
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession

from cnscore import schemas
from cnscore.config import ScoreConfig
from cnscore.coordination import run_coordination

log = logging.getLogger("cnscore.jobs")

# Output table name -> CoordinationResult field.
TABLES = {
    "rater_flags": "rater_flags",
    "coordination_pairs": "pairs",
    "coordination_groups": "groups",
    "quasi_cliques": "quasi_cliques",
    "coordination_summary": "summary",
}
PHASE_NAMES = ("coordination", "pss")  # `pss` is the reference's name for this phase


def run(
    spark: SparkSession,
    inputs_tables: dict[str, DataFrame],
    cfg: ScoreConfig,
    epoch_millis: int | None = None,
) -> dict[str, DataFrame]:
    """Run coordination detection on the job's input tables.

    Args:
        spark: the job's session (used only to stand in an empty notes table).
        inputs_tables: by kind, as read by the job: "ratings" (required), "notes".
        cfg: the job's config; `cfg.coordination` holds this stage's thresholds.
        epoch_millis: end of the high-volume windows; None = the latest rating time.

    Returns:
        rater_flags, coordination_pairs, coordination_groups, quasi_cliques and
        coordination_summary (materialized; schemas in cnscore.coordination.schemas).
    """
    ratings = inputs_tables["ratings"]
    notes = inputs_tables.get("notes")
    if notes is None:
        # Without notes there are no posts or authors: only the high-volume flags are real.
        log.warning("coordination: no notes table; only high-volume flags will be found")
        notes = spark.createDataFrame([], schemas.NOTES)
    result = run_coordination(ratings, notes, cfg.coordination, epoch_millis=epoch_millis)
    return {name: getattr(result, field) for name, field in TABLES.items()}
