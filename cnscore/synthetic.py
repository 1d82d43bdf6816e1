"""Synthetic Community Notes data with planted truth: the embedded default dataset.

Raters have a 1-D viewpoint (two camps plus spread) and a bias; notes have a quality and a
viewpoint. A rating's latent score is

    s = base + rater_bias + quality + rater_viewpoint * note_viewpoint + noise

cut into NOT_HELPFUL / SOMEWHAT_HELPFUL / HELPFUL (helpfulNum 0, 0.5, 1). Activity is heavy
tailed on both sides. Tags follow the rating. Everything is a pure function of the seed and
sizes, in the public TSV layout (cnscore.schemas), so it flows through the same readers'
schemas and stages as real data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from cnscore import schemas
from cnscore.columns import HELPFUL_TAGS_TSV_ORDER, NOT_HELPFUL_TAGS_TSV_ORDER

LEVELS = np.array(["NOT_HELPFUL", "SOMEWHAT_HELPFUL", "HELPFUL"])
START_MILLIS = 1_700_000_000_000  # 2023-11-14; notes are spread over the following 30 days
DAY_MILLIS = 86_400_000


@dataclass(frozen=True)
class PlantedModel:
    """Parameters of the generating model."""

    base: float = 0.45
    rater_bias_sd: float = 0.1
    quality_sd: float = 0.2
    note_viewpoint_sd: float = 0.2
    camp_spread: float = 0.35  # rater viewpoint = +-1 camp + N(0, camp_spread)
    noise_sd: float = 0.25
    cuts: tuple[float, float] = (0.35, 0.65)  # latent score -> 0 / 0.5 / 1
    rater_activity_shape: float = 1.3  # Pareto tail of ratings per rater
    note_popularity_sigma: float = 0.6  # log-normal spread of ratings per note
    # Bad raters (QS-MF evaluation): this fraction of raters ignores note quality, split evenly
    # into partisan (viewpoint only), random, always HELPFUL and always NOT_HELPFUL.
    bad_rater_fraction: float = 0.0


BAD_KINDS = ("partisan", "random", "always_helpful", "always_not_helpful")


@dataclass(frozen=True)
class SyntheticData:
    """Inputs in the public layout plus the planted truth."""

    notes: pd.DataFrame
    ratings: pd.DataFrame
    user_enrollment: pd.DataFrame
    truth_notes: pd.DataFrame  # noteId, quality, viewpoint
    truth_raters: pd.DataFrame  # raterParticipantId, viewpoint, bias


def _participant_ids(seed: int, count: int, kind: str) -> np.ndarray:
    return np.array(
        [hashlib.md5(f"{kind}-{seed}-{i}".encode()).hexdigest().upper() for i in range(count)]
    )


def _pairs(rng, num_raters, num_notes, num_ratings, model: PlantedModel):
    """Distinct (rater, note) pairs drawn with heavy-tailed activity on both sides."""
    rater_w = rng.pareto(model.rater_activity_shape, num_raters) + 1.0
    note_w = rng.lognormal(0.0, model.note_popularity_sigma, num_notes)
    rater_p, note_p = rater_w / rater_w.sum(), note_w / note_w.sum()
    chosen = np.empty(0, dtype=np.int64)
    draw = num_ratings
    while chosen.size < num_ratings:
        raters = rng.choice(num_raters, size=draw * 2, p=rater_p)
        notes = rng.choice(num_notes, size=draw * 2, p=note_p)
        keys = np.concatenate([chosen, raters.astype(np.int64) * num_notes + notes])
        _, first = np.unique(keys, return_index=True)
        chosen = keys[np.sort(first)]  # keep draw order: deterministic and unbiased
        if chosen.size > num_raters * num_notes * 0.9:
            raise ValueError("too many ratings for so few raters and notes")
        draw *= 2
    chosen = chosen[:num_ratings]
    return chosen // num_notes, chosen % num_notes


def generate(
    num_raters: int = 2000,
    num_notes: int = 400,
    num_ratings: int = 40000,
    seed: int = 7,
    model: PlantedModel = PlantedModel(),
) -> SyntheticData:
    """Make a dataset. Same arguments, same data."""
    rng = np.random.default_rng(seed)
    camp = np.where(rng.random(num_raters) < 0.55, -1.0, 1.0)
    rater_view = camp + rng.normal(0, model.camp_spread, num_raters)
    rater_bias = rng.normal(0, model.rater_bias_sd, num_raters)
    quality = rng.normal(0, model.quality_sd, num_notes)
    note_view = rng.normal(0, model.note_viewpoint_sd, num_notes)
    rater_idx, note_idx = _pairs(rng, num_raters, num_notes, num_ratings, model)
    latent = (
        model.base
        + rater_bias[rater_idx]
        + quality[note_idx]
        + rater_view[rater_idx] * note_view[note_idx]
        + rng.normal(0, model.noise_sd, num_ratings)
    )
    level = np.digitize(latent, model.cuts)  # 0, 1, 2
    kind = _bad_kinds(rng, num_raters, model.bad_rater_fraction)
    level = _bad_levels(rng, level, kind[rater_idx], model, rater_view[rater_idx] * note_view[note_idx])
    rater_ids = _participant_ids(seed, num_raters, "rater")
    author_ids = _participant_ids(seed, max(num_notes // 3, 1), "author")
    note_ids = 1_700_000_000_000_000_000 + np.arange(num_notes, dtype=np.int64) * 7919 + seed
    note_created = START_MILLIS + rng.integers(0, 30 * DAY_MILLIS, num_notes)
    notes = _notes_frame(rng, note_ids, author_ids, note_created)
    delay = rng.exponential(2 * DAY_MILLIS, num_ratings).astype(np.int64)
    ratings = _ratings_frame(
        rng, note_ids[note_idx], rater_ids[rater_idx], note_created[note_idx] + delay, level
    )
    enrollment = pd.DataFrame(
        {
            "participantId": np.concatenate([rater_ids, author_ids]),
            "enrollmentState": "earnedIn",
            "successfulRatingNeededToEarnIn": np.int64(5),
            "timestampOfLastStateChange": np.int64(START_MILLIS),
            "timestampOfLastEarnOut": 1.0,
            "modelingPopulation": "CORE",
            "modelingGroup": 13.0,
            "numberOfTimesEarnedOut": np.int64(0),
        }
    ).drop_duplicates("participantId")
    return SyntheticData(
        notes=notes,
        ratings=ratings,
        user_enrollment=enrollment,
        truth_notes=pd.DataFrame({"noteId": note_ids, "quality": quality, "viewpoint": note_view}),
        truth_raters=pd.DataFrame(
            {"raterParticipantId": rater_ids, "viewpoint": rater_view, "bias": rater_bias,
             "kind": kind}
        ),
    )


def _bad_kinds(rng, num_raters: int, fraction: float) -> np.ndarray:
    kind = np.full(num_raters, "good", dtype=object)
    bad = rng.permutation(num_raters)[: int(round(fraction * num_raters))]
    kind[bad] = np.array(BAD_KINDS, dtype=object)[np.arange(len(bad)) % len(BAD_KINDS)]
    return kind


def _bad_levels(rng, level, kind, model: PlantedModel, view_product) -> np.ndarray:
    """Replace bad raters' levels: they do not look at quality."""
    out = level.copy()
    partisan = kind == "partisan"
    noise = rng.normal(0, model.noise_sd, len(level))
    out[partisan] = np.digitize(model.base + 2.0 * view_product + noise, model.cuts)[partisan]
    random = kind == "random"
    out[random] = rng.integers(0, 3, len(level))[random]
    out[kind == "always_helpful"] = 2
    out[kind == "always_not_helpful"] = 0
    return out


def _notes_frame(rng, note_ids, author_ids, created) -> pd.DataFrame:
    n = len(note_ids)
    frame = pd.DataFrame(
        {
            "noteId": note_ids,
            "noteAuthorParticipantId": author_ids[rng.integers(0, len(author_ids), n)],
            "createdAtMillis": created.astype(np.int64),
            "tweetId": 1_600_000_000_000_000_000 + rng.integers(0, 10**12, n),
            "classification": np.where(
                rng.random(n) < 0.9, "MISINFORMED_OR_POTENTIALLY_MISLEADING", "NOT_MISLEADING"
            ),
            "summary": [f"synthetic note {i}" for i in range(n)],
        }
    )
    return conform_to_schema(frame, schemas.NOTES)


def _ratings_frame(rng, note_ids, rater_ids, created, level) -> pd.DataFrame:
    n = len(note_ids)
    frame = pd.DataFrame(
        {
            "noteId": note_ids,
            "raterParticipantId": rater_ids,
            "createdAtMillis": created.astype(np.int64),
            "version": 2,
            "agree": 0,
            "disagree": 0,
            "helpful": 0,
            "notHelpful": 0,
            "helpfulnessLevel": LEVELS[level],
            "ratedOnTweetId": -1,
            "ratingSourceBucketed": "DEFAULT",
        }
    )
    # One or two tags from the side the rating is on (none for SOMEWHAT_HELPFUL half the time).
    for tags, side in ((HELPFUL_TAGS_TSV_ORDER, level >= 1), (NOT_HELPFUL_TAGS_TSV_ORDER, level <= 1)):
        picks = rng.integers(0, len(tags), (2, n))
        use = side & (rng.random(n) < np.where(level == 1, 0.5, 1.0))
        for t, tag in enumerate(tags):
            frame[tag] = (use & ((picks[0] == t) | ((picks[1] == t) & (rng.random(n) < 0.3)))).astype(
                np.int8
            )
    return conform_to_schema(frame, schemas.RATINGS)


_NUMPY_TYPES = {"bigint": "int64", "tinyint": "int8", "double": "float64", "int": "int32"}


def conform_to_schema(frame: pd.DataFrame, schema) -> pd.DataFrame:
    """Columns of `schema` in order; absent ones null, types as the schema says."""
    out = {}
    for field in schema.fields:
        kind = field.dataType.simpleString()
        if field.name in frame:
            col = frame[field.name]
            out[field.name] = col.astype(_NUMPY_TYPES[kind]) if kind in _NUMPY_TYPES else col
        else:
            out[field.name] = pd.Series([None] * len(frame), dtype="object")
    return pd.DataFrame(out)


def to_spark(spark: SparkSession, data: SyntheticData) -> dict[str, DataFrame]:
    """The inputs as Spark DataFrames in the canonical input schemas."""
    return {
        "notes": spark.createDataFrame(data.notes, schema=schemas.NOTES),
        "ratings": spark.createDataFrame(data.ratings, schema=schemas.RATINGS),
        "userEnrollment": spark.createDataFrame(data.user_enrollment, schema=schemas.USER_ENROLLMENT),
    }
