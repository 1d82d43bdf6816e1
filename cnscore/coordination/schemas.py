"""Column names and output schemas of the coordination stage (one place, like cnscore.schemas).

Tables (all keyed by public participant ids, strings):

- rater_flags: one row per participant seen (every rater, plus note authors who joined a
  post-selection group): isHighVolume, postSelectionGroupId (null: none), quasiCliqueId
  (null: none; the smallest id when the greedy growth put a rater in two quasi-cliques).
- coordination_pairs: one row per link: an (author, rater) affinity link or a co-rating
  link, the unordered pair as (leftParticipantId < rightParticipantId), the rule, the
  thresholds it passed (linkCriteria) and every score of that rule (the other rule's
  columns are null).
- coordination_groups: postSelectionGroupId, member, groupSize (connected components).
- quasi_cliques: quasiCliqueId, member, numRaters, numPosts (one row per membership).
- coordination_summary: metric, count, value (counts per rule and criterion; high-volume
  thresholds in `value`).
"""

from __future__ import annotations

from pyspark.sql import types as T

STR, LONG, INT, DBL, BOOL = (
    T.StringType(),
    T.LongType(),
    T.IntegerType(),
    T.DoubleType(),
    T.BooleanType(),
)
LATENCY_MINUTES = (1, 5, 20)  # the reference's latency windows (fixed: they name columns)


class CoordCols:
    PARTICIPANT = "raterParticipantId"
    AUTHOR = "noteAuthorParticipantId"
    IS_HIGH_VOLUME = "isHighVolume"
    GROUP_ID = "postSelectionGroupId"
    CLIQUE_ID = "quasiCliqueId"
    LEFT = "leftParticipantId"
    RIGHT = "rightParticipantId"
    RULE = "linkRule"
    CRITERIA = "linkCriteria"
    WRITER_TOTAL = "writerTotal"
    CO_RATINGS = "coRatings"
    LEFT_TOTAL = "leftTotal"
    RIGHT_TOTAL = "rightTotal"
    NUM_RATER_POSTS = "numRaterPosts"  # N: distinct (post, rater) pairs
    NPMI = "npmi"
    MIN_SIM = "minSim"
    GROUP_SIZE = "groupSize"
    NUM_RATERS = "numRaters"
    NUM_POSTS = "numPosts"
    METRIC = "metric"
    COUNT = "count"
    VALUE = "value"
    CORRELATED = "correlatedRater"  # added to ratings by apply_post_selection
    HIGH_VOLUME_RATING = "highVolumeRater"  # added to ratings by with_high_volume_flag


class Rules:
    AFFINITY = "authorAffinity"
    CORATING = "coRating"


def raters_total(minutes: int) -> str:
    return f"raterTotal{minutes}m"


def pair_total(minutes: int) -> str:
    return f"pairTotal{minutes}m"


def rater_affinity(minutes: int) -> str:
    return f"raterAffinity{minutes}m"


def writer_coverage(minutes: int) -> str:
    return f"writerCoverage{minutes}m"


def _fields(spec: list[tuple[str, T.DataType, bool]]) -> T.StructType:
    return T.StructType([T.StructField(n, t, nullable) for n, t, nullable in spec])


C = CoordCols
AFFINITY_SCORE_FIELDS: list[tuple[str, T.DataType, bool]] = [(C.WRITER_TOTAL, LONG, True)]
for _m in LATENCY_MINUTES:
    AFFINITY_SCORE_FIELDS += [
        (raters_total(_m), LONG, True),
        (pair_total(_m), LONG, True),
        (rater_affinity(_m), DBL, True),
        (writer_coverage(_m), DBL, True),
    ]
CORATING_SCORE_FIELDS: list[tuple[str, T.DataType, bool]] = [
    (C.CO_RATINGS, LONG, True),
    (C.LEFT_TOTAL, LONG, True),
    (C.RIGHT_TOTAL, LONG, True),
    (C.NUM_RATER_POSTS, LONG, True),
    (C.NPMI, DBL, True),
    (C.MIN_SIM, DBL, True),
]

PAIRS = _fields(
    [
        (C.LEFT, STR, False),
        (C.RIGHT, STR, False),
        (C.RULE, STR, False),
        (C.CRITERIA, T.ArrayType(STR, False), False),
        (C.AUTHOR, STR, True),  # affinity links: the direction author -> rater
        (C.PARTICIPANT, STR, True),
        *AFFINITY_SCORE_FIELDS,
        *CORATING_SCORE_FIELDS,
    ]
)
RATER_FLAGS = _fields(
    [
        (C.PARTICIPANT, STR, False),
        (C.IS_HIGH_VOLUME, BOOL, False),
        (C.GROUP_ID, INT, True),
        (C.CLIQUE_ID, INT, True),
    ]
)
GROUPS = _fields(
    [(C.GROUP_ID, INT, False), (C.PARTICIPANT, STR, False), (C.GROUP_SIZE, INT, False)]
)
QUASI_CLIQUES = _fields(
    [
        (C.CLIQUE_ID, INT, False),
        (C.PARTICIPANT, STR, False),
        (C.NUM_RATERS, INT, False),
        (C.NUM_POSTS, INT, False),
    ]
)
SUMMARY = _fields([(C.METRIC, STR, False), (C.COUNT, LONG, False), (C.VALUE, DBL, True)])
