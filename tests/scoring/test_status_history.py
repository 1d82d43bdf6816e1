"""Note status history update: locking, non-NMR bookkeeping, stabilisation, golden parity."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cnscore.io.tsv import read_input
from cnscore.schemas import NOTE_STATUS_HISTORY, NOTES
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status_history import NSH_COLUMNS, update_status_history

CRH, CRNH, NMR = "CURRENTLY_RATED_HELPFUL", "CURRENTLY_RATED_NOT_HELPFUL", "NEEDS_MORE_RATINGS"
NOW = 1_800_000_000_000
DAY = 86_400_000
LOCK = ScoringConfig().lock_after_millis  # 14 days
CORE = "CoreModel (v1.1)"

SCORED = T.StructType(
    [
        T.StructField("noteId", T.LongType()),
        T.StructField("finalRatingStatus", T.StringType()),
        T.StructField("decidedBy", T.StringType()),
        T.StructField("coreRatingStatus", T.StringType()),
        T.StructField("timestampMillisOfNmrDueToMinStableCrhTime", T.DoubleType()),
        T.StructField("abovePcrhThresholdTime", T.DoubleType()),
    ]
)


def _nsh(spark, rows: list[dict]):
    full = [tuple(r.get(f.name) for f in NOTE_STATUS_HISTORY.fields) for r in rows]
    return spark.createDataFrame(full, NOTE_STATUS_HISTORY)


def _notes(spark, rows: list[tuple[int, str, int]]):
    full = [(n, a, c) + (None,) * (len(NOTES.fields) - 3) for n, a, c in rows]
    return spark.createDataFrame(full, NOTES)


def _run(spark, old, scored, notes=()):
    """old: dicts for the previous history; scored: (noteId, final, decidedBy, core, stab, pcrh)."""
    out = update_status_history(
        _nsh(spark, old), spark.createDataFrame(scored, SCORED), _notes(spark, list(notes)), NOW
    )
    return {r["noteId"]: r.asDict() for r in out.collect()}


def _row(note_id: int, age: int, **kw) -> dict:
    return {"noteId": note_id, "noteAuthorParticipantId": "a", "createdAtMillis": NOW - age, **kw}


def test_lock_needs_strictly_more_than_14_days_and_a_lockable_rule(spark):
    old = [
        _row(1, LOCK),  # exactly 14 days: not yet
        _row(2, LOCK + 1),  # one ms more: locks
        _row(3, LOCK + 1),  # old enough but decided by a non-lockable rule
        _row(4, 30 * DAY, lockedStatus=CRH, timestampMillisOfStatusLock=5.0),  # already locked
    ]
    scored = [
        (1, CRH, CORE, CRH, None, None),
        (2, CRNH, CORE, CRNH, None, None),
        (3, CRH, "ExpansionPlusModel (v1.1)", None, None, None),
        (4, NMR, CORE, NMR, None, None),
    ]
    out = _run(spark, old, scored)
    assert out[1]["lockedStatus"] is None and out[1]["timestampMillisOfStatusLock"] is None
    assert out[2]["lockedStatus"] == CRNH and out[2]["timestampMillisOfStatusLock"] == NOW
    assert out[3]["lockedStatus"] is None
    assert out[4]["lockedStatus"] == CRH and out[4]["timestampMillisOfStatusLock"] == 5.0
    assert out[4]["currentStatus"] == NMR  # the drift guard lives in meta scoring, not here


def test_stabilisation_timestamps_locked_and_unlocked(spark):
    old = [
        _row(1, DAY),
        _row(2, DAY, timestampMillisOfNmrDueToMinStableCrhTime=7.0),
        _row(3, DAY, timestampMillisOfFirstNmrDueToMinStableCrhTime=3.0),
        _row(4, 20 * DAY, timestampMillisOfNmrDueToMinStableCrhTime=9.0),
    ]
    scored = [
        (1, NMR, "NmrDueToMinStableCrhTime (v1.0)", CRH, float(NOW), 11.0),  # enters
        (2, NMR, CORE, NMR, None, None),  # no update: keeps 7
        (3, CRH, CORE, CRH, -1.0, None),  # exits; first entry already known
        (4, CRH, CORE, CRH, None, 12.0),  # locks now: stabilisation cleared to -1
    ]
    out = _run(spark, old, scored)
    assert out[1]["timestampMillisOfNmrDueToMinStableCrhTime"] == NOW
    assert out[1]["timestampMillisOfFirstNmrDueToMinStableCrhTime"] == NOW
    assert out[1]["abovePcrhThresholdTime"] == 11.0
    assert out[2]["timestampMillisOfNmrDueToMinStableCrhTime"] == 7.0
    assert out[2]["timestampMillisOfFirstNmrDueToMinStableCrhTime"] is None
    assert out[3]["timestampMillisOfNmrDueToMinStableCrhTime"] == -1.0
    assert out[3]["timestampMillisOfFirstNmrDueToMinStableCrhTime"] == 3.0
    assert out[4]["timestampMillisOfNmrDueToMinStableCrhTime"] == -1.0
    assert out[4]["lockedStatus"] == CRH
    # pCRH time is scored_notes' value, locked or not (the reference overwrites it last).
    assert out[4]["abovePcrhThresholdTime"] == 12.0


def test_first_and_most_recent_non_nmr(spark):
    t0 = 100.0
    old = [
        _row(1, DAY),  # first status ever: CRNH
        _row(
            2,
            DAY,
            firstNonNMRStatus=CRH,
            timestampMillisOfFirstNonNMRStatus=t0,
            mostRecentNonNMRStatus=CRH,
            timestampMillisOfLatestNonNMRStatus=t0,
            currentStatus=CRH,
        ),  # flips to CRNH
        _row(
            3,
            DAY,
            firstNonNMRStatus=CRH,
            timestampMillisOfFirstNonNMRStatus=t0,
            mostRecentNonNMRStatus=CRH,
            timestampMillisOfLatestNonNMRStatus=t0,
            currentStatus=CRH,
        ),  # back to NMR: nothing moves
        # Created before the tombstones launch: never tracked.
        {"noteId": 4, "noteAuthorParticipantId": "a", "createdAtMillis": 1_600_000_000_000},
    ]
    scored = [
        (1, CRNH, CORE, CRNH, None, None),
        (2, CRNH, CORE, CRNH, None, None),
        (3, NMR, CORE, NMR, None, None),
        (4, CRH, CORE, CRH, None, None),
    ]
    out = _run(spark, old, scored)
    assert (out[1]["firstNonNMRStatus"], out[1]["timestampMillisOfFirstNonNMRStatus"]) == (
        CRNH,
        NOW,
    )
    assert (out[1]["mostRecentNonNMRStatus"], out[1]["timestampMillisOfLatestNonNMRStatus"]) == (
        CRNH,
        NOW,
    )
    assert (out[2]["firstNonNMRStatus"], out[2]["timestampMillisOfFirstNonNMRStatus"]) == (CRH, t0)
    assert (out[2]["mostRecentNonNMRStatus"], out[2]["timestampMillisOfLatestNonNMRStatus"]) == (
        CRNH,
        NOW,
    )
    assert out[3]["mostRecentNonNMRStatus"] == CRH
    assert out[3]["timestampMillisOfLatestNonNMRStatus"] == t0
    assert out[4]["firstNonNMRStatus"] is None and out[4]["mostRecentNonNMRStatus"] is None
    assert out[4]["currentStatus"] == CRH and out[4]["lockedStatus"] == CRH  # still locks


def test_current_fields_status_change_and_new_notes(spark):
    old = [
        _row(1, DAY, currentStatus=NMR),  # unchanged, no change time yet -> -1
        _row(2, DAY, currentStatus=NMR, timestampMillisOfMostRecentStatusChange=50.0),  # changes
        _row(3, DAY, currentStatus=NMR, timestampMillisOfMostRecentStatusChange=50.0),  # same
    ]
    scored = [
        (1, NMR, CORE, NMR, None, None),
        (2, CRH, CORE, CRH, None, None),
        (3, NMR, CORE, NMR, None, None),
        (5, NMR, CORE, NMR, None, None),  # new note, only in `notes`
    ]
    out = _run(spark, old, scored, notes=[(5, "b", NOW - DAY)])
    assert out[1]["timestampMillisOfMostRecentStatusChange"] == -1.0
    assert out[2]["timestampMillisOfMostRecentStatusChange"] == NOW
    assert out[3]["timestampMillisOfMostRecentStatusChange"] == 50.0
    assert out[2]["currentCoreStatus"] == CRH and out[2]["currentDecidedBy"] == CORE
    assert all(r["timestampMillisOfCurrentStatus"] == NOW for r in out.values())
    assert out[5]["noteAuthorParticipantId"] == "b" and out[5]["createdAtMillis"] == NOW - DAY
    assert out[5]["timestampMillisOfMostRecentStatusChange"] == NOW  # null previous status
    assert out[5]["timestampMinuteOfFinalScoringOutput"] is None


GOLDEN = [("synthetic-30k", 1795305600000), ("birdwatch-2021-03", 1616630400000)]


def read_strings(spark, path):
    """A golden TSV with every column as a string (empty field = null)."""
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
    schema = T.StructType([T.StructField(h, T.StringType()) for h in header])
    return spark.read.csv(str(path), sep="\t", header=True, schema=schema)


@pytest.mark.parametrize("name,epoch", GOLDEN)
def test_golden_parity(spark, shared_dir, name, epoch):
    """Reference input history + its scored_notes -> exactly its note_status_history.tsv."""
    base = shared_dir / "data" / "golden" / name
    old = read_input(
        spark, str(base / "input" / "noteStatusHistory-00000.tsv"), "noteStatusHistory"
    )
    notes = read_input(spark, str(base / "input" / "notes-00000.tsv"), "notes")
    scored = read_strings(spark, base / "seed42" / "scored_notes.tsv").withColumn(
        "noteId", F.col("noteId").cast("long")
    )
    gold = read_input(spark, str(base / "seed42" / "note_status_history.tsv"), "noteStatusHistory")
    out = update_status_history(old.df, scored, notes.df, epoch)
    joined = out.alias("a").join(gold.df.alias("b"), "noteId", "full_outer")
    cols = [c for c in NSH_COLUMNS if c != "noteId"]
    row = joined.agg(
        F.count("*").alias("_n"),
        *[F.sum(F.col(f"a.{c}").eqNullSafe(F.col(f"b.{c}")).cast("int")).alias(c) for c in cols],
    ).first()
    mismatches = {c: row["_n"] - row[c] for c in cols if row[c] != row["_n"]}
    assert row["_n"] == gold.df.count()
    assert mismatches == {}
