"""Connected components of the link graph (shared docs/reference.md §4.1.3), with DataFrames.

No GraphFrames jar is available, and none is needed: min-label propagation reaches the same
partition of the nodes as the reference's incremental union-find. Every node starts labelled
with itself; each round, for every link (u, v),

1. propagation: v may take label(u);
2. hooking: the node named by label(v) may take label(u) too, so a whole tree of nodes that
   point at one label moves at once (as in Shiloach-Vishkin), not one hop per round;
3. then one pointer jump: label(x) := min(label(x), label(label(x))).

Labels only decrease and always name a node of the same component, so at the fixed point (no
label changed in a round) every link joins equal labels and each component carries its
minimum id. A path of 60 nodes in shuffled id order settles in 6 rounds instead of ~60.

Each round's label table is localCheckpointed (the plan would otherwise double every round)
and then cached: Spark carries a checkpoint's *estimated* size forward, and its size-only
estimate of a join multiplies its inputs, so over rounds the estimate of a self-joined table
grows doubly exponentially (SPARK-52163) until planning runs out of memory. A materialized
cache reports its real size instead. One job per round, whose only collected value is the
count of changed labels.

Group ids are dense, 1..k, in the order of each component's minimum id (string order), so
they do not depend on partitioning or on the order links were found.
"""

from __future__ import annotations

import logging

import numpy as np
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.coordination.local_components import (  # the error is re-exported here
    ComponentsDidNotConvergeError,
    local_groups,
)
from cnscore.coordination.schemas import GROUPS, CoordCols

log = logging.getLogger("cnscore.coordination")
C = CoordCols


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
    adjacency = _settle(both.where(F.col("node") != F.col("nbr")).distinct())
    # Built on the cached adjacency, so its size estimate is real already: no settle needed.
    labels = adjacency.select("node", F.col("node").alias("label")).distinct()
    try:
        for round_no in range(1, max_iterations + 1):
            next_labels = _settle(_round(adjacency, labels))
            changed = next_labels.where(F.col("label") != F.col("_old")).count()
            labels.unpersist()  # a no-op in round 1
            labels = next_labels.drop("_old")
            log.info("components round %d: %d labels changed", round_no, changed)
            if changed == 0:
                return labels
    finally:
        adjacency.unpersist()
    raise ComponentsDidNotConvergeError(
        f"labels still changing after {max_iterations} rounds; raise components_max_iterations"
    )


def _settle(df: DataFrame) -> DataFrame:
    """Cut the lineage and cache, so later plans see a leaf with its real size (see above)."""
    settled = df.localCheckpoint(eager=False).persist(StorageLevel.MEMORY_AND_DISK)
    settled.count()
    return settled


def _round(adjacency: DataFrame, labels: DataFrame) -> DataFrame:
    """node, label, _old: one round of propagation, hooking and a pointer jump."""
    of_nbr = labels.select(F.col("node").alias("nbr"), F.col("label").alias("_nbrLabel"))
    of_node = labels.select("node", F.col("label").alias("_ownLabel"))
    linked = adjacency.join(of_nbr, on="nbr", how="inner").join(of_node, on="node", how="inner")
    offers = linked.select(F.col("node").alias("_target"), "_nbrLabel").union(
        linked.select(F.col("_ownLabel").alias("_target"), "_nbrLabel")  # hooking
    )
    best = offers.groupBy(F.col("_target").alias("node")).agg(F.min("_nbrLabel").alias("_offer"))
    hooked = labels.join(best, on="node", how="left").select(
        "node",
        F.col("label").alias("_old"),
        F.least(F.col("label"), F.coalesce(F.col("_offer"), F.col("label"))).alias("label"),
    )
    jump = hooked.select(F.col("node").alias("label"), F.col("label").alias("_jumped"))
    return hooked.join(jump, on="label", how="left").select(
        "node",
        F.least(F.col("label"), F.coalesce(F.col("_jumped"), F.col("label"))).alias("label"),
        "_old",
    )


def dense_group_ids(labels: DataFrame) -> DataFrame:
    """raterParticipantId, postSelectionGroupId (1..k by minimum member id), groupSize."""
    sizes = labels.groupBy("label").agg(F.count(F.lit(1)).cast("int").alias(C.GROUP_SIZE))
    ordered = sizes.orderBy("label").zipWithIndex("_idx")
    ids = ordered.select("label", C.GROUP_SIZE, (F.col("_idx") + 1).cast("int").alias(C.GROUP_ID))
    return labels.join(ids, on="label", how="inner").select(
        C.GROUP_ID, F.col("node").alias(C.PARTICIPANT), C.GROUP_SIZE
    )


def connected_components(
    edges: DataFrame,
    *,
    src: str,
    dst: str,
    max_iterations: int,
    max_driver_links: int | None = None,
) -> DataFrame:
    """Groups of linked participants: postSelectionGroupId, raterParticipantId, groupSize.

    Eager: the result is cached and materialized (the label table behind it is released).
    With `max_driver_links`, a graph of at most that many links is collected and solved by
    the same rounds on the driver (local_components.py): same groups, same error bound.

    Example:
        >>> connected_components(links, src="leftParticipantId", dst="rightParticipantId",
        ...                      max_iterations=60)
    """
    if max_driver_links is not None:
        links = edges.select(src, dst).limit(max_driver_links + 1).collect()
        if len(links) <= max_driver_links:
            return _driver_components(edges, links, max_iterations)
    labels = component_labels(edges, src=src, dst=dst, max_iterations=max_iterations)
    groups = dense_group_ids(labels).persist(StorageLevel.MEMORY_AND_DISK)
    groups.count()
    labels.unpersist()
    return groups


def _driver_components(edges: DataFrame, links: list, max_iterations: int) -> DataFrame:
    """The groups of collected `links` (rows of two strings), as a cached DataFrame."""
    ends = np.array([(a, b) for a, b in links], dtype=object).reshape(-1, 2)
    rows = local_groups(ends[:, 0], ends[:, 1], max_iterations=max_iterations)
    groups = edges.sparkSession.createDataFrame(rows, GROUPS).persist(StorageLevel.MEMORY_AND_DISK)
    groups.count()
    return groups
