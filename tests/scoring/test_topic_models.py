"""Topic models' building blocks on tiny frames: the rating selection, the confidence bit and
the helpfulness table of a model without the reputation filter (reference §4.4, §4.11 rule 15)."""

from __future__ import annotations

from pathlib import Path

from chispa import assert_df_equality

from cnscore.scoring.helpfulness import everyone_helpful
from cnscore.scoring.topics import TOPIC_CONFIDENT, topic_selector, with_topic_confidence
from jobs._models import load_models_file

SPECS = {s.name: s for s in load_models_file(Path(__file__).resolve().parents[2] / "conf" / "models.yml")}
GAZA = SPECS["MFTopicScorer_GazaConflict"]


def test_a_topic_model_takes_every_raters_ratings_on_its_topic_notes_only(spark):
    topics = spark.createDataFrame([(1, "GazaConflict"), (2, "Scams")], "noteId bigint, noteTopic string")
    ratings = spark.createDataFrame([(1, "a", None), (1, "b", 13.0), (2, "a", 13.0), (3, "c", 1.0)],
                                    "noteId bigint, raterParticipantId string, modelingGroup double")
    chosen = topic_selector(topics, "GazaConflict")(ratings)
    assert_df_equality(chosen, ratings.where("noteId = 1"), ignore_row_order=True)


def test_confidence_needs_five_ratings_on_each_factor_side(spark):
    scored = spark.createDataFrame([(1, 5, 5), (2, 5, 4), (3, 4, 5), (4, None, 9), (5, 12, 6)],
                                   "noteId bigint, posFactorRatingCount int, negFactorRatingCount int")
    out = {r.noteId: r[TOPIC_CONFIDENT] for r in with_topic_confidence(scored, GAZA.topic).collect()}
    assert out == {1: True, 2: False, 3: False, 4: False, 5: True}
    assert {r.noteTopic for r in with_topic_confidence(scored, GAZA.topic).collect()} == {"GazaConflict"}


def test_without_reputation_every_rater_with_parameters_counts_as_helpful(spark):
    raters = spark.createDataFrame([("a", 0.1, -0.3), ("b", 0.0, 0.4)],
                                   "raterParticipantId string, internalRaterIntercept double, internalRaterFactor1 double")
    table = everyone_helpful(raters)
    assert [(r.raterParticipantId, r.aboveHelpfulnessThreshold) for r in table.orderBy("raterParticipantId").collect()] \
        == [("a", True), ("b", True)]
    assert table.where("raterAgreeRatio is not null").count() == 0


def test_topic_models_are_configured_without_reputation_or_stable_init():
    for spec in SPECS.values():
        if spec.role == "topic":
            assert not spec.use_reputation and not spec.scoring.use_reputation and not spec.scoring.stable_init
        else:
            assert spec.use_reputation, spec.name
