"""Collision pairs for quasi-clique growth (shared docs/reference.md §4.2 step 1), pruned.

Two raters collide when they did the same action (post, note, helpfulNum); a pair counts
once per post. Growth needs only two things from the collision graph:

- seeds: pairs with > `min_seed_collisions` (50) collisions;
- candidates: the seed raters and every rater with >= `min_aligned_ratings` (5) collisions
  with some seed rater.

Counting every pair of the scope (a self-join that is quadratic in each action's raters)
does far more than that. A pair's collisions are at most either rater's number of distinct
posts, so both self-joins below first drop raters that cannot reach the threshold; and the
neighbour search joins only the seed raters' ratings against the rest. Every count that can
pass a threshold is still counted in full, so seeds and candidates are exactly those of the
full collision table.

The scope comes with integer rater codes (rater_codes.py) instead of ids.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from cnscore.columns import NoteCols, RatingCols
from cnscore.config import CoordinationConfig
from cnscore.coordination.corating import salted_join
from cnscore.coordination.rater_codes import RATER
from cnscore.coordination.schemas import CoordCols

R, N, C = RatingCols, NoteCols, CoordCols
ACTION = [N.TWEET_ID, N.NOTE_ID, R.HELPFUL_NUM]


def collision_counts(scope: DataFrame, cfg: CoordinationConfig) -> DataFrame:
    """_lr < _rr (codes), collisions (posts), for pairs with >= min_aligned_ratings."""
    left = scope.select(*ACTION, F.col(RATER).alias("_lr"))
    right = scope.select(*ACTION, F.col(RATER).alias("_rr"))
    joined = salted_join(left, right, ACTION, "_lr", cfg).where(F.col("_lr") < F.col("_rr"))
    per_post = joined.select(N.TWEET_ID, "_lr", "_rr")
    counts = per_post.distinct().groupBy("_lr", "_rr").agg(F.count(F.lit(1)).alias("collisions"))
    return counts.where(F.col("collisions") >= cfg.min_aligned_ratings)


def with_enough_posts(scope: DataFrame, at_least: int) -> DataFrame:
    """The scope's ratings by raters with >= `at_least` distinct posts in it."""
    per_rater = Window.partitionBy(RATER)
    posts = F.size(F.collect_set(N.TWEET_ID).over(per_rater))
    return scope.withColumn("_posts", posts).where(F.col("_posts") >= at_least).drop("_posts")


def seed_pairs(scope: DataFrame, cfg: CoordinationConfig) -> DataFrame:
    """_lr, _rr (codes), collisions: pairs with > min_seed_collisions."""
    active = with_enough_posts(scope, cfg.min_seed_collisions + 1)
    counts = collision_counts(active, cfg)
    return counts.where(F.col("collisions") > cfg.min_seed_collisions)


def seed_raters(seeds: DataFrame) -> DataFrame:
    """_rater: the code of every rater in a seed pair."""
    ends = seeds.select(F.col("_lr").alias(RATER)).union(seeds.select(F.col("_rr").alias(RATER)))
    return ends.distinct()


def seed_neighbours(scope: DataFrame, seed_ids: DataFrame, cfg: CoordinationConfig) -> DataFrame:
    """_rater: codes of raters with >= min_aligned_ratings collisions with a seed rater.

    Seed raters themselves are candidates already, so they are left out of the result.
    The seed raters' ratings (few) are the left side, so salting splits their hot actions;
    the right side is every other rater who could reach the threshold at all.
    """
    seed_ids = F.broadcast(seed_ids)
    left = scope.join(seed_ids, on=RATER, how="left_semi").select(
        *ACTION, F.col(RATER).alias("_lr")
    )
    others = scope.join(seed_ids, on=RATER, how="left_anti")
    right = with_enough_posts(others, cfg.min_aligned_ratings).select(
        *ACTION, F.col(RATER).alias("_rr")
    )
    joined = salted_join(left, right, ACTION, "_lr", cfg)
    counts = joined.select(N.TWEET_ID, "_lr", "_rr").distinct().groupBy("_lr", "_rr").count()
    linked = counts.where(F.col("count") >= cfg.min_aligned_ratings)
    return linked.select(F.col("_rr").alias(RATER)).distinct()


def shared_actions_only(rows: DataFrame, cfg: CoordinationConfig) -> DataFrame:
    """Drop ratings on actions too few candidates did to ever be a group action.

    A group action of n >= 2 members is done by >= min(n, min_inclusion_ratings) of them, so
    by >= min(2, min_inclusion_ratings) candidates: rarer actions are never read by growth,
    and every candidate keeps its rows (it shares >= 5 actions with a seed rater).
    """
    need = min(2, cfg.min_inclusion_ratings)
    doers = F.count(F.lit(1)).over(Window.partitionBy(*ACTION))
    return rows.withColumn("_doers", doers).where(F.col("_doers") >= need).drop("_doers")
