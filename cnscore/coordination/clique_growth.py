"""Greedy quasi-clique growth (shared docs/reference.md §4.2 steps 2-4), on the driver.

Pure numpy over a bounded, already-filtered rating set (see quasi_cliques.py for the bound).
An *action* is one (post, note, helpfulNum). Growing from a seed pair:

- group actions: actions done by >= note_inclusion * n members and by >= min(n, 4) members;
- candidate: the non-member matching group actions on the most distinct posts (ties: the
  smallest rater id; the reference leaves ties to pandas' unstable sort);
- accept the candidate when, with it, >= 25 posts carry a group action and every member
  matches group actions on >= 25% of them; otherwise stop.

Where we differ from the reference's code, on purpose:
- a member matching no group action at all counts as under the 25% bar (the spec says
  "every member"; the reference's value_counts silently omits such a member);
- no candidate left ends the growth (the reference would raise on `.item()` of nothing).

The reference recomputes every count from scratch on each step; here the per-action member
counts are updated incrementally and only the rows of the current group actions are read
(rows are kept sorted by action), so a step costs O(rows of group actions), not O(all rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnscore.config import CoordinationConfig


@dataclass(frozen=True)
class GrowthLimits:
    """The growth thresholds, taken from CoordinationConfig (where their defaults live)."""

    note_inclusion: float
    min_inclusion_ratings: int
    rater_inclusion: float
    min_clique_posts: int
    min_clique_raters: int
    max_growth_steps: int

    @classmethod
    def from_config(cls, cfg: CoordinationConfig) -> GrowthLimits:
        return cls(
            note_inclusion=cfg.note_inclusion_threshold,
            min_inclusion_ratings=cfg.min_inclusion_ratings,
            rater_inclusion=cfg.rater_inclusion_threshold,
            min_clique_posts=cfg.min_clique_posts,
            min_clique_raters=cfg.min_clique_raters,
            max_growth_steps=cfg.max_clique_growth_steps,
        )


class RatingIndex:
    """Ratings as integer codes: rater codes follow sorted rater ids, rows sorted by action."""

    def __init__(self, rater: np.ndarray, action: np.ndarray, post: np.ndarray, num_raters: int):
        order = np.lexsort((rater, action))
        self.rater, self.action, self.post = rater[order], action[order], post[order]
        self.num_raters = num_raters
        self.num_actions = int(action.max()) + 1 if action.size else 0
        self.num_posts = int(post.max()) + 1 if post.size else 0
        bounds = np.searchsorted(self.action, np.arange(self.num_actions + 1))
        self.start, self.end = bounds[:-1], bounds[1:]
        self.action_post = np.zeros(self.num_actions, dtype=np.int64)
        self.action_post[self.action] = self.post
        by_rater = np.lexsort((self.action, self.rater))
        self.rater_actions = np.split(
            self.action[by_rater], np.searchsorted(self.rater[by_rater], np.arange(1, num_raters))
        )

    def rows_of(self, actions: np.ndarray) -> np.ndarray:
        """Row positions of all ratings on `actions` (a gather over their CSR ranges)."""
        lengths = self.end[actions] - self.start[actions]
        if lengths.sum() == 0:
            return np.empty(0, dtype=np.int64)
        offsets = np.repeat(self.start[actions] - np.cumsum(lengths) + lengths, lengths)
        return offsets + np.arange(lengths.sum())


def _group_actions(
    index: RatingIndex, counts: np.ndarray, touched: np.ndarray, n: int, lim: GrowthLimits
) -> np.ndarray:
    c = counts[touched]
    return touched[(c >= lim.note_inclusion * n) & (c >= min(n, lim.min_inclusion_ratings))]


def _posts_per_rater(index: RatingIndex, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raters (sorted codes) and their number of distinct posts among `rows`."""
    keys = np.unique(
        index.rater[rows].astype(np.int64) * max(index.num_posts, 1) + index.post[rows]
    )
    return np.unique(keys // max(index.num_posts, 1), return_counts=True)


def grow(
    index: RatingIndex, seed: tuple[int, int], lim: GrowthLimits
) -> tuple[list[int], np.ndarray]:
    """Grow one quasi-clique from a seed pair; returns member codes and its post codes."""
    members = list(seed)
    is_member = np.zeros(index.num_raters, dtype=bool)
    is_member[members] = True
    counts = np.zeros(index.num_actions, dtype=np.int32)
    for m in members:
        counts[index.rater_actions[m]] += 1  # a rater does each action at most once
    touched = np.unique(np.concatenate([index.rater_actions[m] for m in members]))
    posts = np.empty(0, dtype=np.int64)
    for _ in range(lim.max_growth_steps):
        actions = _group_actions(index, counts, touched, len(members), lim)
        posts = np.unique(index.action_post[actions])
        rows = index.rows_of(actions)
        rows = rows[~is_member[index.rater[rows]]]
        if rows.size == 0:
            break
        raters, matched = _posts_per_rater(index, rows)
        candidate = int(raters[np.argmax(matched)])  # argmax takes the first: smallest id
        cand_actions = index.rater_actions[candidate]
        counts[cand_actions] += 1
        trial_touched = np.union1d(touched, cand_actions)
        trial = _group_actions(index, counts, trial_touched, len(members) + 1, lim)
        satisfied = np.unique(index.action_post[trial]).size
        trial_rows = index.rows_of(trial)
        inside = is_member[index.rater[trial_rows]] | (index.rater[trial_rows] == candidate)
        raters, matched = _posts_per_rater(index, trial_rows[inside])
        per_member = dict(zip(raters.tolist(), matched.tolist()))
        bar = lim.rater_inclusion * satisfied
        ok = satisfied >= lim.min_clique_posts and all(
            per_member.get(m, 0) >= bar for m in [*members, candidate]
        )
        if not ok:
            counts[cand_actions] -= 1
            break
        members.append(candidate)
        is_member[candidate] = True
        touched = trial_touched
    else:  # growth-step bound reached: report the posts of the final member set
        posts = np.unique(
            index.action_post[_group_actions(index, counts, touched, len(members), lim)]
        )
    return members, posts


def build_cliques(
    index: RatingIndex, seeds: np.ndarray, lim: GrowthLimits
) -> list[tuple[list[int], np.ndarray]]:
    """Grow from seeds in order (most collisions first), dropping seeds touching each result.

    Args:
        seeds: int array of shape (k, 2), rater codes, already sorted by collisions
            descending then by ids.

    Returns:
        Quasi-cliques with >= min_clique_raters members, smallest first (the reference sorts
        by size ascending, ties in discovery order); position + 1 is the quasi-clique id.
    """
    alive = np.ones(len(seeds), dtype=bool)
    found: list[tuple[list[int], np.ndarray]] = []
    cursor = 0
    while True:
        while cursor < len(seeds) and not alive[cursor]:
            cursor += 1
        if cursor == len(seeds):
            break
        members, posts = grow(index, (int(seeds[cursor, 0]), int(seeds[cursor, 1])), lim)
        in_clique = np.zeros(index.num_raters, dtype=bool)
        in_clique[members] = True
        alive &= ~(in_clique[seeds[:, 0]] | in_clique[seeds[:, 1]])
        if len(members) >= lim.min_clique_raters:
            found.append((members, posts))
    found.sort(key=lambda clique: len(clique[0]))  # stable: ties keep discovery order
    return found
