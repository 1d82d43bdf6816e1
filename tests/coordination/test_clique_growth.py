"""Greedy quasi-clique growth on small integer-coded rating sets (numpy only)."""

from __future__ import annotations

import numpy as np

from cnscore.config import CoordinationConfig
from cnscore.coordination.clique_growth import GrowthLimits, RatingIndex, build_cliques, grow


def _ring(num_posts: int) -> RatingIndex:
    """Raters 0-5 rate posts 0..n-1 the same way (action = post); rater k skips the posts
    with p % 10 == k, so no post misses more than one member. Rater 6 matches posts 0-4
    only; rater 7 rates 20 posts the other way (actions n..n+19), matching nothing."""
    rater, action, post = [], [], []
    for k in range(6):
        for p in range(num_posts):
            if p % 10 != k:
                rater.append(k), action.append(p), post.append(p)
    for p in range(5):
        rater.append(6), action.append(p), post.append(p)
    for p in range(20):
        rater.append(7), action.append(num_posts + p), post.append(p)
    return RatingIndex(np.array(rater), np.array(action), np.array(post), num_raters=8)


def test_ring_grows_to_its_members_and_stops_at_the_outsider():
    members, posts = grow(_ring(50), (0, 1), GrowthLimits.from_config(CoordinationConfig()))
    # Up to four members a group action needs every member (min(n, 4) = n): with 3 members
    # 50 - 3 * 5 = 35 posts, with 4, 30 posts (>= 25, so each is accepted; raters 2..5 tie on
    # 35 matched posts at first and the smallest id goes first). From 5 members on, 4 of them
    # suffice: all 50 posts. Rater 6 then matches 5 posts < 0.25 * 50 = 12.5: rejected.
    assert members == [0, 1, 2, 3, 4, 5]
    assert posts.tolist() == list(range(50))


def test_build_cliques_drops_used_seeds_and_small_results():
    seeds = np.array([[0, 1], [2, 3], [6, 7]])
    cliques = build_cliques(_ring(50), seeds, GrowthLimits.from_config(CoordinationConfig()))
    # Seed (2, 3) touches the first clique and is dropped; (6, 7) share no action: it stays a
    # pair and is discarded (< 5 raters).
    assert [sorted(m) for m, _ in cliques] == [[0, 1, 2, 3, 4, 5]]


def test_too_few_posts_never_grow():
    # 20 posts: a third member would leave 20 - 3 * 2 = 14 < 25 posts: never accepted.
    assert build_cliques(_ring(20), np.array([[0, 1]]), GrowthLimits.from_config(CoordinationConfig())) == []
