"""Synthetic data with planted coordination, for testing the coordination stage.

Three kinds of participants, all with similar activity (roughly 50-90 ratings each):

- organic raters rate random notes at organic delays (exponential, mean two days) with a
  random helpfulness level;
- rings of 5-30 raters: each ring picks ~70 posts and, some hours after each note appeared,
  its members (each with probability 0.95) rate it HELPFUL within minutes of each other; they
  also rate some other notes organically;
- captive raters: an author writes 15 notes and their captive rater rates 13 of them HELPFUL
  within a minute of creation, besides organic ratings elsewhere.

Notes and ratings come in the public input layout (cnscore.schemas), with ids hashed so their
string order says nothing about roles. Everything is a pure function of the arguments.
Some notes share a post and a few sit on a deleted post (tweetId -1), to exercise both rules.
The existing embedded generator (cnscore.synthetic) is left as it is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from cnscore import schemas
from cnscore.synthetic import conform_to_schema

START_MILLIS = 1_700_000_000_000
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
LEVELS = np.array(["NOT_HELPFUL", "SOMEWHAT_HELPFUL", "HELPFUL"])
MISLEADING = "MISINFORMED_OR_POTENTIALLY_MISLEADING"


@dataclass(frozen=True)
class PlantedCoordination:
    """Inputs in the public layout and the truth: raterParticipantId, role, ringId."""

    notes: pd.DataFrame
    ratings: pd.DataFrame
    truth: pd.DataFrame  # role: organic | ring | captive | captiveAuthor; ringId -1 if none

    def to_spark(self, spark: SparkSession) -> dict[str, DataFrame]:
        """notes and ratings as Spark DataFrames in the canonical input schemas."""
        return {
            "notes": spark.createDataFrame(self.notes, schema=schemas.NOTES),
            "ratings": spark.createDataFrame(self.ratings, schema=schemas.RATINGS),
        }


def _pid(label: str, seed: int) -> str:
    return hashlib.md5(f"planted-{seed}-{label}".encode()).hexdigest().upper()


class _Ratings:
    """Accumulates rating rows (note index, rater id, time, level index)."""

    def __init__(self) -> None:
        self.note, self.rater, self.time, self.level = [], [], [], []

    def add(self, notes: np.ndarray, rater: str, times: np.ndarray, levels: np.ndarray) -> None:
        self.note.append(notes)
        self.rater.append(np.full(len(notes), rater, dtype=object))
        self.time.append(times.astype(np.int64))
        self.level.append(levels)


def generate_planted(
    *,
    num_organic: int = 150,
    ring_sizes: tuple[int, ...] = (5, 12, 30),
    ring_posts: int = 70,
    num_captives: int = 3,
    num_notes: int = 500,
    num_authors: int = 150,
    seed: int = 3,
) -> PlantedCoordination:
    """Make a planted dataset. Same arguments, same data."""
    rng = np.random.default_rng(seed)
    created = START_MILLIS + rng.integers(0, 30 * DAY, num_notes)
    authors = np.array([_pid(f"author{i}", seed) for i in range(num_authors)], dtype=object)
    author = authors[rng.integers(0, num_authors, num_notes)]
    captive_authors = [_pid(f"captiveAuthor{k}", seed) for k in range(num_captives)]
    captive_notes = [
        np.arange(num_notes + 15 * k, num_notes + 15 * (k + 1)) for k in range(num_captives)
    ]
    total_notes = num_notes + 15 * num_captives
    created = np.concatenate(
        [created, START_MILLIS + rng.integers(0, 30 * DAY, total_notes - num_notes)]
    )
    author = np.concatenate([author, np.repeat(np.array(captive_authors, dtype=object), 15)])
    tweet = 1_600_000_000_000_000_000 + np.arange(total_notes, dtype=np.int64) * 11
    share = rng.random(total_notes) < 0.1  # some notes sit on the post of the previous note
    tweet[1:][share[1:]] = tweet[:-1][share[1:]]
    tweet[rng.random(total_notes) < 0.02] = -1
    misleading = rng.random(total_notes) < 0.9
    misleading[num_notes:] = True
    rows, truth = _Ratings(), []

    def organic(rater: str, count: int, exclude: np.ndarray) -> None:
        pool = np.setdiff1d(np.arange(total_notes), exclude)
        picked = rng.choice(pool, size=min(count, len(pool)), replace=False)
        delay = rng.exponential(2 * DAY, len(picked)) + rng.integers(0, 10 * MINUTE, len(picked))
        rows.add(
            picked, rater, created[picked] + delay, rng.choice(3, len(picked), p=[0.3, 0.2, 0.5])
        )

    for i in range(num_organic):
        rater = _pid(f"organic{i}", seed)
        organic(rater, int(rng.integers(50, 91)), np.empty(0, dtype=np.int64))
        truth.append((rater, "organic", -1))
    eligible = np.flatnonzero(misleading[:num_notes] & (tweet[:num_notes] != -1))
    for ring_id, size in enumerate(ring_sizes):
        targets = rng.choice(eligible, size=ring_posts, replace=False)
        burst = created[targets] + rng.integers(2 * HOUR, 48 * HOUR, ring_posts)
        for j in range(size):
            rater = _pid(f"ring{ring_id}member{j}", seed)
            takes_part = rng.random(ring_posts) < 0.95
            joined = targets[takes_part]
            at = burst[takes_part] + rng.integers(0, 8 * MINUTE, len(joined))
            rows.add(joined, rater, at, np.full(len(joined), 2))
            organic(rater, int(rng.integers(15, 31)), targets)
            truth.append((rater, "ring", ring_id))
    for k in range(num_captives):
        rater = _pid(f"captive{k}", seed)
        mine = rng.choice(captive_notes[k], size=13, replace=False)
        rows.add(mine, rater, created[mine] + rng.integers(5_000, 50_000, 13), np.full(13, 2))
        organic(rater, int(rng.integers(50, 71)), captive_notes[k])
        truth += [(rater, "captive", -1), (captive_authors[k], "captiveAuthor", -1)]
    note_ids = 1_800_000_000_000_000_000 + np.arange(total_notes, dtype=np.int64) * 7
    notes = pd.DataFrame(
        {
            "noteId": note_ids,
            "noteAuthorParticipantId": author,
            "createdAtMillis": created.astype(np.int64),
            "tweetId": tweet,
            "classification": np.where(misleading, MISLEADING, "NOT_MISLEADING"),
            "summary": [f"planted note {i}" for i in range(total_notes)],
        }
    )
    note_idx = np.concatenate(rows.note)
    ratings = pd.DataFrame(
        {
            "noteId": note_ids[note_idx],
            "raterParticipantId": np.concatenate(rows.rater),
            "createdAtMillis": np.concatenate(rows.time),
            "version": 2,
            "agree": 0,
            "disagree": 0,
            "helpful": 0,
            "notHelpful": 0,
            "helpfulnessLevel": LEVELS[np.concatenate(rows.level)],
            "ratedOnTweetId": -1,
            "ratingSourceBucketed": "DEFAULT",
        }
    )
    truth_frame = pd.DataFrame(truth, columns=["raterParticipantId", "role", "ringId"])
    return PlantedCoordination(
        conform_to_schema(notes, schemas.NOTES), conform_to_schema(ratings, schemas.RATINGS), truth_frame
    )


