"""Multi-model scoring on planted data: a group model promotes a note nobody else does
(shared docs/reference.md §4.10, §4.11 rule 7, §5.4).

Two communities:
- the core population: modeling group 13, two camps rating bridging / one-sided / bad notes;
- a small group: modeling group 1, its own two camps rating their own notes among themselves.
Group 1 belongs to the core population too, so Core sees every rating; what it adds is the
outside view. The target note is rated Helpful by both camps of group 1 and Not Helpful by a
few core raters: enough to keep Core's intercept inside the promotion band (0.3, 0.4) (Core:
NMR) while leaving >= 80% of the note's ratings in group 1, so the group model outputs it and
rates it Helpful. The control note is one-sided inside group 1 (camp C likes it, camp D does
not) with the same outside ratings: the group model does not rate it Helpful, so it stays NMR.

Group 2 has three raters and two notes: too few ratings to score, so its model is skipped. A
third group model fails on purpose; neither may cost group 1 its result.

The same run, stored as its tables, is then rerun for groups 1 and 3 (issue: the stage can be
rerun for one group): group 3 scores, and every other model and output stays as it was.

Group 14, the "expanded consensus" trial, has its own small community (notes 7000-7204) and
scores with its normalized loss (§3.9, §5.1) in the same run.

The core community's notes also test the Core pipeline itself (issue: bridging notes become
Helpful, one-sided ones do not, bad ones Not Helpful; first-time Helpful notes wait in
stabilisation), on the same run the job makes (`run_models`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cnscore import schemas
from cnscore.config import ConfigError, ScoreConfig
from cnscore.mf import normalized_loss
from cnscore.scoring import multi_model
from cnscore.scoring.multi_model import FAILED, SCORED, SKIPPED, combine_outputs, combine_raters, run_models
from cnscore.scoring.outputs import post_score
from cnscore.scoring.rerun import rerun_models, run_tables
from cnscore.scoring.status import CRH, CRNH, FIRM_REJECT, NMR
from cnscore.synthetic import conform_to_schema
from jobs._models import load_models_file

NOW = 1_795_305_600_000
DAY = 86_400_000
MISLEADING = "MISINFORMED_OR_POTENTIALLY_MISLEADING"
TARGET, CONTROL = 9_001, 9_002
CORE_GROUP, SMALL_GROUP, TINY_GROUP, FAILING_GROUP, TRIAL_GROUP = 13, 1, 2, 3, 14
TRIAL_NOTES = 7_000  # group 14's bridging notes 7000-7004, one-sided 7100-7119, bad 7200-7204
TRIAL_ONE_SIDED = 20
KINDS = ("bridging", "one_sided", "bad")  # the kinds of `_Planted.community`, in note-id order
OUTSIDE_NOT_HELPFUL = 5  # core raters' Not Helpful ratings on the target and control notes
GROUP_NOT_HELPFUL = 3  # group members' Not Helpful ratings on the target
REFITS: list[int] = []  # ratings per call of the normalized loss's final-scoring refit, in the `multi` run
SPECS = load_models_file(Path(__file__).resolve().parents[2] / "conf" / "models.yml")


def _spec(role: str, group_id: int | None = None):
    return next(s for s in SPECS if s.role == role and s.group_id == group_id)


class _Planted:
    """Rows of the planted tables, built note by note."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.notes: list[dict] = []
        self.ratings: list[dict] = []
        self.groups: dict[str, float] = {}

    def raters(self, prefix: str, count: int, group: int) -> list[str]:
        ids = [f"{prefix}{i:03d}" for i in range(count)]
        self.groups.update({r: float(group) for r in ids})
        return ids

    def note(self, note_id: int, created: int) -> None:
        self.notes.append({"noteId": note_id, "noteAuthorParticipantId": f"W{note_id}", "createdAtMillis": created,
                           "tweetId": 50_000 + note_id, "classification": MISLEADING, "summary": "planted note"})

    def rate(self, note_id: int, created: int, rater: str, helpful: bool, *, reasons: bool = True) -> None:
        """One rating; Helpful ones carry two helpful tags, Not Helpful ones two reasons unless
        `reasons` is false (then no tag filter can fire on the note: only intercepts matter)."""
        level, flagged = ("HELPFUL" if helpful else "NOT_HELPFUL"), int(not helpful and reasons)
        self.ratings.append({"noteId": note_id, "raterParticipantId": rater, "version": 2,
                             "createdAtMillis": created + int(self.rng.integers(60_000, DAY)),
                             "helpfulnessLevel": level, "ratedOnTweetId": 50_000 + note_id,
                             "helpfulInformative": int(helpful), "helpfulClear": int(helpful),
                             "notHelpfulMissingKeyPoints": flagged, "notHelpfulOffTopic": flagged})

    def community(self, first_id: int, camps: tuple[list[str], list[str]], per_kind: int, per_note: int,
                  *, one_sided: int | None = None, both_camps: bool = False) -> None:
        """Bridging, one-sided and bad notes rated inside one community (its two camps).

        one_sided: how many one-sided notes (default per_kind); both_camps: every other one is
        liked by the second camp instead of the first.
        """
        members = camps[0] + camps[1]
        for k, kind in enumerate(KINDS):
            for j in range(one_sided or per_kind if kind == "one_sided" else per_kind):
                note_id, created = first_id + 100 * k + j, NOW - 5 * DAY + j * 60_000
                self.note(note_id, created)
                fans = camps[j % 2] if both_camps else camps[0]
                for rater in self.rng.choice(members, size=per_note, replace=False):
                    p = {"bridging": 0.9, "bad": 0.1}.get(kind, 0.9 if rater in fans else 0.1)
                    self.rate(note_id, created, rater, self.rng.random() < p)


def planted_tables(spark, seed: int = 11):
    p = _Planted(seed)
    core_camps = (p.raters("RA", 60, CORE_GROUP), p.raters("RB", 60, CORE_GROUP))
    group_camps = (p.raters("GC", 15, SMALL_GROUP), p.raters("GD", 15, SMALL_GROUP))
    tiny = p.raters("T", 3, TINY_GROUP)
    p.community(1_000, core_camps, per_kind=15, per_note=40)
    p.community(5_000, group_camps, per_kind=8, per_note=20)
    created = NOW - 4 * DAY
    outsiders = list(p.rng.choice(core_camps[0] + core_camps[1], size=2 * OUTSIDE_NOT_HELPFUL, replace=False))
    # A few group members dislike the target too: it stays Helpful inside the group, a little
    # less so, which puts Core's intercept (lower for the group's notes anyway) in the band.
    half = GROUP_NOT_HELPFUL // 2
    doubters = group_camps[0][:half] + group_camps[1][:GROUP_NOT_HELPFUL - half]
    liked = [r for r in group_camps[0] + group_camps[1] if r not in doubters]
    for note_id, liked_by in ((TARGET, liked), (CONTROL, group_camps[0])):
        p.note(note_id, created)
        for rater in group_camps[0] + group_camps[1]:
            p.rate(note_id, created, rater, rater in liked_by, reasons=False)
        for rater in outsiders[:OUTSIDE_NOT_HELPFUL] if note_id == TARGET else outsiders[OUTSIDE_NOT_HELPFUL:]:
            p.rate(note_id, created, rater, False, reasons=False)
    for note_id in (8_001, 8_002):  # group 2's notes: too few ratings to score
        p.note(note_id, created)
        for rater in tiny:
            p.rate(note_id, created, rater, True)
    # Group 14's community, drawn from its own generator: the rows above stay as they were.
    # Its one-sided notes (ten per camp) make the factor the camps' axis. With one-sided notes
    # of one camp only, the trial's weak factor penalties make a factor shared by all raters
    # the cheaper way to say "helpful" (in the reference's MF too): intercepts near 0.
    trial = _Planted(seed=5)
    trial.community(TRIAL_NOTES, (trial.raters("NA", 10, TRIAL_GROUP), trial.raters("NB", 10, TRIAL_GROUP)),
                    per_kind=5, per_note=16, one_sided=TRIAL_ONE_SIDED, both_camps=True)
    p.notes += trial.notes
    p.ratings += trial.ratings
    p.groups.update(trial.groups)
    enrollment = pd.DataFrame({"participantId": list(p.groups), "enrollmentState": "earnedIn",
                               "successfulRatingNeededToEarnIn": 5, "timestampOfLastStateChange": NOW - 90 * DAY,
                               "timestampOfLastEarnOut": 1.0, "modelingPopulation": "CORE",
                               "modelingGroup": list(p.groups.values()), "numberOfTimesEarnedOut": 0})
    # The target was Helpful in the previous run, so stabilisation (§4.12) leaves the label to
    # the meta rules; a first-time Helpful note would wait 30-60 minutes as NMR.
    history = pd.DataFrame([{"noteId": TARGET, "noteAuthorParticipantId": f"W{TARGET}", "createdAtMillis": created,
                             "currentStatus": CRH, "timestampMillisOfCurrentStatus": float(NOW - DAY)}])
    frames = {"notes": (pd.DataFrame(p.notes), schemas.NOTES),
              "ratings": (pd.DataFrame(p.ratings), schemas.RATINGS),
              "userEnrollment": (enrollment, schemas.USER_ENROLLMENT),
              "noteStatusHistory": (history, schemas.NOTE_STATUS_HISTORY)}
    return {name: spark.createDataFrame(conform_to_schema(df, schema), schema=schema)
            for name, (df, schema) in frames.items()}


@pytest.fixture(scope="module")
def multi(spark):
    tables = planted_tables(spark)
    core, group, tiny = _spec("core"), _spec("group", SMALL_GROUP), _spec("group", TINY_GROUP)
    trial = _spec("group", TRIAL_GROUP)
    assert trial.normalized_loss is not None and multi_model.unsupported_reason(trial) is None
    # Group 3's model on group 1's raters (so it has ratings to score), failing in scoring.
    failing = dataclasses.replace(_spec("group", FAILING_GROUP),
                                  scoring=dataclasses.replace(group.scoring, model_name="failing"))
    real = multi_model.score_prepared

    def score_or_fail(prepared, mf, cfg, **kwargs):
        if cfg.model_name == "failing":
            raise RuntimeError("planted failure")
        return real(prepared, mf, cfg, **kwargs)

    refit = normalized_loss.refit_final

    def counted_refit(ratings, raters, cfg):
        REFITS.append(ratings.count())
        return refit(ratings, raters, cfg)

    cfg = ScoreConfig()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(multi_model, "score_prepared", score_or_fail)
        patch.setattr(normalized_loss, "refit_final", counted_refit)
        run = run_models(tables, [core, group, tiny, failing, trial], cfg.mf, cfg.coordination)
    outputs = post_score(run.core, tables, NOW, cfg.scoring, specs=run.specs,
                         model_notes=combine_outputs(run.outcomes, run.core.history),
                         model_raters=combine_raters(run.outcomes))
    scored = outputs["scored_notes"].toPandas().set_index("noteId")
    return run, scored, outputs


def test_the_group_model_promotes_the_note_nobody_else_does(multi):
    _, scored, _ = multi
    target = scored.loc[TARGET]
    assert 0.3 < target.coreNoteIntercept < 0.4, target.coreNoteIntercept  # inside the band
    assert target.coreRatingStatus == NMR
    assert target.groupRatingStatus == CRH and target.modelingGroup == SMALL_GROUP
    assert target.finalRatingStatus == CRH
    assert target.decidedBy == "GroupModel01 (v1.1)"
    assert target.metaScorerActiveRules == "MetaInitialNMR (v1.0),CoreModel (v1.1),GroupModel01 (v1.1)"


def _core_community(scored: pd.DataFrame) -> pd.DataFrame:
    """The core community's notes (ids 1000 + 100 * kind + j) with their kind."""
    notes = scored.loc[[n for n in scored.index if n < 5_000]].copy()
    notes["kind"] = [KINDS[(n - 1_000) // 100] for n in notes.index]
    return notes


def test_core_makes_bridging_notes_helpful_and_one_sided_ones_not(multi):
    _, scored, _ = multi
    core = _core_community(scored)
    status = {kind: group.coreRatingStatus for kind, group in core.groupby("kind")}
    assert {kind: len(s) for kind, s in status.items()} == {kind: 15 for kind in KINDS}
    assert (status["bridging"] == CRH).mean() >= 0.9
    assert not (status["one_sided"] == CRH).any()
    assert (status["bad"] == CRNH).mean() >= 0.9
    mean = core.groupby("kind").coreNoteIntercept.mean()
    assert mean["bridging"] > mean["one_sided"] + 0.2 > mean["bad"] + 0.2


def test_new_helpful_notes_wait_in_stabilisation(multi):
    """No status history: a note newly Helpful is NMR in its first run (reference §4.12)."""
    _, scored, outputs = multi
    core = _core_community(scored)
    waiting = core[core.coreRatingStatus == CRH]
    assert len(waiting) >= 10
    assert (waiting.finalRatingStatus == NMR).all()
    assert (waiting.decidedBy == "NmrDueToMinStableCrhTime (v1.0)").all()
    assert (waiting.timestampMillisOfNmrDueToMinStableCrhTime == NOW).all()
    history = outputs["note_status_history"].toPandas().set_index("noteId").loc[waiting.index]
    assert (history.currentStatus == NMR).all()


def test_a_note_the_group_does_not_like_stays_nmr(multi):
    _, scored, _ = multi
    control = scored.loc[CONTROL]
    assert control.modelingGroup == SMALL_GROUP and control.groupRatingStatus != CRH
    assert control.coreRatingStatus in (NMR, FIRM_REJECT)  # one-sided: Core does not like it either
    assert control.finalRatingStatus == NMR and control.decidedBy == "CoreModel (v1.1)"


def test_group_outputs_are_coalesced_and_only_for_captured_notes(multi):
    run, scored, outputs = multi
    # Core's own notes have < 80% of their ratings from group 1: no group columns there.
    core_notes = scored.loc[[n for n in scored.index if n < 5_000]]
    assert core_notes.groupRatingStatus.isna().all() and core_notes.modelingGroup.isna().all()
    group_notes = scored.loc[[n for n in scored.index if 5_000 <= n < TRIAL_NOTES]]
    assert (group_notes.modelingGroup == SMALL_GROUP).all() and group_notes.groupNoteIntercept.notna().all()
    history = outputs["note_status_history"].toPandas().set_index("noteId")
    target = history.loc[TARGET]
    assert target.currentGroupStatus == CRH and target.currentModelingGroup == SMALL_GROUP
    helpfulness = outputs["helpfulness_scores"].toPandas().set_index("raterParticipantId")
    assert helpfulness.loc[[r for r in helpfulness.index if r.startswith("GC")]].groupRaterIntercept.notna().all()


def test_a_too_small_or_failing_group_is_dropped_and_the_others_kept(multi):
    run, scored, _ = multi
    states = {o.spec.group_id: o.state for o in run.outcomes if o.spec.role == "group"}
    assert states == {SMALL_GROUP: SCORED, TINY_GROUP: SKIPPED, FAILING_GROUP: FAILED, TRIAL_GROUP: SCORED}
    assert [s.group_id for s in run.specs if s.role == "group"] == [SMALL_GROUP, TRIAL_GROUP]
    assert scored.loc[[8_001, 8_002]].groupRatingStatus.isna().all()
    failed = next(o for o in run.outcomes if o.state == FAILED)
    assert "planted failure" in failed.reason


@pytest.fixture(scope="module")
def rerun(spark, multi, tmp_path_factory):
    """Groups 1 and 3 scored again from the multi run's tables (through Parquet, as the job
    stores them): group 1 on the distributed engine, group 3 with its models.yml settings (the
    multi run's planted failure fixed)."""
    run, _, _ = multi
    stored = tmp_path_factory.mktemp("earlier_run")
    previous = {}
    for name, table in run_tables(run).items():
        table.write.parquet(str(stored / name))
        previous[name] = spark.read.parquet(str(stored / name))
    group = _spec("group", SMALL_GROUP)
    assert dict(group.mf_overrides)["engine"] == "auto"
    distributed = dataclasses.replace(group, mf_overrides=(*group.mf_overrides, ("engine", "distributed")))
    fixed = _spec("group", FAILING_GROUP)
    specs = [{group.name: distributed, fixed.name: fixed}.get(o.spec.name, o.spec) for o in run.outcomes]
    cfg = ScoreConfig()
    tables = planted_tables(spark)
    again = rerun_models(tables, specs, previous, [group.name, fixed.name], cfg.mf, cfg.coordination, parallelism=1)
    outputs = post_score(again.core, tables, NOW, cfg.scoring, specs=again.specs,
                         model_notes=combine_outputs(again.outcomes, again.core.history),
                         model_raters=combine_raters(again.outcomes))
    return again, outputs, previous


def test_the_one_stage_run_matches_the_sequential_distributed_run(multi, rerun):
    """The multi run fitted group models side by side, each fit in one pandas-UDF call
    (models.yml: engine auto); the rerun fitted group 1 alone on the distributed engine."""
    cols = ["noteId", "internalNoteIntercept", "internalNoteFactor1", "ratingStatus"]

    def notes(outcomes):
        found = next(o for o in outcomes if o.spec.role == "group" and o.spec.group_id == SMALL_GROUP)
        assert found.run is not None  # fitted in that run, not read from its tables
        return found.run.scored_notes.select(*cols).toPandas().sort_values("noteId").reset_index(drop=True)

    one_stage, sequential = notes(multi[0].outcomes), notes(rerun[0].outcomes)
    assert len(one_stage) == len(sequential) > 10
    assert (one_stage.noteId.to_numpy() == sequential.noteId.to_numpy()).all()
    assert (one_stage.ratingStatus == sequential.ratingStatus).all()
    np.testing.assert_allclose(one_stage[cols[1:3]].to_numpy(), sequential[cols[1:3]].to_numpy(), atol=1e-6)


def test_a_rerun_of_two_groups_keeps_every_other_model_and_output(multi, rerun):
    """Core, group 2 (skipped) and group 14 come from the earlier run's tables; group 3, which
    failed there, is skipped now (no rater of the planted data is in group 3); every output
    table is the earlier run's."""
    run, _, outputs = multi
    again, rerun_outputs, _ = rerun
    before = {o.spec.name: o for o in run.outcomes}
    states = {o.spec.group_id: o.state for o in again.outcomes if o.spec.role == "group"}
    assert states == {SMALL_GROUP: SCORED, TINY_GROUP: SKIPPED, FAILING_GROUP: SKIPPED, TRIAL_GROUP: SCORED}
    assert "count filter" in next(o for o in again.outcomes if o.spec.group_id == FAILING_GROUP).reason
    for o in again.outcomes:
        if o.spec.group_id == SMALL_GROUP:
            assert o.run is not None, o.spec.name
        elif o.spec.group_id != FAILING_GROUP:
            assert o.run is None or o.spec.role == "core", o.spec.name  # stored
            assert (o.state, o.notes_output) == (before[o.spec.name].state, before[o.spec.name].notes_output)
    for name in ("scored_notes", "helpfulness_scores", "note_status_history", "aux_note_info"):
        key = "raterParticipantId" if name == "helpfulness_scores" else "noteId"
        expected = outputs[name].toPandas().sort_values(key, ignore_index=True)
        got = rerun_outputs[name].toPandas().sort_values(key, ignore_index=True)
        assert list(got.columns) == list(expected.columns), name
        numeric = [c for c in expected.columns if pd.api.types.is_float_dtype(expected[c])]
        pd.testing.assert_frame_equal(got.drop(columns=numeric), expected.drop(columns=numeric), obj=name)
        # Group 1's numbers went through another engine (equal to 1e-6 above); the rest is read back.
        np.testing.assert_allclose(got[numeric].to_numpy(float), expected[numeric].to_numpy(float), atol=1e-6,
                                   equal_nan=True, err_msg=name)


def test_a_rerun_refuses_authorities_unknown_names_and_other_selections(spark, multi, rerun):
    run, _, _ = multi
    _, _, previous = rerun
    specs = [o.spec for o in run.outcomes]
    cfg = ScoreConfig()
    with pytest.raises(ConfigError, match="running every model again"):
        rerun_models({}, specs, previous, [_spec("core").name], cfg.mf, cfg.coordination)
    with pytest.raises(ConfigError, match="not among the selected models"):
        rerun_models({}, specs, previous, ["NoSuchScorer"], cfg.mf, cfg.coordination)
    with pytest.raises(ConfigError, match="earlier run selected"):
        rerun_models({}, specs[:-1], previous, [_spec("group", SMALL_GROUP).name], cfg.mf, cfg.coordination)
    with pytest.raises(ConfigError, match="model_rater_params"):
        rerun_models({}, specs, {k: v for k, v in previous.items() if k != "model_rater_params"},
                     [_spec("group", SMALL_GROUP).name], cfg.mf, cfg.coordination)


def _trial(run):
    return next(o for o in run.outcomes if o.spec.group_id == TRIAL_GROUP)


def test_group_14_scores_its_notes_with_the_normalized_loss(multi):
    run, scored, _ = multi
    outcome = _trial(run)
    assert outcome.state == SCORED, outcome.reason
    notes = outcome.run.scored_notes.toPandas().set_index("noteId")
    assert outcome.notes_output == len(notes) == 10 + TRIAL_ONE_SIDED
    assert notes.internalNoteIntercept.notna().all()
    # Bridging notes (liked by both camps) come out above the bad notes (disliked by both), and
    # the one-sided notes' camp split is in their factors. The trial's strong diamond penalty
    # (|i_n * f_n|) puts many notes' intercept or factor at exactly 0.
    bridging = notes.loc[notes.index < TRIAL_NOTES + 100, "internalNoteIntercept"]
    bad = notes.loc[notes.index >= TRIAL_NOTES + 200, "internalNoteIntercept"]
    assert len(bridging) == len(bad) == 5
    assert bridging.mean() > 0.1 > 0 > bad.mean()
    one_sided = notes.index.to_series().between(TRIAL_NOTES + 100, TRIAL_NOTES + 199)
    factor = notes.internalNoteFactor1.abs()
    assert factor[one_sided].mean() > 0.3 > factor[notes.index < TRIAL_NOTES + 100].mean()
    assert (scored.loc[notes.index].modelingGroup == TRIAL_GROUP).all()


def test_group_14_final_scoring_refits_the_raters_it_reads(multi):
    """The reference's round 2 is a fresh model: final scoring trains the raters it reads
    again (§3.9; refit_final, whose own test shows raters and mu moving), and the note
    statistics and rater output use the refitted ones. Here final scoring has prescoring's
    ratings and its raters' factor signs, hence the same weights and objective: the refit
    lands back on prescoring's raters."""
    run = _trial(multi[0]).run
    assert REFITS and all(n > 0 for n in REFITS)  # only the trial has a normalized loss
    key = ["raterParticipantId", "internalRaterIntercept"]
    prescoring = run.prescoring.second_round.raters.select(*key).toPandas().set_index(key[0])
    final = run.final.final_raters.select(*key).toPandas().set_index(key[0])
    assert len(final) > 0 and set(final.index) <= set(prescoring.index)
    moved = (final[key[1]] - prescoring.loc[final.index, key[1]]).abs()
    assert moved.max() < 1e-4
