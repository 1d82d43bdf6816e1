"""Column names, grouped by table.

We keep the reference scorer's camelCase spellings as our canonical names: they are what
users of the reference already know, and the output tables and TSVs must carry them anyway.
Only `cnscore.io.tsv` knows older or alternative header spellings.
"""

from __future__ import annotations

HELPFUL_TAGS_TSV_ORDER = (
    "helpfulOther",
    "helpfulInformative",
    "helpfulClear",
    "helpfulEmpathetic",
    "helpfulGoodSources",
    "helpfulUniqueContext",
    "helpfulAddressesClaim",
    "helpfulImportantContext",
    "helpfulUnbiasedLanguage",
)
# Frozen order: downstream consumers index not-helpful tags by position.
NOT_HELPFUL_TAGS_TSV_ORDER = (
    "notHelpfulOther",
    "notHelpfulIncorrect",
    "notHelpfulSourcesMissingOrUnreliable",
    "notHelpfulOpinionSpeculationOrBias",
    "notHelpfulMissingKeyPoints",
    "notHelpfulOutdated",
    "notHelpfulHardToUnderstand",
    "notHelpfulArgumentativeOrBiased",
    "notHelpfulOffTopic",
    "notHelpfulSpamHarassmentOrAbuse",
    "notHelpfulIrrelevantSources",
    "notHelpfulOpinionSpeculation",
    "notHelpfulNoteNotNeeded",
)
MISLEADING_TAGS = (
    "misleadingOther",
    "misleadingFactualError",
    "misleadingManipulatedMedia",
    "misleadingOutdatedInformation",
    "misleadingMissingImportantContext",
    "misleadingUnverifiedClaimAsFact",
    "misleadingSatire",
)
NOT_MISLEADING_TAGS = (
    "notMisleadingOther",
    "notMisleadingFactuallyCorrect",
    "notMisleadingOutdatedButNotWhenWritten",
    "notMisleadingClearlySatire",
    "notMisleadingPersonalOpinion",
)


# Tie-break priority of each tag: the higher number wins a tie on count (reference §1.7).
HELPFUL_TAG_PRIORITY = {
    "helpfulOther": 0,
    "helpfulInformative": 8,
    "helpfulClear": 7,
    "helpfulEmpathetic": 3,
    "helpfulGoodSources": 4,
    "helpfulUniqueContext": 2,
    "helpfulAddressesClaim": 5,
    "helpfulImportantContext": 6,
    "helpfulUnbiasedLanguage": 1,
}
NOT_HELPFUL_TAG_PRIORITY = {
    "notHelpfulOther": 0,
    "notHelpfulIncorrect": 8,
    "notHelpfulSourcesMissingOrUnreliable": 2,
    "notHelpfulOpinionSpeculationOrBias": 4,
    "notHelpfulMissingKeyPoints": 5,
    "notHelpfulOutdated": 12,
    "notHelpfulHardToUnderstand": 10,
    "notHelpfulArgumentativeOrBiased": 7,
    "notHelpfulOffTopic": 9,
    "notHelpfulSpamHarassmentOrAbuse": 11,
    "notHelpfulIrrelevantSources": 1,
    "notHelpfulOpinionSpeculation": 3,
    "notHelpfulNoteNotNeeded": 6,
}


class NoteCols:
    NOTE_ID = "noteId"
    AUTHOR_ID = "noteAuthorParticipantId"
    CREATED_AT = "createdAtMillis"
    TWEET_ID = "tweetId"
    CLASSIFICATION = "classification"
    SUMMARY = "summary"


class RatingCols:
    NOTE_ID = "noteId"
    RATER_ID = "raterParticipantId"
    CREATED_AT = "createdAtMillis"
    VERSION = "version"
    HELPFUL = "helpful"
    NOT_HELPFUL = "notHelpful"
    HELPFULNESS_LEVEL = "helpfulnessLevel"
    RATED_ON_TWEET_ID = "ratedOnTweetId"
    RATING_SOURCE = "ratingSourceBucketed"
    HELPFUL_NUM = "helpfulNum"


class StatusHistoryCols:
    NOTE_ID = "noteId"
    AUTHOR_ID = "noteAuthorParticipantId"
    CREATED_AT = "createdAtMillis"
    CURRENT_STATUS = "currentStatus"


class EnrollmentCols:
    PARTICIPANT_ID = "participantId"
    ENROLLMENT_STATE = "enrollmentState"
    MODELING_POPULATION = "modelingPopulation"
    MODELING_GROUP = "modelingGroup"


class QuarantineCols:
    SOURCE_FILE = "sourceFile"
    LINE_NUMBER = "lineNumber"
    COLUMN = "column"
    REASON = "reason"
    RAW_LINE = "rawLine"


class IdMapCols:
    """Dense-id mapping tables (one for participants, one for notes)."""

    ENTITY_ID = "entityId"  # the public id, as a string
    INDEX = "idx"  # dense 0-based integer


class ParamCols:
    """MF parameter tables (dense-index keyed inside the engine, public ids on output)."""

    NOTE_IDX = "noteIdx"
    RATER_IDX = "raterIdx"
    LABEL = "helpfulNum"
    INTERCEPT = "intercept"
    FACTOR_PREFIX = "factor"  # factor1 .. factorK
    NUM_RATINGS = "numRatings"
    NOTE_INTERCEPT = "internalNoteIntercept"
    NOTE_FACTOR_PREFIX = "internalNoteFactor"
    RATER_INTERCEPT = "internalRaterIntercept"
    RATER_FACTOR_PREFIX = "internalRaterFactor"
    GLOBAL_INTERCEPT = "globalIntercept"
    QUALITY_SENSITIVITY = "qualitySensitivity"  # QS-MF's gamma per rater


def factor_cols(prefix: str, num_factors: int) -> list[str]:
    """Names of the k factor columns: prefix1 .. prefixK (the reference's 1-based naming)."""
    return [f"{prefix}{i}" for i in range(1, num_factors + 1)]
