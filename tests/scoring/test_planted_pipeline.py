"""The whole Core pipeline on planted data: two camps of raters and three kinds of notes.

- bridging notes: both camps mostly rate them HELPFUL;
- one-sided notes: one camp HELPFUL, the other NOT_HELPFUL;
- bad notes: both camps mostly NOT_HELPFUL.
Bridging notes must become Helpful, one-sided notes must not, bad notes become Not Helpful.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from cnscore import schemas
from cnscore.config import ScoreConfig
from cnscore.scoring.outputs import post_score
from cnscore.scoring.pipeline import score_core
from cnscore.scoring.status import CRH, CRNH
from cnscore.synthetic import conform_to_schema

NOW = 1_795_305_600_000
DAY = 86_400_000
KINDS = ("bridging", "one_sided", "bad")


def planted_tables(spark, seed: int = 5, raters_per_camp: int = 60, notes_per_kind: int = 15):
    rng = np.random.default_rng(seed)
    raters = [f"R{c}{i:03d}" for c in "AB" for i in range(raters_per_camp)]
    camp = {r: r[1] for r in raters}
    notes, ratings = [], []
    for k, kind in enumerate(KINDS):
        for j in range(notes_per_kind):
            note_id = 1_000 + 100 * k + j
            author = f"W{k}{j:02d}"
            created = NOW - 5 * DAY + j * 60_000
            notes.append({"noteId": note_id, "noteAuthorParticipantId": author, "createdAtMillis": created,
                          "tweetId": 50_000 + note_id, "classification": "MISINFORMED_OR_POTENTIALLY_MISLEADING",
                          "summary": "planted note"})
            for rater in rng.choice(raters, size=40, replace=False):
                p_helpful = {"bridging": 0.9, "bad": 0.1}.get(kind, 0.9 if camp[rater] == "A" else 0.1)
                level = "HELPFUL" if rng.random() < p_helpful else "NOT_HELPFUL"
                ratings.append({"noteId": note_id, "raterParticipantId": rater,
                                "createdAtMillis": created + int(rng.integers(60_000, DAY)), "version": 2,
                                "helpfulnessLevel": level, "ratedOnTweetId": 50_000 + note_id,
                                "helpfulInformative": int(level == "HELPFUL"),
                                "helpfulClear": int(level == "HELPFUL"),
                                "notHelpfulIncorrect": int(level == "NOT_HELPFUL"),
                                "notHelpfulMissingKeyPoints": int(level == "NOT_HELPFUL")})
    enrollment = pd.DataFrame({"participantId": raters, "enrollmentState": "earnedIn",
                               "successfulRatingNeededToEarnIn": 5, "timestampOfLastStateChange": NOW - 90 * DAY,
                               "timestampOfLastEarnOut": 1.0, "modelingPopulation": "CORE",
                               "modelingGroup": 13.0, "numberOfTimesEarnedOut": 0})
    kind_of = {1_000 + 100 * k + j: kind for k, kind in enumerate(KINDS) for j in range(notes_per_kind)}
    frames = {"notes": (pd.DataFrame(notes), schemas.NOTES), "ratings": (pd.DataFrame(ratings), schemas.RATINGS),
              "userEnrollment": (enrollment, schemas.USER_ENROLLMENT)}
    tables = {name: spark.createDataFrame(conform_to_schema(df, schema), schema=schema)
              for name, (df, schema) in frames.items()}
    return tables, kind_of


@pytest.fixture(scope="module")
def planted_run(spark):
    tables, kind_of = planted_tables(spark)
    cfg = ScoreConfig()
    run = score_core(tables, cfg.mf, cfg.scoring, cfg.coordination, epoch_millis=NOW)
    scored = run.scored_notes.select("noteId", "ratingStatus", "internalNoteIntercept").toPandas()
    scored["kind"] = scored.noteId.map(kind_of)
    return run, tables, scored


def test_bridging_notes_become_helpful_and_one_sided_do_not(planted_run):
    _, _, scored = planted_run
    by_kind = {k: g.ratingStatus for k, g in scored.groupby("kind")}
    assert len(scored) == 45
    assert (by_kind["bridging"] == CRH).mean() >= 0.9
    assert not (by_kind["one_sided"] == CRH).any()
    assert (by_kind["bad"] == CRNH).mean() >= 0.9


def test_intercepts_order_the_kinds(planted_run):
    _, _, scored = planted_run
    mean = scored.groupby("kind").internalNoteIntercept.mean()
    assert mean["bridging"] > mean["one_sided"] + 0.2 > mean["bad"] + 0.2


def test_new_helpful_notes_wait_in_stabilisation(planted_run):
    """No status history: a note newly Helpful is NMR in its first run (reference §4.12)."""
    run, tables, scored = planted_run
    outputs = post_score(run, tables, NOW, ScoreConfig().scoring)
    final = outputs["scored_notes"].select("noteId", "finalRatingStatus", "decidedBy",
                                           "timestampMillisOfNmrDueToMinStableCrhTime").toPandas()
    crh_ids = set(scored.noteId[scored.ratingStatus == CRH])
    waiting = final[final.noteId.isin(crh_ids)]
    assert (waiting.finalRatingStatus == "NEEDS_MORE_RATINGS").all()
    assert (waiting.decidedBy == "NmrDueToMinStableCrhTime (v1.0)").all()
    assert (waiting.timestampMillisOfNmrDueToMinStableCrhTime == NOW).all()
    history = outputs["note_status_history"].where(F.col("noteId").isin(list(crh_ids))).toPandas()
    assert (history.currentStatus == "NEEDS_MORE_RATINGS").all()
