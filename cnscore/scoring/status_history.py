"""Note status history update: locking, first/latest non-NMR status (reference.md §4.13, §4.15).

The note status history (NSH) is the state carried from one scoring run to the next. After final
scoring, each note's row takes the new statuses; a note older than `lock_after_millis` decided by a
trusted ("lockable") rule gets its status locked for good; notes created since the tombstones launch
record their first and most recent non-NMR status.

Behaviour follows the reference (`note_status_history.py:_update_single_note_status_history`),
written as column expressions over one join instead of a per-row function.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.schemas import NOTE_STATUS_HISTORY
from cnscore.scoring.settings import ScoringConfig

NMR = "NEEDS_MORE_RATINGS"

# Meta-scoring rules whose decision may be locked (reference `RuleID` entries with
# lockingEnabled=True), spelled as they appear in `decidedBy`: "<name> (v<version>)".
# Experimental or transient deciders (ExpansionPlusModel, TopicModelNN, ScoringDriftGuard,
# NmrDueToMinStableCrhTime, MetaInitialNMR, PopulationSampledIntercept) are left out so that a
# note never locks to a status only they produced.
LOCKABLE_RULES: tuple[str, ...] = (
    "ExpansionModel (v1.1)",
    "CoreModel (v1.1)",
    "CoreWithTopicsModel (v1.1)",
    *(f"GroupModel{i:02d} (v1.1)" for i in range(1, 16)),
    "GroupModel15NMR (v1.1)",
    "GroupModel18 (v1.1)",
    "GroupModel18NMR (v1.1)",
    "GroupModel33 (v1.1)",
    "GroupModel33NMR (v1.1)",
    "MultiGroupModel01 (v1.0)",
    "InsufficientExplanation (v1.0)",
    "GaussianModel (v1.0)",
    "GaussianCoreWithTopicsModel (v1.0)",
)

NSH_COLUMNS: tuple[str, ...] = tuple(f.name for f in NOTE_STATUS_HISTORY.fields)

# scored_notes columns read here; the stabilisation column holds the value the meta rule
# NmrDueToMinStableCrhTime computed this run (null = no update).
_SCORED_COLUMNS = {
    "finalRatingStatus": "string",
    "decidedBy": "string",
    "coreRatingStatus": "string",
    "expansionRatingStatus": "string",
    "groupRatingStatus": "string",
    "multiGroupRatingStatus": "string",
    "modelingGroup": "double",
    "modelingMultiGroup": "double",
    "timestampMillisOfNmrDueToMinStableCrhTime": "double",
    "abovePcrhThresholdTime": "double",
}


def merge_note_info(old_nsh: DataFrame, notes: DataFrame) -> DataFrame:
    """Outer-join `notes` into the status history so new notes get a row (`merge_note_info`).

    Deleted notes (in the history, absent from `notes`) keep their row. A row without
    createdAtMillis takes createdAtMillis and author from `notes`. Adds `classification`
    (null for deleted notes). Idempotent: merging an already-merged history changes nothing.
    """
    nsh = old_nsh.drop("classification") if "classification" in old_nsh.columns else old_nsh
    note_info = notes.select(
        "noteId",
        F.col("createdAtMillis").alias("_n_created"),
        F.col("noteAuthorParticipantId").alias("_n_author"),
        "classification",
    )
    merged = nsh.join(note_info, "noteId", "full_outer")
    is_new = F.col("createdAtMillis").isNull()
    from_notes = {"createdAtMillis": "_n_created", "noteAuthorParticipantId": "_n_author"}
    cols = [
        F.when(is_new, F.col(from_notes[c])).otherwise(F.col(c)).alias(c)
        if c in from_notes
        else F.col(c)
        for c in NSH_COLUMNS
    ]
    return merged.select(*cols, "classification")


def _scored_col(scored: DataFrame, name: str) -> Column:
    """A scored_notes column under a private name, null-typed if the caller did not supply it."""
    if name in scored.columns:
        return F.col(name).cast(_SCORED_COLUMNS[name]).alias("_s_" + name)
    return F.lit(None).cast(_SCORED_COLUMNS[name]).alias("_s_" + name)


def update_status_history(
    old_nsh: DataFrame,
    scored_notes: DataFrame,
    notes: DataFrame,
    epoch_millis: int,
    cfg: ScoringConfig | None = None,
) -> DataFrame:
    """The new note status history after a scoring run (reference.md §4.13, §4.15).

    Args:
        old_nsh: the previous history (`schemas.NOTE_STATUS_HISTORY`; merged or not with notes).
        scored_notes: one row per note of the history with noteId, finalRatingStatus (never null),
            decidedBy, core/expansion/group/multiGroupRatingStatus, modelingGroup,
            modelingMultiGroup, timestampMillisOfNmrDueToMinStableCrhTime (this run's
            stabilisation update, null = none) and abovePcrhThresholdTime (final value after
            pCRH suppression; copied as is); missing optional columns count as null. Notes
            absent from scored_notes are dropped (the reference asserts every note is scored).
        notes: the notes table, merged in so new notes carry createdAtMillis and author.
        epoch_millis: "now" for every timestamp written.
        cfg: thresholds (lock_after_millis, tombstones_launch_millis).

    Returns:
        The 24 columns of `schemas.NOTE_STATUS_HISTORY`, one row per scored note.
    """
    cfg = cfg or ScoringConfig()
    now = F.lit(float(epoch_millis))
    base = merge_note_info(old_nsh, notes).drop("classification")
    scored = scored_notes.select(
        F.col("noteId").alias("_s_noteId"), *[_scored_col(scored_notes, n) for n in _SCORED_COLUMNS]
    )
    df = base.join(scored, base.noteId == scored._s_noteId, "inner")

    def old(name: str) -> Column:
        return F.col(name)

    def new(name: str) -> Column:
        return F.col("_s_" + name)

    final = new("finalRatingStatus")
    # A null previous status counts as a change (pandas: value != NaN is True).
    changed = old("currentStatus").isNull() | (final != old("currentStatus"))
    status_change_ts = F.when(changed, now).otherwise(
        F.coalesce(old("timestampMillisOfMostRecentStatusChange"), F.lit(-1.0))
    )

    # Lock: not yet locked, strictly older than the lock age, decided by a trusted rule.
    age = now - old("createdAtMillis").cast("double")
    lock_now = (
        old("lockedStatus").isNull()
        & (age > F.lit(float(cfg.lock_after_millis)))
        & new("decidedBy").isin(*LOCKABLE_RULES)
    )
    locked_status = F.when(lock_now, final).otherwise(old("lockedStatus"))
    lock_ts = F.when(lock_now, now).otherwise(old("timestampMillisOfStatusLock"))
    is_locked = locked_status.isNotNull()

    # Locked notes leave stabilisation for good (-1); unlocked notes take this run's update, and
    # the first stabilisation entry is remembered once.
    stab_new = new("timestampMillisOfNmrDueToMinStableCrhTime")
    stab_ts = (
        F.when(is_locked, F.lit(-1.0))
        .when(stab_new.isNotNull(), stab_new)
        .otherwise(old("timestampMillisOfNmrDueToMinStableCrhTime"))
    )
    first_stab_ts = F.when(
        ~is_locked
        & stab_new.isNotNull()
        & old("timestampMillisOfFirstNmrDueToMinStableCrhTime").isNull(),
        stab_new,
    ).otherwise(old("timestampMillisOfFirstNmrDueToMinStableCrhTime"))
    # pCRH time: the reference's update would write -1 for locked notes, but its caller
    # (`run_final_note_scoring`) then overwrites the column with scored_notes'
    # abovePcrhThresholdTime (after pCRH eligibility suppression), nulls included. Copy it.
    pcrh_ts = new("abovePcrhThresholdTime")

    # First / most recent non-NMR status: only notes created since the tombstones launch (older
    # notes predate the history and keep whatever it holds). Returning to NMR changes nothing;
    # a CRH <-> CRNH flip moves the most recent status and its timestamp.
    tracked = (old("createdAtMillis") >= F.lit(cfg.tombstones_launch_millis)) & (final != NMR)
    first_time = tracked & old("firstNonNMRStatus").isNull()
    recent_before = F.when(first_time, final).otherwise(old("mostRecentNonNMRStatus"))
    flip = tracked & (recent_before.isNull() | (final != recent_before))
    set_recent = first_time | flip

    out = {
        "timestampMillisOfFirstNonNMRStatus": F.when(first_time, now).otherwise(
            old("timestampMillisOfFirstNonNMRStatus")
        ),
        "firstNonNMRStatus": F.when(first_time, final).otherwise(old("firstNonNMRStatus")),
        "timestampMillisOfCurrentStatus": now,
        "currentStatus": final,
        "timestampMillisOfLatestNonNMRStatus": F.when(set_recent, now).otherwise(
            old("timestampMillisOfLatestNonNMRStatus")
        ),
        "mostRecentNonNMRStatus": F.when(set_recent, final).otherwise(
            old("mostRecentNonNMRStatus")
        ),
        "timestampMillisOfStatusLock": lock_ts,
        "lockedStatus": locked_status,
        "currentCoreStatus": new("coreRatingStatus"),
        "currentExpansionStatus": new("expansionRatingStatus"),
        "currentGroupStatus": new("groupRatingStatus"),
        "currentDecidedBy": new("decidedBy"),
        "currentModelingGroup": new("modelingGroup"),
        "timestampMillisOfMostRecentStatusChange": status_change_ts,
        "timestampMillisOfNmrDueToMinStableCrhTime": stab_ts,
        "currentMultiGroupStatus": new("multiGroupRatingStatus"),
        "currentModelingMultiGroup": new("modelingMultiGroup"),
        # Set later by an internal job in production; always null here.
        "timestampMinuteOfFinalScoringOutput": F.lit(None),
        "timestampMillisOfFirstNmrDueToMinStableCrhTime": first_stab_ts,
        "abovePcrhThresholdTime": pcrh_ts,
    }
    return df.select(
        *[
            (out[f.name] if f.name in out else F.col(f.name)).cast(f.dataType).alias(f.name)
            for f in NOTE_STATUS_HISTORY.fields
        ]
    )
