"""Group 14, the "expanded consensus" trial, scores with its normalized loss (shared
docs/reference.md §3.9, §5.1) on planted data: one small community of modeling group 14, two
camps rating bridging, one-sided and bad notes among themselves."""

from __future__ import annotations

import pandas as pd
import pytest

from cnscore import schemas
from cnscore.config import ScoreConfig
from cnscore.scoring.multi_model import SCORED, run_isolated, unsupported_reason
from cnscore.scoring.pipeline import prepare_shared
from cnscore.synthetic import conform_to_schema
from tests.scoring.test_group_promotion import NOW, SPECS, _Planted

pytestmark = pytest.mark.slow  # one whole model run (prescoring and final scoring), ~45 s warm

GROUP = 14
FIRST_NOTE = 7_000  # bridging notes 7000-7004, one-sided 7100-7104, bad 7200-7204


def _tables(spark):
    p = _Planted(seed=5)
    camps = (p.raters("NA", 10, GROUP), p.raters("NB", 10, GROUP))
    p.community(FIRST_NOTE, camps, per_kind=5, per_note=16)
    enrollment = pd.DataFrame({"participantId": list(p.groups), "enrollmentState": "earnedIn",
                               "successfulRatingNeededToEarnIn": 5, "timestampOfLastStateChange": NOW,
                               "timestampOfLastEarnOut": 1.0, "modelingPopulation": "CORE",
                               "modelingGroup": list(p.groups.values()), "numberOfTimesEarnedOut": 0})
    frames = {"notes": (pd.DataFrame(p.notes), schemas.NOTES), "ratings": (pd.DataFrame(p.ratings), schemas.RATINGS),
              "userEnrollment": (enrollment, schemas.USER_ENROLLMENT)}
    return {name: spark.createDataFrame(conform_to_schema(df, schema), schema=schema)
            for name, (df, schema) in frames.items()}


@pytest.fixture(scope="module")
def outcome(spark):
    spec = next(s for s in SPECS if s.role == "group" and s.group_id == GROUP)
    assert spec.normalized_loss is not None and unsupported_reason(spec) is None
    cfg = ScoreConfig()
    tables = _tables(spark)
    core = next(s for s in SPECS if s.role == "core")
    shared = prepare_shared(tables, core.scoring, cfg.coordination, None)
    [result] = run_isolated(shared, tables, [spec], cfg.mf, parallelism=1)
    return result


def test_group_14_scores_its_notes_with_the_normalized_loss(outcome):
    assert outcome.state == SCORED, outcome.reason
    notes = outcome.run.scored_notes.toPandas().set_index("noteId")
    assert outcome.notes_output == len(notes) > 0
    assert notes.internalNoteIntercept.notna().all()
    # Bridging notes (liked by both camps) come out above the bad notes (disliked by both). Some
    # intercepts are exactly 0: the trial's strong diamond penalty (|i_n * f_n|) puts them there.
    bridging = notes.loc[notes.index < FIRST_NOTE + 100, "internalNoteIntercept"]
    bad = notes.loc[notes.index >= FIRST_NOTE + 200, "internalNoteIntercept"]
    assert len(bridging) == len(bad) == 5
    assert bridging.mean() > 0.1 > 0 > bad.mean()


def test_final_scoring_refits_the_raters_it_reads(outcome):
    """The reference's round 2 is a fresh model: final scoring's "frozen" raters move (§3.9),
    and the note statistics and rater output use the refitted ones."""
    run = outcome.run
    key = ["raterParticipantId", "internalRaterIntercept"]
    prescoring = run.prescoring.second_round.raters.select(*key).toPandas().set_index(key[0])
    final = run.final.final_raters.select(*key).toPandas().set_index(key[0])
    assert len(final) > 0 and set(final.index) <= set(prescoring.index)
    moved = (final[key[1]] - prescoring.loc[final.index, key[1]]).abs()
    assert moved.max() > 1e-6
