"""Connected components by label propagation on small explicit graphs."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from chispa import assert_df_equality

from cnscore.coordination.components import ComponentsDidNotConvergeError, connected_components


def _edges(spark, pairs):
    return spark.createDataFrame(pairs, "src string, dst string")


def test_chain_pair_and_isolated_node(spark):
    # Chain r5-r3-r9-r1-r7 (minimum id r1), pair q8-q2 (minimum q2), z only linked to itself,
    # and one duplicated edge. Groups are numbered by minimum id: "q2" < "r1".
    edges = _edges(
        spark,
        [
            ("r5", "r3"),
            ("r3", "r9"),
            ("r9", "r1"),
            ("r1", "r7"),
            ("q8", "q2"),
            ("z", "z"),
            ("r3", "r5"),
        ],
    )
    actual = connected_components(edges, src="src", dst="dst", max_iterations=20)
    expected = spark.createDataFrame(
        [(1, "q2", 2), (1, "q8", 2)] + [(2, r, 5) for r in ("r1", "r3", "r5", "r7", "r9")],
        schema=actual.schema,
    )
    assert_df_equality(actual, expected, ignore_row_order=True)


def test_long_chain_converges_to_one_group(spark):
    ids = [f"n{i:03d}" for i in range(60)]
    random.Random(1).shuffle(ids)  # path in shuffled id order: labels must travel both ways
    edges = _edges(spark, list(itertools.pairwise(ids)))
    groups = connected_components(edges, src="src", dst="dst", max_iterations=20)
    rows = groups.collect()
    assert len(rows) == 60
    assert {r.postSelectionGroupId for r in rows} == {1}
    assert {r.groupSize for r in rows} == {60}


def test_round_bound_raises(spark):
    ids = [f"n{i:03d}" for i in range(60)]
    random.Random(1).shuffle(ids)
    edges = _edges(spark, list(itertools.pairwise(ids)))
    with pytest.raises(ComponentsDidNotConvergeError):
        connected_components(edges, src="src", dst="dst", max_iterations=1)


def test_no_edges_gives_no_groups(spark):
    edges = spark.createDataFrame([], "src string, dst string")
    assert connected_components(edges, src="src", dst="dst", max_iterations=5).count() == 0


def _random_graph(seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    ids = [f"r{rng.randrange(10**6):06x}" for _ in range(120)]
    return [(rng.choice(ids), rng.choice(ids)) for _ in range(90)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_driver_path_matches_spark_rounds(spark, seed):
    edges = _edges(spark, _random_graph(seed))
    on_spark = connected_components(edges, src="src", dst="dst", max_iterations=30)
    on_driver = connected_components(
        edges, src="src", dst="dst", max_iterations=30, max_driver_links=1000
    )
    assert_df_equality(on_driver, on_spark, ignore_row_order=True, ignore_nullable=True)


def test_driver_path_keeps_the_round_bound(spark):
    ids = [f"n{i:03d}" for i in range(60)]
    random.Random(1).shuffle(ids)
    edges = _edges(spark, list(itertools.pairwise(ids)))
    with pytest.raises(ComponentsDidNotConvergeError):
        connected_components(edges, src="src", dst="dst", max_iterations=1, max_driver_links=100)
    groups = connected_components(
        edges, src="src", dst="dst", max_iterations=20, max_driver_links=100
    )
    assert {(r.postSelectionGroupId, r.groupSize) for r in groups.collect()} == {(1, 60)}


def test_driver_path_rounds_equal_spark_rounds():
    from cnscore.coordination.local_components import local_component_labels

    ids = [f"n{i:03d}" for i in range(60)]
    random.Random(1).shuffle(ids)
    src, dst = (np.array(col, dtype=object) for col in zip(*itertools.pairwise(ids)))
    for bound in range(1, 12):  # the Spark version settles this path in 6 rounds
        try:
            local_component_labels(src, dst, max_iterations=bound)
            break
        except ComponentsDidNotConvergeError:
            continue
    assert bound == 6
