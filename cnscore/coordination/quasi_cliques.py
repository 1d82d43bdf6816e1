"""Quasi-cliques of raters (shared docs/reference.md §4.2): Spark counts, driver-side growth.

Scope (as the reference): labelled ratings on notes created within `quasi_clique_recency_days`
(91) of the newest rated note (strictly after the cutoff), on live posts (tweetId not -1),
classified MISINFORMED_OR_POTENTIALLY_MISLEADING.

1. Collisions, in Spark (collisions.py): two raters collide when they gave the same
   helpfulNum to the same note; a pair counts once per post. Self-joins on (post, note,
   helpfulNum) over integer rater codes, with the same hot-key salting as co-rating
   (corating.salted_join), then distinct (post, pair) and a count.
2. Seeds: pairs with > `min_seed_collisions` (50) collisions; counted among raters with
   > 50 posts in scope only, since no other rater can be in one.
3. Growth, on the driver (clique_growth.py), over a bounded candidate set. The reference
   grows over every rater with any 5-collision pair; we restrict to the seed raters and their
   direct neighbours in the 5-collision graph (raters with >= 5 collisions with some seed
   rater; found by joining the seed raters' ratings against those of raters with >= 5
   posts, not by counting every pair). Ratings on actions fewer than two candidates did
   are not collected: growth never reads them (collisions.shared_actions_only). A rater
   joins a clique only by matching the clique's group actions on >= 25% of >= 25 posts,
   and for cliques up to four members that means colliding with every member,
   seeds included; a rater matching a larger clique while never colliding 5 times with any
   seed rater is the case this restriction can miss. The ratings collected for growth are
   counted first and the stage raises QuasiCliqueBoundError above
   `max_driver_clique_ratings` (2 M rows, about 100 MB of numpy arrays) instead of
   exhausting driver memory; the seed pairs collected are held to the same bound.
4. Quasi-cliques with >= 5 raters get ids 1..k, smallest first (the reference's order).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import NoteCols, RatingCols
from cnscore.config import CoordinationConfig
from cnscore.coordination.clique_growth import GrowthLimits, RatingIndex, build_cliques
from cnscore.coordination.collisions import (
    ACTION,
    seed_neighbours,
    seed_pairs,
    seed_raters,
    shared_actions_only,
)
from cnscore.coordination.rater_codes import RATER, decode, encode, rater_codes
from cnscore.coordination.schemas import QUASI_CLIQUES, CoordCols
from cnscore.preprocess import filter_labeled_ratings

log = logging.getLogger("cnscore.coordination")
R, N, C = RatingCols, NoteCols, CoordCols
DAY_MILLIS = 86_400_000
MISLEADING = "MISINFORMED_OR_POTENTIALLY_MISLEADING"


class QuasiCliqueBoundError(RuntimeError):
    """The candidate ratings for driver-side growth exceed `max_driver_clique_ratings`."""


def clique_scope(ratings: DataFrame, notes: DataFrame, cfg: CoordinationConfig) -> DataFrame:
    """tweetId, noteId, helpfulNum, raterParticipantId of the ratings in scope."""
    note_side = notes.select(
        N.NOTE_ID, N.TWEET_ID, N.CLASSIFICATION, F.col(N.CREATED_AT).alias("_noteMillis")
    )
    merged = (
        filter_labeled_ratings(ratings)
        .select(R.NOTE_ID, R.RATER_ID, R.HELPFUL_NUM)
        .join(note_side, on=N.NOTE_ID, how="inner")
    )
    # The newest note among rated notes, before the post/classification filters (reference).
    newest = merged.agg(F.max("_noteMillis").alias("_newest"))
    cutoff = F.col("_newest") - cfg.quasi_clique_recency_days * DAY_MILLIS
    return (
        merged.crossJoin(F.broadcast(newest))
        .where(F.col("_noteMillis") > cutoff)
        .where(F.col(N.TWEET_ID).isNotNull() & (F.col(N.TWEET_ID) != -1))
        .where(F.col(N.CLASSIFICATION) == MISLEADING)
        .select(*ACTION, R.RATER_ID)
    )


def find_quasi_cliques(ratings: DataFrame, notes: DataFrame, cfg: CoordinationConfig) -> DataFrame:
    """quasiCliqueId, raterParticipantId, numRaters, numPosts: one row per membership.

    A rater can be a member of two quasi-cliques (growth does not exclude earlier members,
    as in the reference); rater_flags keeps the smallest id.

    Raises:
        QuasiCliqueBoundError: the growth's candidate ratings exceed the configured bound.

    Example:
        >>> cliques = find_quasi_cliques(ratings, notes, CoordinationConfig())
        >>> cliques.select("quasiCliqueId").distinct().count()
    """
    spark = ratings.sparkSession
    started = time.perf_counter()
    scope, codes = _coded_scope(ratings, notes, cfg)
    log.info("quasi-cliques: %d ratings in scope (%.1fs)", scope.count(), _since(started))
    seeds = _cut(seed_pairs(scope, cfg))
    log.info("quasi-cliques: %d seed pairs (%.1fs)", seeds.count(), _since(started))
    seed_ids = seed_raters(seeds)
    candidates = seed_ids.union(seed_neighbours(scope, seed_ids, cfg)).distinct()
    kept = shared_actions_only(scope.join(candidates, on=RATER, how="left_semi"), cfg)
    candidate_ratings = _cut(decode(kept, codes, RATER, R.RATER_ID))
    num_rows = candidate_ratings.count()
    log.info("quasi-cliques: %d candidate ratings for growth (%.1fs)", num_rows, _since(started))
    if num_rows > cfg.max_driver_clique_ratings:
        raise QuasiCliqueBoundError(
            f"{num_rows} candidate ratings exceed max_driver_clique_ratings="
            f"{cfg.max_driver_clique_ratings}; raise the bound if the driver has the memory"
        )
    if num_rows == 0:
        return spark.createDataFrame([], QUASI_CLIQUES)
    frame = candidate_ratings.toPandas()
    # Seed pairs are not bounded by the rating count (many raters can share the same
    # 51 actions), so they get the same bound on their own.
    seed_rows = decode(decode(seeds, codes, "_lr", C.LEFT), codes, "_rr", C.RIGHT)
    seed_rows = seed_rows.limit(cfg.max_driver_clique_ratings + 1).toPandas()
    if len(seed_rows) > cfg.max_driver_clique_ratings:
        raise QuasiCliqueBoundError(
            f"more than max_driver_clique_ratings={cfg.max_driver_clique_ratings} seed pairs"
        )
    rows = _grow_on_driver(frame, seed_rows, cfg)
    log.info("quasi-cliques: grown on the driver (%.1fs)", _since(started))
    return spark.createDataFrame(rows, QUASI_CLIQUES)


def _coded_scope(
    ratings: DataFrame, notes: DataFrame, cfg: CoordinationConfig
) -> tuple[DataFrame, DataFrame]:
    """(scope actions with rater codes, the codes): the collision joins run on codes."""
    scope = clique_scope(ratings, notes, cfg).persist(StorageLevel.MEMORY_AND_DISK)
    codes = _cut(rater_codes(scope))
    coded = _cut(encode(scope, codes).select(*ACTION, RATER))
    scope.unpersist()  # only its coded form is read from here on
    return coded, codes


def _cut(df: DataFrame) -> DataFrame:
    """Materialize `df` as a plan leaf (an eager localCheckpoint), for reuse below.

    Why not persist: a cached frame keeps its whole plan (down to the TSV parsing), and
    adaptive execution re-renders every plan that contains it at each stage; with the
    several joins below, that rendering, not the data, dominated the driver's time.
    """
    return df.localCheckpoint(eager=True)


def _since(started: float) -> float:
    return time.perf_counter() - started


def _grow_on_driver(
    frame: pd.DataFrame, seed_rows: pd.DataFrame, cfg: CoordinationConfig
) -> list[tuple[int, str, int, int]]:
    """Codes in sorted id order (so results do not depend on collection order), then growth."""
    rater_ids, rater = np.unique(frame[R.RATER_ID].to_numpy(dtype=object), return_inverse=True)
    action = frame.groupby(ACTION, sort=True).ngroup().to_numpy()
    _, post = np.unique(frame[N.TWEET_ID].to_numpy(), return_inverse=True)
    index = RatingIndex(
        rater.astype(np.int64), action.astype(np.int64), post.astype(np.int64), len(rater_ids)
    )
    code = {rid: i for i, rid in enumerate(rater_ids.tolist())}
    seed_rows = seed_rows.sort_values(
        ["collisions", C.LEFT, C.RIGHT], ascending=[False, True, True]
    )
    seeds = np.array(
        [[code[a], code[b]] for a, b in zip(seed_rows[C.LEFT], seed_rows[C.RIGHT])], dtype=np.int64
    ).reshape(-1, 2)
    limits = GrowthLimits.from_config(cfg)
    return [
        (clique_id, str(rater_ids[m]), len(members), int(posts.size))
        for clique_id, (members, posts) in enumerate(build_cliques(index, seeds, limits), start=1)
        for m in sorted(members)
    ]
