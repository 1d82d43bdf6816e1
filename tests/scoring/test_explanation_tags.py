"""Explanation tags: hand-computed ties and thresholds, and parity with the reference's tags."""

from __future__ import annotations

import pandas as pd
import pytest

from cnscore.columns import HELPFUL_TAGS_TSV_ORDER, NOT_HELPFUL_TAGS_TSV_ORDER
from cnscore.scoring.explanation_tags import (
    CRH,
    CRNH,
    top_two_tags,
    top_two_tags_from_counts,
)
from cnscore.scoring.settings import ScoringConfig
from tests.scoring.test_note_stats import final_scoring_inputs

TAGS = HELPFUL_TAGS_TSV_ORDER + NOT_HELPFUL_TAGS_TSV_ORDER
NMR = "NEEDS_MORE_RATINGS"
CFG = ScoringConfig()


def _counts(spark, rows):
    """rows: {noteId: {tag: count}}; every other tag 0."""
    data = [(note, *[tags.get(t, 0) for t in TAGS]) for note, tags in rows.items()]
    return spark.createDataFrame(data, "noteId long, " + ", ".join(f"{t} long" for t in TAGS))


def _run(spark, statuses, counts):
    status = spark.createDataFrame(list(statuses.items()), "noteId long, finalRatingStatus string")
    out = top_two_tags_from_counts(status, _counts(spark, counts), CFG).collect()
    return {r.noteId: (r.firstTag, r.secondTag, r.insufficientExplanation) for r in out}


def test_hand_computed(spark):
    counts = {
        # CRH: a tie at the top goes to the higher priority (Informative 8 > Clear 7), and the
        # not-helpful counts, however large, are ignored.
        1: {"helpfulClear": 5, "helpfulInformative": 5, "helpfulOther": 9,
            "notHelpfulOutdated": 50},
        # CRNH: 3-way tie for second place: Outdated 12 > SpamHarassmentOrAbuse 11 > Other 0.
        2: {"notHelpfulIncorrect": 7, "notHelpfulOther": 3, "notHelpfulSpamHarassmentOrAbuse": 3,
            "notHelpfulOutdated": 3, "helpfulClear": 99},
        # count-2 boundary: 2 qualifies, 1 does not.
        3: {"notHelpfulOther": 2, "notHelpfulIrrelevantSources": 2, "notHelpfulIncorrect": 1},
        4: {"helpfulClear": 2, "helpfulGoodSources": 1, "helpfulOther": 1},  # one tag only
        5: {"helpfulClear": 9, "helpfulGoodSources": 9},  # NMR: never tagged
        6: {"notHelpfulIncorrect": 9, "notHelpfulOffTopic": 9},  # CRH with only NH tags
        # helpful ties all the way down the priority list
        8: {t: 4 for t in HELPFUL_TAGS_TSV_ORDER},
        9: {t: 4 for t in NOT_HELPFUL_TAGS_TSV_ORDER},
    }
    statuses = {1: CRH, 2: CRNH, 3: CRNH, 4: CRH, 5: NMR, 6: CRH, 7: CRNH, 8: CRH, 9: CRNH,
                10: None}
    got = _run(spark, statuses, counts)
    assert got == {
        1: ("helpfulOther", "helpfulInformative", False),
        2: ("notHelpfulIncorrect", "notHelpfulOutdated", False),
        3: ("notHelpfulIrrelevantSources", "notHelpfulOther", False),
        4: (None, None, True),
        5: (None, None, False),
        6: (None, None, True),
        7: (None, None, True),  # CRNH without any counts row
        8: ("helpfulInformative", "helpfulClear", False),
        9: ("notHelpfulOutdated", "notHelpfulSpamHarassmentOrAbuse", False),
        10: (None, None, False),
    }


def test_from_ratings_and_threshold(spark):
    rows = [(1, "a", 1, 1, 0), (1, "b", 1, 0, 1), (1, "c", None, 1, 1), (2, "a", 1, 0, 0)]
    ratings = spark.createDataFrame(
        rows, "noteId long, raterParticipantId string, notHelpfulIncorrect tinyint, "
              "notHelpfulOutdated tinyint, notHelpfulOffTopic tinyint")
    for t in TAGS:
        if t not in ratings.columns:
            ratings = ratings.withColumn(t, ratings.noteId.cast("tinyint") * 0)
    status = spark.createDataFrame([(1, CRNH), (2, CRNH)], "noteId long, finalRatingStatus string")
    got = {r.noteId: tuple(r)[1:] for r in top_two_tags(status, ratings, CFG).collect()}
    # Incorrect 2 (null counts 0), Outdated 2, OffTopic 2: Outdated (12) then OffTopic (9).
    assert got == {1: ("notHelpfulOutdated", "notHelpfulOffTopic", False), 2: (None, None, True)}
    strict = ScoringConfig(explanation_min_raters_per_tag=3)
    got = {r.noteId: tuple(r)[1:] for r in top_two_tags(status, ratings, strict).collect()}
    assert got[1] == (None, None, True)


def _pre_rule_status(scored, history):
    """The label just before InsufficientExplanation: the final status, except for the notes
    that rule demoted. Those were CRH/CRNH after the drift guard: the locked status when the
    guard acted, else the pre-stabilisation status (true for every such note in the sets)."""
    status = scored["finalRatingStatus"].copy()
    demoted = scored["decidedBy"].str.startswith("InsufficientExplanation")
    guarded = scored["metaScorerActiveRules"].str.contains("ScoringDriftGuard")
    status[demoted & guarded] = history.loc[demoted & guarded, "lockedStatus"]
    status[demoted & ~guarded] = history.loc[demoted & ~guarded, "preStabilizationRatingStatus"]
    assert status[demoted].isin([CRH, CRNH]).all()
    return status, demoted


@pytest.mark.parametrize("name", ["birdwatch-2021-03", "synthetic-30k"])
def test_golden_tags(spark, shared_dir, name):
    """firstTag / secondTag equal the reference's for every note; insufficientExplanation is
    true exactly for the notes decided by InsufficientExplanation."""
    golden = shared_dir / "data" / "golden" / name / "seed42"
    read = lambda kind: pd.read_csv(golden / f"{kind}.tsv", sep="\t", dtype=str,  # noqa: E731
                                    keep_default_na=False).set_index("noteId")
    scored = read("scored_notes")
    extra = read("note_status_history")[["lockedStatus"]].join(
        read("aux_note_info")[["preStabilizationRatingStatus"]]).loc[scored.index]
    status, demoted = _pre_rule_status(scored, extra)
    frame = spark.createDataFrame(
        [(int(k), v) for k, v in status.items()], "noteId long, finalRatingStatus string")
    ratings, _ = final_scoring_inputs(spark, shared_dir, name)
    got = top_two_tags(frame, ratings, CFG).toPandas()
    got["noteId"] = got["noteId"].astype(str)
    got = got.set_index("noteId").loc[scored.index].fillna("")
    for col in ("firstTag", "secondTag"):
        mismatched = (got[col] != scored[col]).sum()
        assert mismatched == 0, f"{col}: {mismatched} of {len(got)} notes differ"
    assert (got["insufficientExplanation"] == demoted).all()
    assert (scored["firstTag"] != "").sum() > 10  # the comparison is not vacuous
