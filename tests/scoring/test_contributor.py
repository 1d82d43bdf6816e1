"""Contributor scores: enrollment state machine, counts on a tiny corpus, golden parity."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cnscore.io.tsv import read_input
from cnscore.schemas import NOTE_STATUS_HISTORY, NOTES, RATINGS, USER_ENROLLMENT
from cnscore.scoring.contributor import (
    _COMPUTED,
    OUTPUT_COLUMNS,
    ContributorConfig,
    contributor_scores,
)
from cnscore.scoring.contributor_state import apply_earn_out_targets, apply_state_machine

CRH, CRNH, NMR = "CURRENTLY_RATED_HELPFUL", "CURRENTLY_RATED_NOT_HELPFUL", "NEEDS_MORE_RATINGS"
NOW = 1_800_000_000_000
HOUR, DAY = 3_600_000, 86_400_000

MACHINE = T.StructType(
    [
        T.StructField("id", T.StringType()),
        T.StructField("_state", T.StringType()),
        T.StructField("_needed", T.LongType()),
        T.StructField("_tsChange", T.DoubleType()),
        T.StructField("_times", T.DoubleType()),
        T.StructField("_ri", T.LongType()),
        T.StructField("_crnhLast", T.LongType()),
        T.StructField("notesCurrentlyRatedHelpful", T.LongType()),
        T.StructField("notesCurrentlyRatedNotHelpful", T.LongType()),
        T.StructField("notesAwaitingMoreRatings", T.LongType()),
    ]
)


def test_state_machine_transitions(spark):
    # id, state, needed, tsChange, times, RI, CRNH in last 5, all-time CRH, CRNH, NMR
    rows = [
        ("earnInAtTarget", "newUser", 5, 1.0, 0.0, 5, 0, None, None, None),
        ("belowTarget", "newUser", 5, 1.0, 0.0, 4, 0, None, None, None),
        ("exactly2Crnh", "earnedIn", 5, 1.0, 0.0, 0, 2, 3, 2, 0),
        ("threeCrnh", "earnedIn", 5, 1.0, 0.0, 7, 3, 3, 3, 0),
        ("riskCleared", "atRisk", 5, 1.0, 0.0, 0, 1, 3, 1, 1),
        ("stillAtRisk", "atRisk", 5, 1.0, 0.0, 0, 2, 3, 2, 0),
        ("removed", "removed", 5, 1.0, 0.0, 100, 3, 0, 3, 0),
        ("api", "apiEarnedIn", 5, 1.0, 0.0, 0, 3, 3, 3, 0),
        # The single-trigger rule does not exempt API states (reference behaviour).
        ("apiSingleTrigger", "apiEarnedIn", 5, 1.0, 0.0, 0, 3, 0, 3, 0),
        # Earns in, then the at-risk check (run after it) sees the new state: at risk.
        ("earnInThenRisk", "newUser", 5, 1.0, 0.0, 6, 2, 3, 2, 0),
        # Not yet acknowledged: re-targeted with escalation (times 2 -> +5) and acknowledged.
        ("outNoAck", "earnedOutNoAcknowledge", 10, 1.0, 2.0, 0, 0, 0, 0, 0),
        # All-time CRNH > CRH and a CRNH since the last earn-out: single-trigger earn-out.
        ("singleTrigger", "earnedIn", 5, 1.0, 0.0, 3, 1, 1, 3, 0),
        ("singleTriggerTie", "earnedIn", 5, 1.0, 0.0, 3, 1, 3, 3, 0),
        # Top writer (WI 17 >= 10, hit rate 17/33): no escalation despite 2 earlier earn-outs.
        ("topWriter", "earnedIn", 5, 1.0, 2.0, 4, 3, 20, 3, 10),
        ("ackEarnsIn", "earnedOutAcknowledged", 12, 1.0, 1.0, 12, 0, 0, 0, 0),
    ]
    df = spark.createDataFrame(rows, MACHINE)
    now, ccfg = F.lit(float(NOW)), ContributorConfig()
    out = apply_earn_out_targets(apply_state_machine(df, now, ccfg), now, ccfg)
    got = {r["id"]: (r["_code"], r["_needed"], r["_tsChange"], r["_times"]) for r in out.collect()}
    changed = float(NOW)
    assert got["earnInAtTarget"] == (0, 5, changed, 0.0)
    assert got["belowTarget"] == (4, 5, 1.0, 0.0)
    assert got["exactly2Crnh"] == (1, 5, changed, 0.0)
    assert got["threeCrnh"] == (3, 5 + 7, changed, 1.0)
    assert got["riskCleared"] == (0, 5, changed, 0.0)
    assert got["stillAtRisk"] == (1, 5, 1.0, 0.0)
    assert got["removed"] == (5, 5, 1.0, 0.0)
    assert got["api"] == (7, 5, 1.0, 0.0)
    assert got["apiSingleTrigger"] == (3, 5, changed, 1.0)
    assert got["earnInThenRisk"] == (1, 5, changed, 0.0)
    assert got["outNoAck"] == (3, 5 + 0 + 5 * (2 - 1), 1.0, 2.0)
    assert got["singleTrigger"] == (3, 5 + 3, changed, 1.0)
    assert got["singleTriggerTie"] == (0, 5, 1.0, 0.0)
    assert got["topWriter"] == (3, 5 + 4, changed, 3.0)
    assert got["ackEarnsIn"] == (0, 12, changed, 1.0)


# --- A tiny corpus through contributor_scores --------------------------------------------------
T0 = NOW - 20 * DAY  # creation time of the post-tombstone notes 1 and 2
OLD = 1_600_000_000_000  # before the tombstones launch (and before the not-misleading UI launch)
MISLEADING = "MISINFORMED_OR_POTENTIALLY_MISLEADING"


def _frame(spark, schema, rows: list[dict]):
    return spark.createDataFrame(
        [tuple(r.get(f.name) for f in schema.fields) for r in rows], schema
    )


def _rating(note, rater, t, level, **tags):
    return {"noteId": note, "raterParticipantId": rater, "createdAtMillis": t,
            "helpfulnessLevel": level, **tags}  # fmt: skip


@pytest.fixture(scope="module")
def tiny(spark):
    ratings = [
        _rating(1, "X", T0 + 1 * HOUR, "HELPFUL"),  # valid, agrees with CRH
        _rating(1, "Y", T0 + 2 * HOUR, "NOT_HELPFUL"),  # valid, disagrees
        _rating(1, "Z", T0 + 11 * HOUR, "HELPFUL"),  # after the status: only ratedAfterDecision
        _rating(2, "X", T0 + 48 * HOUR - 1, "HELPFUL"),  # last ms of the 48 h window: awaiting
        _rating(2, "Y", T0 + 48 * HOUR, "HELPFUL"),  # exactly 48 h: not early
        _rating(4, "Q", OLD + HOUR, "HELPFUL"),  # old NOT_MISLEADING note: dropped
    ]
    # Old note 3 (CRNH): the first five ratings within 48 h are valid, the sixth is not.
    for i in range(6):
        tags = {"notHelpfulIncorrect": 1, "notHelpfulOutdated": 1 if i < 3 else 0}
        ratings.append(_rating(3, f"P{i}", OLD + i * HOUR, "NOT_HELPFUL", **tags))
    notes = [
        {"noteId": 1, "noteAuthorParticipantId": "A", "createdAtMillis": T0, "classification": MISLEADING},
        {"noteId": 2, "noteAuthorParticipantId": "A", "createdAtMillis": T0, "classification": MISLEADING},
        {"noteId": 3, "noteAuthorParticipantId": "B", "createdAtMillis": OLD, "classification": MISLEADING},
        {"noteId": 4, "noteAuthorParticipantId": "B", "createdAtMillis": OLD, "classification": "NOT_MISLEADING"},
    ]  # fmt: skip
    nsh = [
        {"noteId": 1, "noteAuthorParticipantId": "A", "createdAtMillis": T0, "currentStatus": CRH,
         "timestampMillisOfLatestNonNMRStatus": float(T0 + 10 * HOUR)},
        {"noteId": 2, "noteAuthorParticipantId": "A", "createdAtMillis": T0, "currentStatus": NMR},
        {"noteId": 3, "noteAuthorParticipantId": "B", "createdAtMillis": OLD, "currentStatus": CRNH},
        {"noteId": 4, "noteAuthorParticipantId": "B", "createdAtMillis": OLD, "currentStatus": NMR},
    ]  # fmt: skip
    enrollment = [
        {"participantId": p, "enrollmentState": "earnedIn", "successfulRatingNeededToEarnIn": 5,
         "timestampOfLastStateChange": 7, "timestampOfLastEarnOut": 1.0, "numberOfTimesEarnedOut": 0}
        for p in ("A", "B", "H")
    ]  # fmt: skip
    scored = spark.createDataFrame(
        [(1, CRH, 0.5), (2, NMR, None), (3, CRNH, -0.2), (4, NMR, None)],
        "noteId long, finalRatingStatus string, coreNoteIntercept double",
    )
    helpfulness = spark.createDataFrame(
        [("H", 0.1)], "raterParticipantId string, coreRaterIntercept double"
    )
    out = contributor_scores(
        _frame(spark, RATINGS, ratings),
        _frame(spark, NOTES, notes),
        scored,
        _frame(spark, NOTE_STATUS_HISTORY, nsh),
        _frame(spark, USER_ENROLLMENT, enrollment),
        helpfulness,
        NOW,
    )
    assert out.columns == [c for c, _ in OUTPUT_COLUMNS]
    return {r["raterParticipantId"]: r.asDict() for r in out.collect()}


def _pick(row, *cols):
    return tuple(row[c] for c in cols)


def test_tiny_rating_counts(tiny):
    cols = ("successfulRatingHelpfulCount", "successfulRatingNotHelpfulCount",
            "unsuccessfulRatingHelpfulCount", "unsuccessfulRatingNotHelpfulCount",
            "ratingsAwaitingMoreRatings", "ratedAfterDecision")  # fmt: skip
    assert _pick(tiny["X"], *cols) == (1, 0, 0, 0, 1, 0)
    assert _pick(tiny["Y"], *cols) == (0, 0, 1, 0, 0, 0)
    for i in range(5):
        assert _pick(tiny[f"P{i}"], *cols) == (0, 1, 0, 0, 0, 0)
    # Raters with no early rating (Z: only after the status, P5: sixth on an old note) and
    # raters of dropped notes (Q) have no row, as in the reference.
    assert {"Z", "P5", "Q"}.isdisjoint(tiny)
    assert tiny["X"]["notesCurrentlyRatedHelpful"] is None  # not an author


def test_tiny_authors_and_states(tiny):
    a, b = tiny["A"], tiny["B"]
    assert _pick(
        a, "notesCurrentlyRatedHelpful", "notesAwaitingMoreRatings", "aggregateRatingReceivedTotal"
    ) == (1, 1, 5)
    assert a["successfulRatingTotal"] is None  # author without ratings
    assert _pick(a, "enrollmentState", "timestampOfLastStateChange") == (0, 7.0)
    # B: 1 CRNH > 0 CRH with a CRNH among the last notes -> single-trigger earn-out.
    assert _pick(
        b, "enrollmentState", "numberOfTimesEarnedOut", "successfulRatingNeededToEarnIn"
    ) == (3, 1.0, 5)
    assert b["timestampOfLastStateChange"] == float(NOW)
    # Note 3's top two are Incorrect (6 ratings) and Outdated (3); across B's notes each occurs
    # once, so the tie goes to priority: Outdated (12) before Incorrect (8).
    assert b["authorTopNotHelpfulTagValues"] == "5,1"
    assert a["authorTopNotHelpfulTagValues"] is None
    assert tiny["X"]["enrollmentState"] == 4 and tiny["X"]["timestampOfLastEarnOut"] == 1.0
    assert a["isEmergingWriter"] is False
    # 14 d: note 2 (NMR, 2 ratings < 10) is left out; 90 d counts it.
    assert _pick(a, "crhTotal14d", "nmrTotal14d", "crhTotal90d", "nmrTotal90d") == (1, 0, 1, 1)
    assert _pick(b, "crnhTotal14d", "crnhTotal90d") == (0, 0)  # too old for either window


def test_tiny_helpfulness_only_rater(tiny):
    h = tiny["H"]
    assert h["coreRaterIntercept"] == 0.1
    assert h["enrollmentState"] == 0  # previous state, as a code
    assert _pick(h, "successfulRatingNeededToEarnIn", "isEmergingWriter", "crhTotal90d") == (
        None,
        None,
        0,
    )


GOLDEN = [("synthetic-30k", 1795305600000), ("birdwatch-2021-03", 1616630400000)]


def _read_strings(spark, path):
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
    schema = T.StructType([T.StructField(h, T.StringType()) for h in header])
    return spark.read.csv(str(path), sep="\t", header=True, schema=schema)


def _typed(df):
    """Golden strings -> our output types ("5.0" counts via double; "True" -> boolean)."""
    cols = []
    for c, t in OUTPUT_COLUMNS:
        if c not in df.columns:
            continue
        if t == "string":
            cols.append(F.col(c))
        elif t == "long":
            cols.append(F.expr(f"try_cast(try_cast(`{c}` as double) as long)").alias(c))
        else:
            cols.append(F.expr(f"try_cast(`{c}` as {t})").alias(c))
    return df.select(*cols)


@pytest.mark.parametrize("name,epoch", GOLDEN)
def test_golden_parity(spark, shared_dir, name, epoch):
    """Reference inputs + its scored_notes, NSH and rater params -> its contributor columns."""
    base = shared_dir / "data" / "golden" / name

    def inp(kind):
        return read_input(spark, str(base / "input" / f"{kind}-00000.tsv"), kind).df

    scored = _read_strings(spark, base / "seed42" / "scored_notes.tsv").select(
        F.col("noteId").cast("long").alias("noteId"),
        "finalRatingStatus",
        F.expr("try_cast(coreNoteIntercept as double)").alias("coreNoteIntercept"),
        F.col("numRatings").cast("long").alias("numRatings"),
    )  # numRatingsLast28 is left out on purpose: counted from ratings, it must match too
    nsh = read_input(spark, str(base / "seed42" / "note_status_history.tsv"), "noteStatusHistory")
    gold = _typed(_read_strings(spark, base / "seed42" / "helpfulness_scores.tsv")).cache()
    helpfulness = gold.select(*[c for c in gold.columns if c not in _COMPUTED])
    out = contributor_scores(
        inp("ratings"), inp("notes"), scored, nsh.df, inp("userEnrollment"), helpfulness, epoch
    )
    joined = out.alias("a").join(gold.alias("b"), "raterParticipantId", "full_outer")
    cols = [c for c in gold.columns if c != "raterParticipantId"]
    row = joined.agg(
        F.count("*").alias("_n"),
        *[F.sum(F.col(f"a.{c}").eqNullSafe(F.col(f"b.{c}")).cast("int")).alias(c) for c in cols],
    ).first()
    mismatches = {c: row["_n"] - row[c] for c in cols if row[c] != row["_n"]}
    assert row["_n"] == gold.count()
    assert mismatches == {}
    gold.unpersist()
