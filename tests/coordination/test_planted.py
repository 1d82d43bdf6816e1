"""Planted coordination end to end, and the same results for 1 and 7 input partitions.

One planted dataset (about 15k ratings: 150 organic raters, rings of 5, 12 and 30, three
captive raters) is run twice: through run_coordination with inputs in 1 partition, and
through the job entry (jobs.coordination.run) with inputs in 7 partitions.
"""

from __future__ import annotations

import pandas as pd
import pytest
from chispa import assert_df_equality

from cnscore.config import CoordinationConfig, ScoreConfig
from cnscore.coordination import run_coordination
from cnscore.coordination import schemas as cs
from cnscore.coordination.planted import generate_planted
from jobs import coordination as job

TABLES = {
    "rater_flags": cs.RATER_FLAGS,
    "coordination_pairs": cs.PAIRS,
    "coordination_groups": cs.GROUPS,
    "quasi_cliques": cs.QUASI_CLIQUES,
    "coordination_summary": cs.SUMMARY,
}


@pytest.fixture(scope="module")
def planted():
    return generate_planted()


@pytest.fixture(scope="module")
def inputs(spark, planted):
    return planted.to_spark(spark)


@pytest.fixture(scope="module")
def one_partition(inputs):
    result = run_coordination(
        inputs["ratings"].repartition(1), inputs["notes"].repartition(1), CoordinationConfig()
    )
    return {name: getattr(result, field) for name, field in job.TABLES.items()}


@pytest.fixture(scope="module")
def seven_partitions(spark, inputs):
    tables = {"ratings": inputs["ratings"].repartition(7), "notes": inputs["notes"].repartition(7)}
    return job.run(spark, tables, ScoreConfig(), epoch_millis=None)


@pytest.fixture(scope="module")
def flags(one_partition, planted):
    frame = one_partition["rater_flags"].toPandas()
    return frame.merge(planted.truth, on="raterParticipantId", how="left")


def test_recall_and_precision_of_planted_coordination(flags):
    flagged = flags[flags.postSelectionGroupId.notna() | flags.quasiCliqueId.notna()]
    ring = flags[flags.role == "ring"]
    recall = ring.raterParticipantId.isin(flagged.raterParticipantId).mean()
    planted_roles = {"ring", "captive", "captiveAuthor"}
    precision = flagged.role.isin(planted_roles).mean()
    assert len(ring) == 47
    assert recall >= 0.9, recall
    assert precision >= 0.9, precision


def test_each_captive_rater_shares_a_group_with_its_author(flags, planted):
    group_of = dict(zip(flags.raterParticipantId, flags.postSelectionGroupId))
    captives = planted.truth[planted.truth.role == "captive"].raterParticipantId.tolist()
    authors = planted.truth[planted.truth.role == "captiveAuthor"].raterParticipantId.tolist()
    for rater, author in zip(captives, authors):
        assert pd.notna(group_of[rater]) and group_of[rater] == group_of[author]


def test_rings_become_quasi_cliques(flags):
    ring = flags[flags.role == "ring"]
    # Every ring has more than 50 collisions per pair (~0.95^2 * 70 posts): all are seeds.
    assert ring.quasiCliqueId.notna().mean() >= 0.9
    assert flags[flags.role == "organic"].quasiCliqueId.notna().sum() == 0


def test_tables_follow_their_documented_schemas(one_partition):
    for name, schema in TABLES.items():
        got = [(f.name, f.dataType) for f in one_partition[name].schema.fields]
        assert got == [(f.name, f.dataType) for f in schema.fields], name


def test_summary_counts_match_the_tables(one_partition):
    summary = {r.metric: r["count"] for r in one_partition["coordination_summary"].collect()}
    pairs = one_partition["coordination_pairs"]
    assert summary["pairs.coRating"] == pairs.where("linkRule = 'coRating'").count()
    assert summary["pairs.authorAffinity"] == pairs.where("linkRule = 'authorAffinity'").count()
    assert summary["groups.members"] == one_partition["coordination_groups"].count()
    assert summary["pairs.authorAffinity"] >= 3  # one link per captive rater at least


def test_results_do_not_depend_on_partitioning(one_partition, seven_partitions):
    assert set(seven_partitions) == set(TABLES)
    for name in TABLES:
        assert_df_equality(one_partition[name], seven_partitions[name], ignore_row_order=True)
