"""The coordination_summary table: counts per rule and criterion, high-volume thresholds.

Rows (metric, count, value); every metric is always present, zero when nothing matched:

    highVolume.<d>d            count = raters active in the window, value = the percentile
    highVolume.<d>d.flagged    raters strictly above it
    highVolume.flagged         raters flagged in either window
    pairs.<rule>               links per rule (authorAffinity, coRating)
    criterion.<name>           links passing each threshold (a link can pass several)
    groups / groups.members    post-selection groups and their members
    groups.largest             members of the largest group
    quasiCliques / quasiCliques.members
    raters.flagged             participants in a group or a quasi-clique
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.config import CoordinationConfig
from cnscore.coordination.affinity import affinity_criteria
from cnscore.coordination.schemas import SUMMARY, CoordCols, Rules

C = CoordCols


def _rows(df: DataFrame, metrics: list[tuple[str, Column, Column | None]]) -> DataFrame:
    """One aggregation over `df`, turned into one summary row per metric."""
    agg = df.agg(
        *[count.alias(f"_c{i}") for i, (_, count, _) in enumerate(metrics)],
        *[
            (value if value is not None else F.lit(None)).alias(f"_v{i}")
            for i, (_, _, value) in enumerate(metrics)
        ],
    )
    structs = [
        F.struct(
            F.lit(name).alias(C.METRIC),
            F.coalesce(F.col(f"_c{i}"), F.lit(0)).cast("long").alias(C.COUNT),
            F.col(f"_v{i}").cast("double").alias(C.VALUE),
        )
        for i, (name, _, _) in enumerate(metrics)
    ]
    return agg.select(F.inline(F.array(*structs)))


def summarize(
    pairs: DataFrame,
    groups: DataFrame,
    cliques: DataFrame,
    flags: DataFrame,
    windows: DataFrame,
    cfg: CoordinationConfig,
) -> DataFrame:
    """Build the summary table from the stage's tables (see the module docstring)."""
    criteria = [name for name, _ in affinity_criteria(cfg)] + [C.NPMI, C.MIN_SIM]
    pair_metrics = [
        (f"pairs.{rule}", F.count_if(F.col(C.RULE) == rule), None)
        for rule in (Rules.AFFINITY, Rules.CORATING)
    ] + [
        (f"criterion.{name}", F.count_if(F.array_contains(C.CRITERIA, name)), None)
        for name in criteria
    ]
    window_rows = windows.select(
        F.concat(F.lit("highVolume."), F.col("windowDays").cast("string"), F.lit("d")).alias(
            C.METRIC
        ),
        F.col("activeRaters").alias(C.COUNT),
        F.col("threshold").alias(C.VALUE),
    ).unionByName(
        windows.select(
            F.concat(
                F.lit("highVolume."), F.col("windowDays").cast("string"), F.lit("d.flagged")
            ).alias(C.METRIC),
            F.col("flaggedRaters").alias(C.COUNT),
            F.lit(None).cast("double").alias(C.VALUE),
        )
    )
    parts = [
        window_rows,
        _rows(
            flags,
            [
                ("highVolume.flagged", F.count_if(C.IS_HIGH_VOLUME), None),
                (
                    "raters.flagged",
                    F.count_if(F.col(C.GROUP_ID).isNotNull() | F.col(C.CLIQUE_ID).isNotNull()),
                    None,
                ),
            ],
        ),
        _rows(pairs, pair_metrics),
        _rows(
            groups,
            [
                ("groups", F.count_distinct(C.GROUP_ID), None),
                ("groups.members", F.count(F.lit(1)), None),
                ("groups.largest", F.max(C.GROUP_SIZE), None),
            ],
        ),
        _rows(
            cliques,
            [
                ("quasiCliques", F.count_distinct(C.CLIQUE_ID), None),
                ("quasiCliques.members", F.count_distinct(C.PARTICIPANT), None),
            ],
        ),
    ]
    combined = reduce(DataFrame.unionByName, parts)
    return combined.select(*[F.col(f.name).cast(f.dataType) for f in SUMMARY.fields])
