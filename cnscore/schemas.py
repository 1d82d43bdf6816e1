"""Schemas as code: the canonical tables every stage reads and writes.

Input schemas follow the reference's current public layout (shared docs/reference.md §1),
after the reader has dropped the columns scoring never uses (`suggestion`, `suggestionId`).
`validate_schema` is called at stage boundaries.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import types as T

from cnscore.columns import (
    HELPFUL_TAGS_TSV_ORDER,
    MISLEADING_TAGS,
    NOT_HELPFUL_TAGS_TSV_ORDER,
    NOT_MISLEADING_TAGS,
)

STR, LONG, INT, DBL = T.StringType(), T.LongType(), T.IntegerType(), T.DoubleType()
BYTE = T.ByteType()


def _fields(spec: list[tuple[str, T.DataType, bool]]) -> T.StructType:
    return T.StructType([T.StructField(name, dtype, nullable) for name, dtype, nullable in spec])


NOTES = _fields(
    [
        ("noteId", LONG, False),
        ("noteAuthorParticipantId", STR, False),
        ("createdAtMillis", LONG, False),
        ("tweetId", LONG, True),
        ("classification", STR, True),
        ("believable", STR, True),
        ("harmful", STR, True),
        ("validationDifficulty", STR, True),
    ]
    + [(tag, BYTE, True) for tag in MISLEADING_TAGS + NOT_MISLEADING_TAGS]
    + [
        ("trustworthySources", BYTE, True),
        ("summary", STR, True),
        ("isMediaNote", BYTE, True),
        ("isCollaborativeNote", BYTE, True),
    ]
)

RATINGS = _fields(
    [
        ("noteId", LONG, False),
        ("raterParticipantId", STR, False),
        ("createdAtMillis", LONG, False),
        ("version", BYTE, True),
        ("agree", BYTE, True),
        ("disagree", BYTE, True),
        ("helpful", BYTE, True),
        ("notHelpful", BYTE, True),
        ("helpfulnessLevel", STR, True),
    ]
    + [(tag, BYTE, True) for tag in HELPFUL_TAGS_TSV_ORDER + NOT_HELPFUL_TAGS_TSV_ORDER]
    + [("ratedOnTweetId", LONG, True), ("ratingSourceBucketed", STR, True)]
)

NOTE_STATUS_HISTORY = _fields(
    [
        ("noteId", LONG, False),
        ("noteAuthorParticipantId", STR, True),
        ("createdAtMillis", LONG, True),
        ("timestampMillisOfFirstNonNMRStatus", DBL, True),
        ("firstNonNMRStatus", STR, True),
        ("timestampMillisOfCurrentStatus", DBL, True),
        ("currentStatus", STR, True),
        ("timestampMillisOfLatestNonNMRStatus", DBL, True),
        ("mostRecentNonNMRStatus", STR, True),
        ("timestampMillisOfStatusLock", DBL, True),
        ("lockedStatus", STR, True),
        ("timestampMillisOfRetroLock", DBL, True),
        ("currentCoreStatus", STR, True),
        ("currentExpansionStatus", STR, True),
        ("currentGroupStatus", STR, True),
        ("currentDecidedBy", STR, True),
        ("currentModelingGroup", DBL, True),
        ("timestampMillisOfMostRecentStatusChange", DBL, True),
        ("timestampMillisOfNmrDueToMinStableCrhTime", DBL, True),
        ("currentMultiGroupStatus", STR, True),
        ("currentModelingMultiGroup", DBL, True),
        ("timestampMinuteOfFinalScoringOutput", DBL, True),
        ("timestampMillisOfFirstNmrDueToMinStableCrhTime", DBL, True),
        ("abovePcrhThresholdTime", DBL, True),
    ]
)

USER_ENROLLMENT = _fields(
    [
        ("participantId", STR, False),
        ("enrollmentState", STR, False),
        ("successfulRatingNeededToEarnIn", LONG, True),
        ("timestampOfLastStateChange", LONG, True),
        ("timestampOfLastEarnOut", DBL, True),
        ("modelingPopulation", STR, True),
        ("modelingGroup", DBL, True),
        ("numberOfTimesEarnedOut", LONG, True),
    ]
)

# Allowed values of enumerated input columns (an unknown value is bad input).
STATUSES = ("NEEDS_MORE_RATINGS", "CURRENTLY_RATED_HELPFUL", "CURRENTLY_RATED_NOT_HELPFUL")
ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "notes": {"classification": ("MISINFORMED_OR_POTENTIALLY_MISLEADING", "NOT_MISLEADING")},
    "ratings": {
        "helpfulnessLevel": ("NOT_HELPFUL", "SOMEWHAT_HELPFUL", "HELPFUL"),
        "ratingSourceBucketed": ("DEFAULT", "POPULATION_SAMPLED"),
    },
    "noteStatusHistory": {
        name: STATUSES + ("FIRM_REJECT", "NEEDS_YOUR_HELP")
        for name in (
            "firstNonNMRStatus",
            "currentStatus",
            "mostRecentNonNMRStatus",
            "lockedStatus",
            "currentCoreStatus",
            "currentExpansionStatus",
            "currentGroupStatus",
            "currentMultiGroupStatus",
        )
    },
    "userEnrollment": {
        "enrollmentState": (
            "newUser",
            "earnedIn",
            "atRisk",
            "earnedOutNoAcknowledge",
            "earnedOutAcknowledged",
            "removed",
            "apiTestUser",
            "apiEarnedIn",
            "apiEarnedOut",
        ),
        "modelingPopulation": ("CORE", "EXPANSION", "EXPANSION_PLUS"),
    },
}

INPUT_SCHEMAS: dict[str, T.StructType] = {
    "notes": NOTES,
    "ratings": RATINGS,
    "noteStatusHistory": NOTE_STATUS_HISTORY,
    "userEnrollment": USER_ENROLLMENT,
}

QUARANTINE = _fields(
    [
        ("sourceFile", STR, False),
        ("lineNumber", LONG, True),
        ("column", STR, True),
        ("reason", STR, False),
        ("rawLine", STR, True),
    ]
)

ID_MAP = _fields([("entityId", STR, False), ("idx", INT, False)])

# Engine input: ratings on dense ids (the label is helpfulNum).
MF_RATINGS = _fields(
    [("raterIdx", INT, False), ("noteIdx", INT, False), ("helpfulNum", DBL, False)]
)
# Optional engine input column: a weight (>= 0) on the rating's squared error. With it the fit
# minimizes the weighted loss of the normalized-loss refit (§3.9, cnscore.mf.normalized_loss);
# without it every rating weighs 1.
MF_WEIGHT = "ratingWeight"
MF_WEIGHTED_RATINGS = _fields([*((f.name, f.dataType, f.nullable) for f in MF_RATINGS.fields),
                               (MF_WEIGHT, DBL, False)])


class SchemaError(ValueError):
    """A DataFrame does not carry the columns and types a stage requires."""


def validate_schema(df: DataFrame, required: T.StructType, *, where: str) -> None:
    """Check that `df` has every field of `required` with the same type (extra columns allowed).

    Raises:
        SchemaError: naming the stage (`where`), the missing columns and the mismatched types.
    """
    actual = {f.name: f.dataType for f in df.schema.fields}
    missing = [f.name for f in required.fields if f.name not in actual]
    wrong = [
        f"{f.name}: {actual[f.name].simpleString()} (want {f.dataType.simpleString()})"
        for f in required.fields
        if f.name in actual and actual[f.name] != f.dataType
    ]
    if missing or wrong:
        raise SchemaError(f"{where}: missing columns {missing}; wrong types {wrong}")
