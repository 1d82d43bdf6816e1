"""Co-rating pairs, smoothed NPMI and minSim (shared docs/reference.md §4.1.2), distributed.

Two raters co-rate a post when their ratings on it (on the same note, as the reference; or
anywhere on the post with `corating_within_note=False`) are at most 20 minutes apart.
coRatings(a, b) counts posts, not rating pairs. Posts are the notes' tweetId; tweetId -1
(deleted post) and null are excluded.

How the self-join stays bounded (no driver-side pair set, no task owning a whole hot post):

1. Time is cut into buckets of the window width W (bucket = floor(t / W)). Two ratings at
   most W apart fall in the same or adjacent buckets, so each rating is joined only against
   ratings of its own bucket and the next one: the right side is exploded to keys b and
   b - 1 and the equi-join key is (post, [note,] bucket). A post rated for days never forms
   one join key; only a burst within one window does.
2. Hot keys (a burst: more than `salt_hot_key_rows` ratings in one post-window) are salted:
   the left side's rows are spread over S = ceil(rows / salt_rows_per_task) salts (capped at
   `max_salts`) by a hash of the rater, and the right side is replicated S times, so the
   quadratic work of a burst is split over S tasks. Salts depend only on the data (hash),
   never on partitioning. Nothing is capped: every pair the reference counts is counted.
3. Each unordered pair of ratings is emitted once (same bucket: left rater < right rater;
   adjacent bucket: any order), then (post, pair) is made distinct before counting.
4. The join runs on integer rater codes (rater_codes.py), given only to raters with
   `min_unique_posts`: the others' pairs are dropped anyway, and a long is shuffled
   far more cheaply than a 64-character id.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import NoteCols, RatingCols
from cnscore.config import CoordinationConfig
from cnscore.coordination.rater_codes import RATER, decode, encode, rater_codes
from cnscore.coordination.schemas import CoordCols

R, N, C = RatingCols, NoteCols, CoordCols
POST = N.TWEET_ID


def rated_posts(ratings: DataFrame, notes: DataFrame) -> DataFrame:
    """tweetId, noteId, raterParticipantId, createdAtMillis for ratings on live posts."""
    posts = notes.select(N.NOTE_ID, POST).where(F.col(POST).isNotNull() & (F.col(POST) != -1))
    return ratings.select(R.NOTE_ID, R.RATER_ID, R.CREATED_AT).join(
        posts, on=N.NOTE_ID, how="inner"
    )


def salted_join(
    left: DataFrame, right: DataFrame, keys: list[str], salt_by: str, cfg: CoordinationConfig
) -> DataFrame:
    """Inner equi-join on `keys`, with keys hotter than `salt_hot_key_rows` split into salts.

    `salt_by` is a left-side column hashed to pick a row's salt (a rater id: spreads a burst
    evenly). The hot-key table holds one row per hot key, so it is broadcast.
    """
    sizes = left.groupBy(*keys).agg(F.count(F.lit(1)).alias("_rows"))
    salts = F.least(F.lit(cfg.max_salts), F.ceil(F.col("_rows") / F.lit(cfg.salt_rows_per_task)))
    hot = sizes.where(F.col("_rows") > cfg.salt_hot_key_rows).select(
        *keys, salts.cast("int").alias("_salts")
    )
    hot = F.broadcast(hot)
    num_salts = F.coalesce(F.col("_salts"), F.lit(1))
    salted_left = left.join(hot, on=keys, how="left").withColumn(
        "_salt", F.pmod(F.xxhash64(F.col(salt_by)), num_salts.cast("long")).cast("int")
    )
    replicated_right = right.join(hot, on=keys, how="left").withColumn(
        "_salt", F.explode(F.sequence(F.lit(0), num_salts - 1))
    )
    return salted_left.drop("_salts").join(
        replicated_right.drop("_salts"), on=[*keys, "_salt"], how="inner"
    )


def corating_counts(
    posts: DataFrame, cfg: CoordinationConfig, rater: str = R.RATER_ID
) -> DataFrame:
    """leftParticipantId < rightParticipantId, coRatings: posts the two co-rated within W.

    Args:
        posts: output of `rated_posts` (tweetId, noteId, raterParticipantId, createdAtMillis).
        cfg: the window, whether it applies per note, and the salting knobs.
        rater: the rater column of `posts` (ids, or order-preserving codes of them).
    """
    width = cfg.corating_window_millis
    t = F.col(R.CREATED_AT)
    keys = [POST, N.NOTE_ID] if cfg.corating_within_note else [POST]
    # floor(t / W): t - pmod(t, W) is an exact multiple of W (pmod is never negative, so
    # negative times floor too), and dividing it by W is exact for any millis below 2^53.
    bucketed = posts.select(
        *keys,
        rater,
        R.CREATED_AT,
        ((t - F.pmod(t, F.lit(width))) / width).cast("long").alias("_bucket"),
    )
    left = bucketed.select(*keys, "_bucket", F.col(rater).alias("_lr"), t.alias("_lt"))
    right = bucketed.select(
        *keys,
        F.col("_bucket").alias("_rb"),
        F.col(rater).alias("_rr"),
        t.alias("_rt"),
        F.explode(F.array(F.col("_bucket"), F.col("_bucket") - 1)).alias("_bucket"),
    )
    joined = salted_join(left, right, [*keys, "_bucket"], "_lr", cfg)
    same = (F.col("_rb") == F.col("_bucket")) & (F.col("_lr") < F.col("_rr"))
    nxt = (F.col("_rb") == F.col("_bucket") + 1) & (F.col("_lr") != F.col("_rr"))
    close = F.abs(F.col("_lt") - F.col("_rt")) <= width
    pairs = joined.where(close & (same | nxt)).select(
        POST,
        F.least("_lr", "_rr").alias(C.LEFT),
        F.greatest("_lr", "_rr").alias(C.RIGHT),
    )
    return pairs.distinct().groupBy(C.LEFT, C.RIGHT).agg(F.count(F.lit(1)).alias(C.CO_RATINGS))


def rater_post_totals(posts: DataFrame) -> DataFrame:
    """raterParticipantId, numPosts: distinct posts each rater rated."""
    return (
        posts.select(POST, R.RATER_ID)
        .distinct()
        .groupBy(R.RATER_ID)
        .agg(F.count(F.lit(1)).alias(C.NUM_POSTS))
    )


def corating_scores(ratings: DataFrame, notes: DataFrame, cfg: CoordinationConfig) -> DataFrame:
    """Co-rating counts with totals, N, smoothed NPMI and minSim, for raters with enough posts.

    With P = pmi_pseudocounts (500), M = min_sim_pseudocounts (10), N = distinct (post, rater):

        npmi   = ln(co * N / ((total_a + P) * (total_b + P))) / -ln(co / N)
        minSim = co / (min(total_a, total_b) + M)

    Pairs with a rater under `min_unique_posts` (10) distinct posts are dropped. npmi is null
    when co == N (the denominator -ln(1) is 0).

    Returns:
        leftParticipantId, rightParticipantId, coRatings, leftTotal, rightTotal,
        numRaterPosts, npmi, minSim.

    Example:
        >>> corating_scores(ratings, notes, CoordinationConfig()).where("minSim >= 0.4")
    """
    posts = rated_posts(ratings, notes)
    all_totals = rater_post_totals(posts)
    totals = all_totals.where(F.col(C.NUM_POSTS) >= cfg.min_unique_posts)
    # N = sum of every rater's distinct posts (before the minimum): the same shuffle is reused.
    big_n = all_totals.agg(F.sum(C.NUM_POSTS).cast("long").alias(C.NUM_RATER_POSTS))
    # Only raters with enough posts get a code: a pair's count depends on its two raters'
    # ratings alone, so the others are dropped before the self-join instead of after it.
    # Read four times (both totals, the self-join, decoding): computed once, here (eager).
    codes = rater_codes(totals).localCheckpoint(eager=True)
    coded_totals = encode(totals, codes)
    left_totals = coded_totals.select(
        F.col(RATER).alias(C.LEFT), F.col(C.NUM_POSTS).alias(C.LEFT_TOTAL)
    )
    right_totals = coded_totals.select(
        F.col(RATER).alias(C.RIGHT), F.col(C.NUM_POSTS).alias(C.RIGHT_TOTAL)
    )
    coded = corating_counts(encode(posts, codes), cfg, rater=RATER)
    scored = (
        coded.join(left_totals, on=C.LEFT, how="inner")
        .join(right_totals, on=C.RIGHT, how="inner")
        .crossJoin(F.broadcast(big_n))  # one row: N rides along without a driver round trip
    )
    scored = decode(decode(scored, codes, C.LEFT, C.LEFT), codes, C.RIGHT, C.RIGHT)
    co, n = F.col(C.CO_RATINGS).cast("double"), F.col(C.NUM_RATER_POSTS).cast("double")
    pseudo, ta, tb = float(cfg.pmi_pseudocounts), F.col(C.LEFT_TOTAL), F.col(C.RIGHT_TOTAL)
    pmi = F.log(co * n / ((ta + pseudo) * (tb + pseudo)))
    npmi = F.when(co < n, pmi / -F.log(co / n))
    min_sim = co / (F.least(ta, tb) + float(cfg.min_sim_pseudocounts))
    return scored.select(
        C.LEFT,
        C.RIGHT,
        C.CO_RATINGS,
        C.LEFT_TOTAL,
        C.RIGHT_TOTAL,
        C.NUM_RATER_POSTS,
        npmi.alias(C.NPMI),
        min_sim.alias(C.MIN_SIM),
    )


def corating_links(scores: DataFrame, cfg: CoordinationConfig) -> DataFrame:
    """Pairs with npmi >= npmi_threshold or minSim >= min_sim_threshold, naming which."""
    passed = F.array_compact(
        F.array(
            F.when(F.col(C.NPMI) >= cfg.npmi_threshold, F.lit(C.NPMI)),
            F.when(F.col(C.MIN_SIM) >= cfg.min_sim_threshold, F.lit(C.MIN_SIM)),
        )
    )
    return scores.withColumn(C.CRITERIA, passed).where(F.size(C.CRITERIA) > 0)
