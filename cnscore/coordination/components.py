"""Connected components of the link graph (shared docs/reference.md §4.1.3), with DataFrames.

No GraphFrames jar is available, and none is needed: min-label propagation reaches the same
partition of the nodes as the reference's incremental union-find. Every node starts with the
smallest id among itself and its neighbours; each round then

1. takes the minimum label over each node's neighbours (propagation), and
2. jumps: label(node) := min(label(node), label(label(node))). A label is always the id of a
   node of the same component, so this is safe, and it shortens long chains from O(length)
   rounds to roughly O(log length).

Labels only decrease and stay within the component, so at the fixed point (no label changed
in a round) every component carries its minimum id. Each round's label table is
localCheckpointed: the plan would otherwise grow with every round. The one value collected
per round is the count of changed labels.

Group ids are dense, 1..k, in the order of each component's minimum id (string order), so
they do not depend on partitioning or on the order links were found.
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.coordination.schemas import CoordCols

log = logging.getLogger("cnscore.coordination")
C = CoordCols


class ComponentsDidNotConvergeError(RuntimeError):
    """Label propagation hit `max_iterations` before reaching its fixed point."""


def component_labels(edges: DataFrame, *, src: str, dst: str, max_iterations: int) -> DataFrame:
    """node, label: the minimum node id of each node's connected component.

    Args:
        edges: undirected links as (src, dst) string columns; self-links and duplicates ok.
        src, dst: the two endpoint columns.
        max_iterations: safety bound on rounds; exceeding it raises.

    Raises:
        ComponentsDidNotConvergeError: when labels still change after `max_iterations` rounds.
    """
    both = edges.select(F.col(src).alias("node"), F.col(dst).alias("nbr"))
    both = both.union(both.select(F.col("nbr").alias("node"), F.col("node").alias("nbr")))
    # Reused every round: cut it from the upstream pair computation once.
    adjacency = both.where(F.col("node") != F.col("nbr")).distinct().localCheckpoint(eager=True)
    labels = (
        adjacency.groupBy("node")
        .agg(F.least(F.col("node"), F.min("nbr")).alias("label"))
        .localCheckpoint(eager=True)
    )
    for round_no in range(1, max_iterations + 1):
        labels, changed = _round(adjacency, labels)
        log.info("components round %d: %d labels changed", round_no, changed)
        if changed == 0:
            return labels
    raise ComponentsDidNotConvergeError(
        f"labels still changing after {max_iterations} rounds; raise components_max_iterations"
    )


def _round(adjacency: DataFrame, labels: DataFrame) -> tuple[DataFrame, int]:
    neighbour_labels = (
        adjacency.join(labels.withColumnRenamed("node", "nbr"), on="nbr", how="inner")
        .groupBy("node")
        .agg(F.min("label").alias("_nbrLabel"))
    )
    propagated = labels.join(neighbour_labels, on="node", how="left").select(
        "node",
        F.col("label").alias("_old"),
        F.least(F.col("label"), F.coalesce(F.col("_nbrLabel"), F.col("label"))).alias("label"),
    )
    jump = propagated.select(F.col("node").alias("label"), F.col("label").alias("_jumped"))
    jumped = propagated.join(jump, on="label", how="left").select(
        "node",
        F.least(F.col("label"), F.coalesce(F.col("_jumped"), F.col("label"))).alias("label"),
        "_old",
    )
    next_labels = jumped.localCheckpoint(eager=True)
    changed = next_labels.where(F.col("label") != F.col("_old")).count()
    return next_labels.drop("_old"), changed


def dense_group_ids(labels: DataFrame) -> DataFrame:
    """raterParticipantId, postSelectionGroupId (1..k by minimum member id), groupSize."""
    sizes = labels.groupBy("label").agg(F.count(F.lit(1)).cast("int").alias(C.GROUP_SIZE))
    ordered = sizes.orderBy("label").zipWithIndex("_idx")
    ids = ordered.select("label", C.GROUP_SIZE, (F.col("_idx") + 1).cast("int").alias(C.GROUP_ID))
    return labels.join(ids, on="label", how="inner").select(
        C.GROUP_ID, F.col("node").alias(C.PARTICIPANT), C.GROUP_SIZE
    )


def connected_components(edges: DataFrame, *, src: str, dst: str, max_iterations: int) -> DataFrame:
    """Groups of linked participants: postSelectionGroupId, raterParticipantId, groupSize.

    Example:
        >>> connected_components(links, src="leftParticipantId", dst="rightParticipantId",
        ...                      max_iterations=60)
    """
    labels = component_labels(edges, src=src, dst=dst, max_iterations=max_iterations)
    return dense_group_ids(labels)
