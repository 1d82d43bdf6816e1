"""Pruned seed and neighbour search against a brute-force count of every collision pair."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict

import pytest

from cnscore.config import CoordinationConfig
from cnscore.coordination.collisions import seed_neighbours, seed_pairs, seed_raters
from cnscore.coordination.rater_codes import RATER

SCHEMA = "tweetId long, noteId long, helpfulNum double, _rater long"


def _scope(seed: int) -> list[tuple[int, int, float, int]]:
    """Random actions; raters 0-3 copy each other on most posts (a planted ring)."""
    rng = random.Random(seed)
    rows = set()
    for post in range(40):
        for note in (post * 10, post * 10 + 1):
            value = rng.choice([0.0, 0.5, 1.0])
            for rater in range(4):
                if rng.random() < 0.5:
                    rows.add((post, note, value, rater))
            for rater in rng.sample(range(4, 30), 6):
                rows.add((post, note, rng.choice([0.0, 0.5, 1.0]), rater))
    # One rating per (note, rater), as in the data.
    first = {}
    for row in sorted(rows):
        first.setdefault((row[1], row[3]), row)
    return sorted(first.values())


def _brute_force(rows, cfg):
    doers = defaultdict(set)
    for post, note, value, rater in rows:
        doers[(post, note, value)].add(rater)
    posts = defaultdict(set)
    for (post, _, _), raters in doers.items():
        for a, b in itertools.combinations(sorted(raters), 2):
            posts[(a, b)].add(post)
    counts = {pair: len(p) for pair, p in posts.items() if len(p) >= cfg.min_aligned_ratings}
    seeds = {pair: n for pair, n in counts.items() if n > cfg.min_seed_collisions}
    seed_ids = {r for pair in seeds for r in pair}
    near = {b if a in seed_ids else a for a, b in counts if (a in seed_ids) != (b in seed_ids)}
    return seeds, near


@pytest.mark.parametrize("seed", [1, 2])
def test_seeds_and_neighbours_match_the_full_collision_table(spark, seed):
    rows = _scope(seed)
    scope = spark.createDataFrame(rows, SCHEMA).repartition(3)
    for cfg in (
        CoordinationConfig(min_seed_collisions=8, min_aligned_ratings=3),
        CoordinationConfig(
            min_seed_collisions=8, min_aligned_ratings=3, salt_hot_key_rows=2,
            salt_rows_per_task=1, max_salts=4,
        ),
    ):
        expected_seeds, expected_near = _brute_force(rows, cfg)
        assert expected_seeds and expected_near  # the case is not vacuous
        seeds = seed_pairs(scope, cfg)
        actual_seeds = {(r._lr, r._rr): r.collisions for r in seeds.collect()}
        near = seed_neighbours(scope, seed_raters(seeds), cfg)
        assert actual_seeds == expected_seeds
        assert {r[RATER] for r in near.collect()} == expected_near
