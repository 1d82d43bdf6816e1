"""The reference's four output TSVs: exact columns, order, types, and a conformer.

Column lists and order come from the reference's `constants.py` at 273c895
(`noteModelOutputTSVColumnsAndTypes` 99, `raterModelOutputTSVColumnsAndTypes` 47,
`noteStatusHistoryTSVColumnsAndTypes` 24, `auxiliaryScoredNotesTSVColumnsAndTypes` 72).

Each column carries two types:
- `declared`: the dtype the reference's constants list (documentation only). It is often not
  what the file holds: pandas merges turn int columns into floats, torch gives float32, etc.
- `written`: what the reference's files actually hold, read off the golden outputs
  (shared/data/golden, both sets and both seeds); columns empty in all of them fall back to
  the declared dtype. One value of: int (written "12"), float64 (repr of a double, "13.0",
  "0.48788750171661377"), float32 (shortest float32 repr, "0.49497256"), bool ("True"/"False"),
  str. The Spark type of each column follows `written` (bigint, double, float, boolean, string),
  so `jobs._reference_tsv.write_reference_tsv` formats a conformed frame like the reference.

Known data-dependent exception: helpfulness_scores.ratingsAwaitingMoreRatings is int in
synthetic-30k but float ("80.0", with empties) in birdwatch-2021-03 (pandas turned it float
there after a merge with missing raters). We follow synthetic-30k, the full strict-columns run.
The birdwatch-2021-03 helpfulness_scores.tsv also lacks the 3 multiGroup columns and is in
another order (the reference's --nostrict-columns run): compare it by column name.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

SPARK_TYPES = {
    "int": T.LongType(),
    "float64": T.DoubleType(),
    "float32": T.FloatType(),
    "bool": T.BooleanType(),
    "str": T.StringType(),
}


@dataclass(frozen=True)
class RefColumn:
    """One output column: name, written format (see module doc) and the declared dtype."""

    name: str
    written: str
    declared: str

    @property
    def spark_type(self) -> T.DataType:
        """The Spark type that makes the writer reproduce the reference's text."""
        return SPARK_TYPES[self.written]


def _table(text: str) -> tuple[RefColumn, ...]:
    """Parse "name written [declared]" lines (declared defaults to written)."""
    columns = []
    for line in text.strip().splitlines():
        name, written, *declared = line.split()
        if written not in SPARK_TYPES:
            raise ValueError(f"unknown written type {written!r} for {name}")
        columns.append(RefColumn(name, written, declared[0] if declared else written))
    return tuple(columns)


SCORED_NOTES = _table(
    """
    noteId int
    coreNoteIntercept float32 float64
    coreNoteFactor1 float32 float64
    finalRatingStatus str category
    firstTag str category
    secondTag str category
    coreActiveRules str category
    activeFilterTags str category
    classification str category
    createdAtMillis int
    coreRatingStatus str category
    metaScorerActiveRules str category
    decidedBy str category
    expansionNoteIntercept float32 float64
    expansionNoteFactor1 float32 float64
    expansionRatingStatus str category
    coverageNoteIntercept float32 float64
    coverageNoteFactor1 float32 float64
    coverageRatingStatus str category
    coreNoteInterceptMin float32 float64
    coreNoteInterceptMax float32 float64
    expansionNoteInterceptMin str category
    expansionNoteInterceptMax str category
    coverageNoteInterceptMin str category
    coverageNoteInterceptMax str category
    groupNoteIntercept float64
    groupNoteFactor1 float64
    groupRatingStatus str category
    groupNoteInterceptMax str category
    groupNoteInterceptMin str category
    modelingGroup float64
    numRatings int
    timestampMillisOfCurrentStatus float64
    expansionPlusNoteIntercept float32 float64
    expansionPlusNoteFactor1 float32 float64
    expansionPlusRatingStatus str category
    topicNoteIntercept float64
    topicNoteFactor1 float64
    topicRatingStatus str category
    noteTopic str category
    topicNoteConfident bool boolean
    expansionActiveRules str category
    expansionPlusActiveRules str category
    groupActiveRules str category
    topicActiveRules str category
    coreNumFinalRoundRatings float64
    expansionNumFinalRoundRatings float64
    expansionPlusNumFinalRoundRatings float64
    groupNumFinalRoundRatings float64
    topicNumFinalRoundRatings float64
    rescoringActiveRules str category
    multiGroupNoteIntercept float64
    multiGroupNoteFactor1 float64
    multiGroupRatingStatus str
    modelingMultiGroup float64
    multiGroupActiveRules str
    multiGroupNumFinalRoundRatings float64
    coreWithTopicsNoteFactor1 float32 float64
    coreWithTopicsNoteIntercept float32 float64
    coreWithTopicsRatingStatus str category
    coreWithTopicsActiveRules str category
    coreWithTopicsNumFinalRoundRatings float64
    coreWithTopicsNoteInterceptMin float32 float64
    coreWithTopicsNoteInterceptMax float32 float64
    timestampMillisOfNmrDueToMinStableCrhTime float64
    coreNoteInterceptNoHighVol float32 category
    coreWithTopicsNoteInterceptNoHighVol float32 category
    expansionNoteInterceptNoHighVol float32 category
    expansionPlusNoteInterceptNoHighVol float32 category
    groupNoteInterceptNoHighVol float64 category
    multiGroupNoteInterceptNoHighVol float64 category
    topicNoteInterceptNoHighVol float64 category
    coreNoteInterceptNoCorrelated float32 category
    coreNoteInterceptPopulationSampled float32 float64
    coreWithTopicsNoteInterceptNoCorrelated float32 category
    expansionNoteInterceptNoCorrelated float32 category
    expansionPlusNoteInterceptNoCorrelated float32 category
    groupNoteInterceptNoCorrelated float64 category
    multiGroupNoteInterceptNoCorrelated float64 category
    topicNoteInterceptNoCorrelated float64 category
    gaussianNoteIntercept float32 float64
    gaussianNoteFactor1 float32 float64
    gaussianRatingStatus str category
    gaussianActiveRules str category
    gaussianNoteInterceptNoCorrelated float32 float64
    gaussianNoteInterceptNoHighVol float32 float64
    gaussianNoteInterceptPopulationSampled float32 float64
    gaussianNumFinalRoundRatings float64
    timestampMinuteOfFinalScoringOutput float64
    gaussianCoreWithTopicsNoteIntercept float32 float64
    gaussianCoreWithTopicsNoteFactor1 float32 float64
    gaussianCoreWithTopicsRatingStatus str category
    gaussianCoreWithTopicsActiveRules str category
    gaussianCoreWithTopicsNoteInterceptNoHighVol float32 float64
    gaussianCoreWithTopicsNoteInterceptNoCorrelated float32 float64
    gaussianCoreWithTopicsNoteInterceptPopulationSampled float32 float64
    gaussianCoreWithTopicsNumFinalRoundRatings float64
    abovePcrhThresholdTime float64
    pflipProba float64
    """
)

HELPFULNESS_SCORES = _table(
    """
    raterParticipantId str int64
    coreRaterIntercept float32 float64
    coreRaterFactor1 float32 float64
    crhCrnhRatioDifference float64
    meanNoteScore float64
    raterAgreeRatio float64
    successfulRatingHelpfulCount float64 Int64
    successfulRatingNotHelpfulCount float64 Int64
    successfulRatingTotal float64 Int64
    unsuccessfulRatingHelpfulCount float64 Int64
    unsuccessfulRatingNotHelpfulCount float64 Int64
    unsuccessfulRatingTotal float64 Int64
    ratingsAwaitingMoreRatings int Int64
    ratedAfterDecision float64 Int64
    notesCurrentlyRatedHelpful float64 Int64
    notesCurrentlyRatedNotHelpful float64 Int64
    notesAwaitingMoreRatings float64 Int64
    enrollmentState int Int64
    successfulRatingNeededToEarnIn int Int64
    authorTopNotHelpfulTagValues str
    timestampOfLastStateChange int float64
    aboveHelpfulnessThreshold bool float64
    isEmergingWriter bool boolean
    aggregateRatingReceivedTotal float64 Int64
    timestampOfLastEarnOut float64
    groupRaterIntercept float64
    groupRaterFactor1 float64
    modelingGroup float64
    raterHelpfulnessReputation float32 float64
    numberOfTimesEarnedOut int float64
    expansionRaterIntercept float32 float64
    expansionRaterFactor1 float32 float64
    expansionPlusRaterIntercept float32 float64
    expansionPlusRaterFactor1 float32 float64
    multiGroupRaterIntercept float64
    multiGroupRaterFactor1 float64
    modelingMultiGroup float64
    coreWithTopicsRaterIntercept float32 float64
    coreWithTopicsRaterFactor1 float32 float64
    coreFirstRoundRaterIntercept float32 float64
    coreFirstRoundRaterFactor1 float32 float64
    crhTotal14d int Int64
    crnhTotal14d int Int64
    nmrTotal14d int Int64
    crhTotal90d int Int64
    crnhTotal90d int Int64
    nmrTotal90d int Int64
    """
)

NOTE_STATUS_HISTORY = _table(
    """
    noteId int
    noteAuthorParticipantId str string
    createdAtMillis int
    timestampMillisOfFirstNonNMRStatus float64
    firstNonNMRStatus str category
    timestampMillisOfCurrentStatus float64
    currentStatus str category
    timestampMillisOfLatestNonNMRStatus float64
    mostRecentNonNMRStatus str category
    timestampMillisOfStatusLock float64
    lockedStatus str category
    timestampMillisOfRetroLock float64
    currentCoreStatus str category
    currentExpansionStatus str category
    currentGroupStatus str category
    currentDecidedBy str category
    currentModelingGroup float64
    timestampMillisOfMostRecentStatusChange float64
    timestampMillisOfNmrDueToMinStableCrhTime float64
    currentMultiGroupStatus str category
    currentModelingMultiGroup float64
    timestampMinuteOfFinalScoringOutput float64
    timestampMillisOfFirstNmrDueToMinStableCrhTime float64
    abovePcrhThresholdTime float64
    """
)

AUX_NOTE_INFO = _table(
    """
    noteId int
    ratingWeight float32 float64
    createdAtMillis int
    noteAuthorParticipantId str object
    awaitingBool bool int8
    numRatingsLast28 int
    numPopulationSampledRatings int
    currentStatus str
    crhBool bool int8
    crnhBool bool int8
    unlockedRatingStatus str
    preStabilizationRatingStatus str
    helpfulOther int Int64
    helpfulInformative int Int64
    helpfulClear int Int64
    helpfulEmpathetic int Int64
    helpfulGoodSources int Int64
    helpfulUniqueContext int Int64
    helpfulAddressesClaim int Int64
    helpfulImportantContext int Int64
    helpfulUnbiasedLanguage int Int64
    notHelpfulOther int Int64
    notHelpfulIncorrect int Int64
    notHelpfulSourcesMissingOrUnreliable int Int64
    notHelpfulOpinionSpeculationOrBias int Int64
    notHelpfulMissingKeyPoints int Int64
    notHelpfulOutdated int Int64
    notHelpfulHardToUnderstand int Int64
    notHelpfulArgumentativeOrBiased int Int64
    notHelpfulOffTopic int Int64
    notHelpfulSpamHarassmentOrAbuse int Int64
    notHelpfulIrrelevantSources int Int64
    notHelpfulOpinionSpeculation int Int64
    notHelpfulNoteNotNeeded int Int64
    notHelpfulOtherAdjusted float32 float64
    notHelpfulIncorrectAdjusted float32 float64
    notHelpfulSourcesMissingOrUnreliableAdjusted float32 float64
    notHelpfulOpinionSpeculationOrBiasAdjusted float32 float64
    notHelpfulMissingKeyPointsAdjusted float32 float64
    notHelpfulOutdatedAdjusted float32 float64
    notHelpfulHardToUnderstandAdjusted float32 float64
    notHelpfulArgumentativeOrBiasedAdjusted float32 float64
    notHelpfulOffTopicAdjusted float32 float64
    notHelpfulSpamHarassmentOrAbuseAdjusted float32 float64
    notHelpfulIrrelevantSourcesAdjusted float32 float64
    notHelpfulOpinionSpeculationAdjusted float32 float64
    notHelpfulNoteNotNeededAdjusted float32 float64
    notHelpfulOtherAdjustedRatio float32 float64
    notHelpfulIncorrectAdjustedRatio float32 float64
    notHelpfulSourcesMissingOrUnreliableAdjustedRatio float32 float64
    notHelpfulOpinionSpeculationOrBiasAdjustedRatio float32 float64
    notHelpfulMissingKeyPointsAdjustedRatio float32 float64
    notHelpfulOutdatedAdjustedRatio float32 float64
    notHelpfulHardToUnderstandAdjustedRatio float32 float64
    notHelpfulArgumentativeOrBiasedAdjustedRatio float32 float64
    notHelpfulOffTopicAdjustedRatio float32 float64
    notHelpfulSpamHarassmentOrAbuseAdjustedRatio float32 float64
    notHelpfulIrrelevantSourcesAdjustedRatio float32 float64
    notHelpfulOpinionSpeculationAdjustedRatio float32 float64
    notHelpfulNoteNotNeededAdjustedRatio float32 float64
    notHelpfulIncorrect_interval int float64
    p_incorrect_user_interval float64
    num_voters_interval float64
    tf_idf_incorrect_interval float64
    lowDiligenceIntercept float32 float64
    coreNegFactor_populationSampledRatingCount int
    corePosFactor_populationSampledRatingCount int
    pcrhExitN float64
    pcrhExitProba float64
    pcrhRevoked bool boolean
    pcrhRevokeN float64
    pcrhFinalPred bool boolean
    """
)

TABLES: dict[str, tuple[RefColumn, ...]] = {
    "scored_notes": SCORED_NOTES,
    "helpfulness_scores": HELPFULNESS_SCORES,
    "note_status_history": NOTE_STATUS_HISTORY,
    "aux_note_info": AUX_NOTE_INFO,
}
EXPECTED_WIDTHS = {
    "scored_notes": 99, "helpfulness_scores": 47, "note_status_history": 24, "aux_note_info": 72
}
for _kind, _cols in TABLES.items():
    assert len(_cols) == EXPECTED_WIDTHS[_kind], (_kind, len(_cols))
    assert len({c.name for c in _cols}) == len(_cols), _kind


class UnknownColumnsError(ValueError):
    """The frame has columns that the reference's output does not have."""


def reference_columns(kind: str) -> list[str]:
    """Column names of one output, in the reference's order."""
    return [c.name for c in _table_of(kind)]


def reference_schema(kind: str) -> T.StructType:
    """The Spark schema of a conformed output (every column nullable)."""
    return T.StructType([T.StructField(c.name, c.spark_type, True) for c in _table_of(kind)])


def conform_reference(df: DataFrame, kind: str, *, drop_extra: bool = False) -> DataFrame:
    """Reshape `df` into output `kind`: exact columns, order and types.

    Missing columns are added as typed nulls; present ones are cast to the reference type
    (so e.g. a double intercept becomes float32, as the reference writes it).

    Args:
        df: any frame holding some of the output's columns (names are matched exactly).
        kind: "scored_notes", "helpfulness_scores", "note_status_history" or "aux_note_info".
        drop_extra: drop columns the output does not have instead of raising.

    Raises:
        ValueError: unknown `kind`.
        UnknownColumnsError: `df` has columns outside the output and drop_extra is False.
    """
    table = _table_of(kind)
    names = {c.name for c in table}
    extra = [c for c in df.columns if c not in names]
    if extra and not drop_extra:
        raise UnknownColumnsError(
            f"{kind}: {len(extra)} column(s) not in the reference output: {extra}; "
            "rename them, or pass drop_extra=True to drop them"
        )
    present = set(df.columns)
    return df.select(
        *[
            (F.col(f"`{c.name}`") if c.name in present else F.lit(None))
            .cast(c.spark_type)
            .alias(c.name)
            for c in table
        ]
    )


def _table_of(kind: str) -> tuple[RefColumn, ...]:
    try:
        return TABLES[kind]
    except KeyError:
        raise ValueError(
            f"unknown reference output {kind!r}; expected one of {sorted(TABLES)}"
        ) from None
