"""Tiny explicit input frames in the canonical schemas (only the columns a test cares about)."""

from __future__ import annotations

from cnscore import schemas

MISLEADING = "MISINFORMED_OR_POTENTIALLY_MISLEADING"
MINUTE = 60_000
DAY = 86_400_000
T0 = 1_700_000_000_000


def _rows(schema, values: list[dict]) -> list[tuple]:
    names = schema.fieldNames()
    return [tuple(v.get(n) for n in names) for v in values]


def ratings_df(spark, rows):
    """rows: (noteId, raterParticipantId, createdAtMillis, helpfulnessLevel)."""
    values = [
        {"noteId": n, "raterParticipantId": r, "createdAtMillis": t, "helpfulnessLevel": level}
        for n, r, t, level in rows
    ]
    return spark.createDataFrame(_rows(schemas.RATINGS, values), schemas.RATINGS)


def notes_df(spark, rows):
    """rows: (noteId, noteAuthorParticipantId, createdAtMillis, tweetId, classification)."""
    values = [
        {
            "noteId": n,
            "noteAuthorParticipantId": a,
            "createdAtMillis": t,
            "tweetId": tw,
            "classification": c,
        }
        for n, a, t, tw, c in rows
    ]
    return spark.createDataFrame(_rows(schemas.NOTES, values), schemas.NOTES)
