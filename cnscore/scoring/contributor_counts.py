"""Per-contributor aggregates behind the contributor scores (reference.md §6).

Each function returns one row per participant (rater or author) keyed by `raterParticipantId`.
The orchestration, enrollment state machine and output layout live in `contributor.py`.
Behaviour follows the reference (`contributor_state.py`, `note_ratings.py`,
`explanation_tags.py:get_top_nonhelpful_tags_per_author`,
`run_scoring.py:_compute_past_n_days_stats`).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from cnscore.columns import NOT_HELPFUL_TAG_PRIORITY, NOT_HELPFUL_TAGS_TSV_ORDER
from cnscore.preprocess import HELPFUL_NUM, with_helpful_num
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status import CRH, CRNH, MISLEADING, NMR, NOT_MISLEADING

RATER = "raterParticipantId"
AUTHOR = "noteAuthorParticipantId"
DAY_MILLIS = 24 * 60 * 60 * 1000

RATING_COUNT_COLUMNS = (
    "successfulRatingHelpfulCount",
    "successfulRatingNotHelpfulCount",
    "successfulRatingTotal",
    "unsuccessfulRatingHelpfulCount",
    "unsuccessfulRatingNotHelpfulCount",
    "unsuccessfulRatingTotal",
    "ratingsAwaitingMoreRatings",
    "ratedAfterDecision",
)
NOTE_COUNT_COLUMNS = (
    "notesCurrentlyRatedHelpful",
    "notesCurrentlyRatedNotHelpful",
    "notesAwaitingMoreRatings",
    "aggregateRatingReceivedTotal",
)


def note_status_table(
    scored_notes: DataFrame, nsh: DataFrame, ratings: DataFrame, last28_since: int
) -> DataFrame:
    """One row per scored note: author and creation time (from the history), final status flags,
    core intercept, numRatings and numRatingsLast28 (computed from `ratings` when scored_notes
    lacks them, numRatingsLast28 = ratings created after `last28_since`; the reference takes both
    from its final-scoring note stats)."""
    cols = scored_notes.columns
    sn = scored_notes.select(
        "noteId",
        "finalRatingStatus",
        (F.col("coreNoteIntercept") if "coreNoteIntercept" in cols else F.lit(None))
        .cast("double")
        .alias("coreNoteIntercept"),
        *[F.col(c).cast("long").alias(c) for c in ("numRatings", "numRatingsLast28") if c in cols],
    )
    missing = [c for c in ("numRatings", "numRatingsLast28") if c not in cols]
    if missing:
        per_note = ratings.groupBy("noteId").agg(
            F.count("*").alias("numRatings"),
            F.sum(F.when(F.col("createdAtMillis") > last28_since, 1).otherwise(0))
            .cast("long")
            .alias("numRatingsLast28"),
        )
        sn = sn.join(per_note.select("noteId", *missing), "noteId", "left").fillna(
            0, subset=missing
        )
    final = F.col("finalRatingStatus")
    return sn.join(nsh.select("noteId", AUTHOR, "createdAtMillis"), "noteId", "inner").select(
        "*",
        F.coalesce(final == CRH, F.lit(False)).alias("_crh"),
        F.coalesce(final == CRNH, F.lit(False)).alias("_crnh"),
        F.coalesce(final == NMR, F.lit(False)).alias("_awaiting"),
    )


def contributor_ratings(
    ratings: DataFrame, notes: DataFrame, nsh: DataFrame, cfg: ScoringConfig
) -> DataFrame:
    """The ratings the reference's contributor phase sees (its load-time preprocessing, §1.6).

    Drops unlabeled ratings, ratings on NOT_MISLEADING notes created up to the UI launch, and
    ratings on deleted notes absent from the status history. Exact duplicates are already dropped
    by the reader. Idempotent, so already-preprocessed ratings pass through unchanged.
    """
    if HELPFUL_NUM not in ratings.columns:
        ratings = with_helpful_num(ratings)
    note_info = notes.select(
        "noteId", "classification", F.col("createdAtMillis").alias("_nCreated")
    )
    in_nsh = nsh.select("noteId", F.col("createdAtMillis").alias("_hCreated"))
    r = ratings.where(F.col(HELPFUL_NUM).isNotNull()).join(note_info, "noteId", "left")
    r = r.join(in_nsh, "noteId", "left")
    created = F.coalesce("_hCreated", "_nCreated")
    cls = F.col("classification")
    keep = (
        (cls == MISLEADING)
        | (cls.isNull() & F.col("_hCreated").isNotNull())
        | ((cls == NOT_MISLEADING) & (created > F.lit(cfg.not_misleading_ui_launch_millis)))
    )
    return r.where(keep).drop("classification", "_nCreated", "_hCreated")


def _count(cond: Column) -> Column:
    return F.sum(F.when(cond, 1).otherwise(0)).cast("long")


def rating_counts(
    ratings: DataFrame, nsh: DataFrame, note_status: DataFrame, cfg: ScoringConfig
) -> DataFrame:
    """Valid-rating outcome counts, ratingsAwaitingMoreRatings and ratedAfterDecision per rater.

    A rating is "early" if made within the public-TSV delay of note creation and, for notes created
    since the tombstones launch, before the note's latest non-NMR status; for older notes the first
    `max_historical_valid_ratings` such ratings by time count instead (ties by rater id: the
    reference's order among equal timestamps is its unstable sort's). Valid = early binary rating
    on a note now CRH or CRNH. Rows: raters with at least one early rating (the reference's set).
    """
    notes_info = nsh.select(
        "noteId",
        F.col("createdAtMillis").alias("_noteCreated"),
        F.col("timestampMillisOfLatestNonNMRStatus").alias("_latest"),
    )
    r = ratings.select("noteId", RATER, "createdAtMillis", HELPFUL_NUM).join(
        notes_info, "noteId", "left"
    )
    t = F.col("createdAtMillis")
    before_tsv = (t - F.col("_noteCreated")) < F.lit(cfg.public_tsv_delay_millis)
    old_note = F.col("_noteCreated") < F.lit(cfg.tombstones_launch_millis)
    before_status = F.col("_latest").isNull() | (t < F.col("_latest"))
    old_pool = F.coalesce(old_note & before_tsv, F.lit(False))
    r = r.withColumn("_oldPool", old_pool).withColumn(
        "_rank",
        F.row_number().over(
            Window.partitionBy("noteId", "_oldPool").orderBy("createdAtMillis", RATER)
        ),
    )
    early = F.coalesce(
        (F.col("_oldPool") & (F.col("_rank") <= cfg.max_historical_valid_ratings))
        | (~old_note & before_tsv & before_status),
        F.lit(False),
    )
    status = note_status.select("noteId", "_crh", "_crnh", "_awaiting")
    r = r.withColumn("_early", early).join(status, "noteId", "left")
    scored = F.col("_early") & F.col("_crh").isNotNull()  # early rating on a scored note
    h = F.col(HELPFUL_NUM)
    crh, crnh = scored & F.col("_crh"), scored & F.col("_crnh")
    counts = r.groupBy(RATER).agg(
        _count(scored).alias("_nEarly"),
        _count(crh & (h == 1.0)).alias("successfulRatingHelpfulCount"),
        _count(crnh & (h == 0.0)).alias("successfulRatingNotHelpfulCount"),
        _count((crh & (h == 1.0)) | (crnh & (h == 0.0))).alias("successfulRatingTotal"),
        _count(crh & (h == 0.0)).alias("unsuccessfulRatingHelpfulCount"),
        _count(crnh & (h == 1.0)).alias("unsuccessfulRatingNotHelpfulCount"),
        _count((crh & (h == 0.0)) | (crnh & (h == 1.0))).alias("unsuccessfulRatingTotal"),
        _count(scored & F.col("_awaiting")).alias("ratingsAwaitingMoreRatings"),
        # Any rating (early or not) made after the note's latest non-NMR status.
        _count(F.col("_latest").isNotNull() & (t > F.col("_latest"))).alias("ratedAfterDecision"),
    )
    return counts.where(F.col("_nEarly") > 0).drop("_nEarly")


def _note_sums(suffix: str = "") -> list[Column]:
    return [
        F.sum(F.col("_crh").cast("long")).alias("notesCurrentlyRatedHelpful" + suffix),
        F.sum(F.col("_crnh").cast("long")).alias("notesCurrentlyRatedNotHelpful" + suffix),
        F.sum(F.col("_awaiting").cast("long")).alias("notesAwaitingMoreRatings" + suffix),
    ]


def note_counts(note_status: DataFrame) -> DataFrame:
    """All-time #CRH, #CRNH, #NMR notes and ratings received per author (output columns)."""
    return note_status.groupBy(F.col(AUTHOR).alias(RATER)).agg(
        *_note_sums(),
        F.coalesce(F.sum("numRatings"), F.lit(0))
        .cast("long")
        .alias("aggregateRatingReceivedTotal"),
    )


def last_notes_counts(note_status: DataFrame, last_earn_out: DataFrame, n: int) -> DataFrame:
    """Counts over each author's last `n` notes written after their last earn-out (state machine).

    `last_earn_out` maps raterParticipantId -> _lastEarnOut (authors missing from it use 1).
    Notes with a status (CRH/CRNH) come first, then newest noteId first, so authors are judged on
    their recent decided notes. Columns carry the suffix "Last".
    """
    joined = note_status.join(last_earn_out.withColumnRenamed(RATER, AUTHOR), AUTHOR, "left").where(
        F.col("createdAtMillis") > F.coalesce("_lastEarnOut", F.lit(1.0))
    )
    decided = F.when(F.col("finalRatingStatus").isin(CRH, CRNH), 1).otherwise(0)
    order = Window.partitionBy(AUTHOR).orderBy(decided.desc(), F.col("noteId").desc())
    recent = joined.withColumn("_pos", F.row_number().over(order)).where(F.col("_pos") <= n)
    return recent.groupBy(F.col(AUTHOR).alias(RATER)).agg(*_note_sums("Last"))


def top_not_helpful_tags(ratings: DataFrame, nsh: DataFrame, min_ratings_per_tag: int) -> DataFrame:
    """authorTopNotHelpfulTagValues per author: the two tags most often among their notes' top two.

    A note's top two not-helpful tags come from tags with >= `min_ratings_per_tag` ratings, only if
    it has at least two such tags; ties go to the higher priority. Across an author's notes, tags
    are ranked by how many of the notes' top-two lists hold them (ties: priority) and written as
    TSV indices, best first ("7,2"). Authors without any such tag get null (the reference writes
    an empty string; both serialise as an empty TSV field).
    """
    sums = ratings.groupBy("noteId").agg(
        *[
            F.sum(F.coalesce(F.col(t).cast("long"), F.lit(0))).alias(t)
            for t in NOT_HELPFUL_TAG_PRIORITY
        ]
    )
    tag_rows = F.explode(
        F.array(
            *[
                F.struct(
                    F.lit(t).alias("tag"),
                    F.lit(NOT_HELPFUL_TAGS_TSV_ORDER.index(t)).alias("tsvIndex"),
                    F.lit(p).alias("priority"),
                    F.col(t).alias("cnt"),
                )
                for t, p in NOT_HELPFUL_TAG_PRIORITY.items()
            ]
        )
    )
    long = sums.select("noteId", tag_rows.alias("x")).select("noteId", "x.*")
    long = long.where(F.col("cnt") >= min_ratings_per_tag)
    per_note = Window.partitionBy("noteId")
    ranked = long.withColumn("_nTags", F.count("*").over(per_note)).withColumn(
        "_rank",
        F.row_number().over(per_note.orderBy(F.col("cnt").desc(), F.col("priority").desc())),
    )
    note_top = ranked.where((F.col("_nTags") >= 2) & (F.col("_rank") <= 2))
    by_author = (
        note_top.join(nsh.select("noteId", AUTHOR), "noteId", "inner")
        .groupBy(AUTHOR, "tsvIndex", "priority")
        .agg(F.count("*").alias("_n"))
    )
    author_rank = Window.partitionBy(AUTHOR).orderBy(F.col("_n").desc(), F.col("priority").desc())
    top = by_author.withColumn("_rank", F.row_number().over(author_rank)).where(F.col("_rank") <= 2)
    return top.groupBy(F.col(AUTHOR).alias(RATER)).agg(
        F.concat_ws(
            ",",
            F.transform(
                F.array_sort(F.collect_list(F.struct("_rank", "tsvIndex"))),
                lambda s: s["tsvIndex"].cast("string"),
            ),
        ).alias("authorTopNotHelpfulTagValues")
    )


def emerging_writers(
    note_status: DataFrame, min_mean_score: float, min_recent_ratings: int
) -> DataFrame:
    """isEmergingWriter per author: mean core intercept over all their notes (unscored notes count
    as 0, as the reference's NaN-skipping sum does) > `min_mean_score` and >= `min_recent_ratings`
    ratings received in the last 28 days."""
    agg = note_status.groupBy(F.col(AUTHOR).alias(RATER)).agg(
        (F.coalesce(F.sum("coreNoteIntercept"), F.lit(0.0)) / F.count("*")).alias("_mean"),
        F.coalesce(F.sum("numRatingsLast28"), F.lit(0)).alias("_recent"),
    )
    emerging = (F.col("_mean") > min_mean_score) & (F.col("_recent") >= min_recent_ratings)
    return agg.select(RATER, emerging.alias("isEmergingWriter"))


def recent_note_stats(
    ratings: DataFrame, nsh: DataFrame, days: int, min_ratings: int | None, prefix_days: str
) -> DataFrame:
    """#CRH/#CRNH/#NMR current statuses per author among notes created within `days` of the newest
    note in the history (strictly after the cutoff). With `min_ratings`, only notes with a rating
    and either a CRH/CRNH status or >= `min_ratings` ratings count."""
    cutoff = nsh.agg(F.max("createdAtMillis").alias("_max")).select(
        (F.col("_max") - F.lit(days * DAY_MILLIS)).alias("_cutoff")
    )
    recent = nsh.crossJoin(F.broadcast(cutoff)).where(F.col("createdAtMillis") > F.col("_cutoff"))
    status = F.col("currentStatus")
    if min_ratings is not None:
        per_note = ratings.groupBy("noteId").agg(F.count("*").alias("_nRatings"))
        recent = recent.join(per_note, "noteId", "inner").where(
            (F.col("_nRatings") >= min_ratings) | status.isin(CRH, CRNH)
        )
    return recent.groupBy(F.col(AUTHOR).alias(RATER)).agg(
        _count(status == CRH).alias(f"crhTotal{prefix_days}"),
        _count(status == CRNH).alias(f"crnhTotal{prefix_days}"),
        _count(status == NMR).alias(f"nmrTotal{prefix_days}"),
    )
