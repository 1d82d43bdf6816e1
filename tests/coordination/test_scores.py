"""Affinity, coverage, NPMI and minSim on tiny explicit frames, against hand-computed values."""

from __future__ import annotations

import random
from itertools import combinations

from chispa import assert_approx_df_equality, assert_df_equality

from cnscore.config import CoordinationConfig
from cnscore.coordination.affinity import affinity_links, author_rater_scores
from cnscore.coordination.corating import (
    corating_counts,
    corating_links,
    corating_scores,
    rated_posts,
)
from tests.coordination.frames import MINUTE, MISLEADING, T0, notes_df, ratings_df

H, NH, SH = "HELPFUL", "NOT_HELPFUL", "SOMEWHAT_HELPFUL"
SCORE_COLS = ["noteAuthorParticipantId", "raterParticipantId", "writerTotal"] + [
    f"{kind}{m}m"
    for m in (1, 5, 20)
    for kind in ("raterTotal", "pairTotal", "raterAffinity", "writerCoverage")
]


def _affinity_inputs(spark):
    # Author A wrote notes 1..10, author B notes 11..15, all created at T0.
    notes = notes_df(
        spark, [(n, "A" if n <= 10 else "B", T0, 100 + n, MISLEADING) for n in range(1, 16)]
    )
    latency_r1 = {
        1: 0.5,
        2: 0.5,
        3: 3,
        4: 3,
        5: 10,
        6: 10,
        7: 30,
        11: 0.5,
        12: 0.5,
        13: 3,
        14: 15,
        15: 15,
    }
    rows = [(n, "r1", T0 + int(m * MINUTE), H) for n, m in latency_r1.items()]
    rows += [
        (8, "r1", T0 + MINUTE // 2, NH),
        (9, "r1", T0 + MINUTE // 2, SH),
    ]  # not HELPFUL: ignored
    rows += [(n, "r2", T0 + MINUTE // 2, H) for n in (1, 2, 3, 4, 5, 6, 7, 8, 11, 12)]
    return ratings_df(spark, rows), notes


def test_affinity_and_coverage_match_hand_computed_values(spark):
    ratings, notes = _affinity_inputs(spark)
    actual = author_rater_scores(ratings, notes, CoordinationConfig()).select(*SCORE_COLS)
    # r1's HELPFUL latencies: 1m {1,2,11,12} -> 4; 5m adds {3,4,13} -> 7; 20m adds {5,6,14,15}
    # -> 11 (note 7 at 30m is outside every window). Affinity needs raterTotal >= 10, so r1
    # only has raterAffinity20m: A 6/11, B 5/11. Coverage needs writerTotal >= 10: only A
    # (10 notes): 1m 2/10, 5m 4/10, 20m 6/10. B wrote 5 notes: coverage null.
    # r2 rated 10 notes HELPFUL at 30s: 8 of A's, 2 of B's -> affinity A 8/10, B 2/10 in
    # every window; coverage of A 8/10.
    expected = spark.createDataFrame(
        [
            ("A", "r1", 10, 4, 2, None, 2 / 10, 7, 4, None, 4 / 10, 11, 6, 6 / 11, 6 / 10),
            ("B", "r1", 5, 4, 2, None, None, 7, 3, None, None, 11, 5, 5 / 11, None),
            ("A", "r2", 10, 10, 8, 8 / 10, 8 / 10, 10, 8, 8 / 10, 8 / 10, 10, 8, 8 / 10, 8 / 10),
            ("B", "r2", 5, 10, 2, 2 / 10, None, 10, 2, 2 / 10, None, 10, 2, 2 / 10, None),
        ],
        schema=actual.schema,
    )
    assert_approx_df_equality(
        actual, expected, precision=1e-12, ignore_row_order=True, ignore_nullable=True
    )


def test_affinity_links_name_each_threshold_passed(spark):
    ratings, notes = _affinity_inputs(spark)
    cfg = CoordinationConfig()
    links = affinity_links(author_rater_scores(ratings, notes, cfg), cfg)
    actual = links.select("leftParticipantId", "rightParticipantId", "linkCriteria")
    # (A, r1): coverage 0.2 >= 0.2, 0.4 >= 0.3, 0.6 >= 0.4; affinity20m 6/11 < 0.7.
    # (B, r2): raterAffinity1m = 0.2 >= 0.2 exactly (boundary is inclusive); 0.2 < 0.45, < 0.7.
    # (B, r1): affinity20m 5/11 < 0.7, no coverage: not linked.
    wc, ra = (
        ["writerCoverage1m", "writerCoverage5m", "writerCoverage20m"],
        ["raterAffinity1m", "raterAffinity5m", "raterAffinity20m"],
    )
    expected = spark.createDataFrame(
        [("A", "r1", wc), ("A", "r2", wc + ra), ("B", "r2", ["raterAffinity1m"])],
        schema=actual.schema,
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def _corating_inputs(spark):
    notes = notes_df(
        spark,
        [
            (11, "X", T0, 1, MISLEADING),  # post 1 has two notes
            (12, "X", T0, 1, MISLEADING),
            (21, "X", T0, 2, MISLEADING),
            (31, "X", T0, 3, MISLEADING),
            (41, "X", T0, 4, MISLEADING),
            (51, "X", T0, -1, MISLEADING),  # deleted post: excluded
            (61, "X", T0, None, MISLEADING),  # no post: excluded
        ],
    )
    t = T0 + 3_600_000
    rows = [
        (11, "a", t, H),
        (11, "b", t + 5 * MINUTE, NH),  # (a, b) on post 1 ...
        (12, "a", t, H),
        (12, "b", t + MINUTE, H),  # ... again on post 1: counted once
        (21, "a", t, H),
        (21, "b", t + 20 * MINUTE, H),  # exactly 20 min apart: co-rated
        (21, "c", t + 40 * MINUTE + 1, H),  # 20 min + 1 ms after b: not co-rated
        (31, "a", t, SH),
        (31, "c", t + 19 * MINUTE, H),
        (31, "b", t + 86_400_000, H),
        (41, "d", t, H),
        (41, "a", t + 2 * MINUTE, H),
        (51, "a", t, H),
        (51, "b", t, H),
        (61, "a", t, H),
        (61, "c", t, H),
    ]
    return ratings_df(spark, rows), notes


def test_npmi_and_min_sim_match_hand_computed_values(spark):
    ratings, notes = _corating_inputs(spark)
    cfg = CoordinationConfig(min_unique_posts=2)
    actual = corating_scores(ratings, notes, cfg)
    # Distinct posts: a {1,2,3,4} = 4, b {1,2,3} = 3, c {2,3} = 2, d {4} = 1 (< 2: dropped).
    # N = 4 + 3 + 2 + 1 = 10 distinct (post, rater). coRatings: (a,b) = 2 (posts 1, 2),
    # (a,c) = 1 (post 3), (a,d) = 1 but d is dropped, (b,c) = 0 (20 min + 1 ms apart).
    # npmi(a,b) = ln(2*10 / ((4+500)*(3+500))) / -ln(2/10) = ln(20/253512)/ln(5) = -5.870020888
    # npmi(a,c) = ln(1*10 / ((4+500)*(2+500))) / -ln(1/10) = ln(10/253008)/ln(10) = -4.403134254
    # minSim(a,b) = 2 / (min(4,3) + 10) = 2/13;  minSim(a,c) = 1 / (min(4,2) + 10) = 1/12
    expected = spark.createDataFrame(
        [
            ("a", "b", 2, 4, 3, 10, -5.870020888428618, 2 / 13),
            ("a", "c", 1, 4, 2, 10, -4.403134253590545, 1 / 12),
        ],
        schema=actual.schema,
    )
    assert_approx_df_equality(
        actual, expected, precision=1e-12, ignore_row_order=True, ignore_nullable=True
    )


def test_npmi_without_pseudocounts_and_links(spark):
    ratings, notes = _corating_inputs(spark)
    cfg = CoordinationConfig(
        min_unique_posts=2, pmi_pseudocounts=0, npmi_threshold=0.3, min_sim_threshold=0.15
    )
    scores = corating_scores(ratings, notes, cfg)
    # npmi(a,b) = ln(2*10/(4*3)) / ln(5) = ln(5/3)/ln(5) = 0.317393806 (>= 0.3)
    # npmi(a,c) = ln(1*10/(4*2)) / ln(10) = ln(1.25)/ln(10) = 0.096910013
    # minSim(a,b) = 2/13 = 0.1538 (>= 0.15); minSim(a,c) = 1/12 (no link)
    got = {(r.leftParticipantId, r.rightParticipantId): r.npmi for r in scores.collect()}
    assert abs(got[("a", "b")] - 0.31739380551401475) < 1e-12
    assert abs(got[("a", "c")] - 0.0969100130080564) < 1e-12
    links = corating_links(scores, cfg).select(
        "leftParticipantId", "rightParticipantId", "linkCriteria"
    )
    expected = spark.createDataFrame([("a", "b", ["npmi", "minSim"])], schema=links.schema)
    assert_df_equality(links, expected, ignore_nullable=True)


def _brute_force(rows, notes, width):
    post_of = {n: tw for n, _, _, tw, _ in notes}
    seen = set()
    for (n1, r1, t1, _), (n2, r2, t2, _) in combinations(rows, 2):
        if n1 == n2 and r1 != r2 and abs(t1 - t2) <= width and post_of[n1] not in (-1, None):
            seen.add((post_of[n1], min(r1, r2), max(r1, r2)))
    counts = {}
    for _, a, b in seen:
        counts[(a, b)] = counts.get((a, b), 0) + 1
    return counts


def test_salted_bucketed_join_matches_brute_force(spark):
    # A burst: 120 ratings by 40 raters on 3 notes of 2 posts within 90 minutes, plus a
    # deleted post. Salting is forced (hot key > 5 rows, 4 rows per salt).
    rng = random.Random(5)
    notes = [
        (1, "X", T0, 7, MISLEADING),
        (2, "X", T0, 7, MISLEADING),
        (3, "X", T0, 8, MISLEADING),
        (4, "X", T0, -1, MISLEADING),
    ]
    pairs = {(rng.randint(1, 4), f"r{rng.randint(0, 39):02d}") for _ in range(160)}
    rows = [(n, r, T0 + rng.randint(0, 90 * MINUTE), H) for n, r in sorted(pairs)]
    ratings, notes_frame = ratings_df(spark, rows), notes_df(spark, notes)
    posts = rated_posts(ratings, notes_frame).repartition(3)
    salted = CoordinationConfig(salt_hot_key_rows=5, salt_rows_per_task=4, max_salts=8)
    expected = _brute_force(rows, notes, salted.corating_window_millis)
    for cfg in (CoordinationConfig(), salted):
        got = {
            (r.leftParticipantId, r.rightParticipantId): r.coRatings
            for r in corating_counts(posts, cfg).collect()
        }
        assert got == expected
    assert len(expected) > 100  # the example is not trivially small


def test_corating_anywhere_on_the_post_when_configured(spark):
    # One post with two notes: c rates note 71, d rates note 72 one minute later.
    notes = notes_df(spark, [(71, "X", T0, 5, MISLEADING), (72, "X", T0, 5, MISLEADING)])
    ratings = ratings_df(spark, [(71, "c", T0, H), (72, "d", T0 + MINUTE, H)])
    posts = rated_posts(ratings, notes)
    # Reference: the window applies within one note, so no pair ...
    assert corating_counts(posts, CoordinationConfig()).count() == 0
    # ... unless configured to pair ratings anywhere on the post.
    anywhere = corating_counts(posts, CoordinationConfig(corating_within_note=False))
    assert [tuple(r) for r in anywhere.collect()] == [("c", "d", 1)]
