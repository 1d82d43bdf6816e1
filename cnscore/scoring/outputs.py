"""Post-scoring (shared docs/reference.md §4.10-4.15, §6) and the reference's four output tables.

From a Core run (plus, optionally, the combined outputs of the other models that ran:
cnscore.scoring.multi_model): meta scoring, explanation tags, the updated note status history,
contributor scores, and the tables scored_notes, helpfulness_scores, note_status_history and
aux_note_info with the reference's columns (columns of models that did not run are null), plus
our own explanations and pseudo-rater tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.io.reference_tsv import conform_reference
from cnscore.schemas import NOTE_STATUS_HISTORY
from cnscore.scoring.contributor import contributor_scores
from cnscore.scoring.meta import core_only, meta_score
from cnscore.scoring.models import ModelSpec
from cnscore.scoring.note_stats import note_stats
from cnscore.scoring.pipeline import CoreRun
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.sign_counts import NEG_POPULATION_SAMPLED, POS_POPULATION_SAMPLED
from cnscore.scoring.status import CRH, CRNH, NMR
from cnscore.scoring.status_history import update_status_history
from cnscore.scoring.topics import NOTE_TOPIC

PREFIX = "core"  # the model's column prefix in the reference's outputs
BOUND_COLUMNS = {"internalNoteIntercept_min": "NoteInterceptMin", "internalNoteIntercept_max": "NoteInterceptMax"}


def model_columns(scored: DataFrame, prefix: str) -> DataFrame:
    """One model's note columns under its output names (coreNoteIntercept, coreRatingStatus, ...)."""
    names = {
        "internalNoteIntercept": "NoteIntercept", "internalNoteFactor1": "NoteFactor1", "ratingStatus": "RatingStatus",
        "activeRules": "ActiveRules", "internalNoteInterceptNoHighVol": "NoteInterceptNoHighVol",
        "internalNoteInterceptNoCorrelated": "NoteInterceptNoCorrelated",
        "internalNoteInterceptPopulationSampled": "NoteInterceptPopulationSampled",
        "numFinalRoundRatings": "NumFinalRoundRatings", **BOUND_COLUMNS,
        # The reference's spelling: coreNegFactor_populationSampledRatingCount.
        NEG_POPULATION_SAMPLED: "NegFactor_populationSampledRatingCount",
        POS_POPULATION_SAMPLED: "PosFactor_populationSampledRatingCount",
    }
    cols = [F.col(src).alias(prefix + dst) for src, dst in names.items() if src in scored.columns]
    # The tag filter's result; models without a tag filter (the reputation model) have none.
    tags = [c for c in ("activeFilterTags",) if c in scored.columns]
    return scored.select("noteId", *cols, *tags)


def post_score(run: CoreRun, tables: dict[str, DataFrame], epoch_millis: int, cfg: ScoringConfig, *,
               specs: Sequence[ModelSpec] | None = None, model_notes: DataFrame | None = None,
               model_raters: DataFrame | None = None) -> dict[str, DataFrame]:
    """The output tables of a run: the four reference tables plus explanations and bounds.

    Args:
        run: the Core model's run (ratings, history and rater parameters come from it).
        specs: the models whose outputs `model_notes` holds (default: `meta.core_only`).
        model_notes: noteId and every model's output columns, coalesced per §4.10
            (`multi_model.combine_outputs`); default: the Core columns of `run`.
        model_raters: raterParticipantId and the other models' rater columns
            (groupRaterIntercept, modelingGroup, ...) for helpfulness_scores; default: none.
    """
    notes, history = tables["notes"], run.history
    stats = note_stats(run.ratings, history, epoch_millis).localCheckpoint()
    if model_notes is None:
        model_notes = model_columns(run.scored_notes, PREFIX)
    status = history.select("noteId").join(model_notes, "noteId", "left")
    specs = specs if specs is not None else core_only(cfg)
    meta = meta_score(status, history, stats, epoch_millis, cfg, specs=specs)
    scored = (meta.join(stats.drop("currentStatus", "lockedStatus"), "noteId", "left")
              .join(run.topics.withColumnRenamed(NOTE_TOPIC, "_seedTopic"), "noteId", "left")
              .withColumn("timestampMillisOfCurrentStatus", F.lit(float(epoch_millis))))
    # noteTopic: the topic model's (coalesced, §4.10) when one scored the note, else the seed topic.
    model_topic = F.col(NOTE_TOPIC) if NOTE_TOPIC in scored.columns else F.lit(None).cast("string")
    scored = scored.withColumn(NOTE_TOPIC, F.coalesce(model_topic, F.col("_seedTopic"))).drop("_seedTopic")
    # Checkpoints keep later plans small: contributor scores join these tables many times.
    scored = scored.localCheckpoint()
    old_history = tables.get("noteStatusHistory")
    if old_history is None:
        old_history = _empty_history(history)
    new_history = update_status_history(old_history, scored, notes, epoch_millis, cfg).localCheckpoint()
    raters = rater_table(run)
    if model_raters is not None:
        raters = raters.join(model_raters, "raterParticipantId", "full_outer")
    helpfulness = contributor_scores(
        run.ratings, notes, scored.select("noteId", "finalRatingStatus", "coreNoteIntercept", "numRatings",
                                          "numRatingsLast28"),
        new_history, tables["userEnrollment"], raters.localCheckpoint(), epoch_millis,
        cfg=cfg).localCheckpoint()
    aux = scored.join(run.final.scored_notes.drop("numRatings", "classification", "currentStatus",
                                                  "noteAuthorParticipantId", "activeFilterTags", *[c for c in stats.columns if c != "noteId"]),
                      "noteId", "left").select(
        "*",
        (F.col("finalRatingStatus") == NMR).alias("awaitingBool"),
        (F.col("finalRatingStatus") == CRH).alias("crhBool"),
        (F.col("finalRatingStatus") == CRNH).alias("crnhBool"),
        F.col("finalRatingStatus").alias("currentStatus"),
        F.col("lowDiligenceNoteIntercept").alias("lowDiligenceIntercept"),
    )
    return {
        "scored_notes": conform_reference(scored, "scored_notes", drop_extra=True),
        "aux_note_info": conform_reference(aux, "aux_note_info", drop_extra=True),
        "note_status_history": conform_reference(new_history, "note_status_history", drop_extra=True),
        "helpfulness_scores": conform_reference(helpfulness, "helpfulness_scores", drop_extra=True),
        "note_explanations": explanations(run, scored),
    }


def rater_table(run: CoreRun) -> DataFrame:
    """Core prescoring rater columns under the reference's output names."""
    pre = run.prescoring
    second = pre.second_round.raters.select("raterParticipantId", F.col("internalRaterIntercept").alias("coreRaterIntercept"),
                                            F.col("internalRaterFactor1").alias("coreRaterFactor1"))
    first = pre.first_round.raters.select("raterParticipantId",
                                          F.col("internalRaterIntercept").alias("coreFirstRoundRaterIntercept"),
                                          F.col("internalRaterFactor1").alias("coreFirstRoundRaterFactor1"))
    scores = pre.helpfulness.select("raterParticipantId", "crhCrnhRatioDifference", "meanNoteScore",
                                    "raterAgreeRatio", "aboveHelpfulnessThreshold")
    return scores.join(second, "raterParticipantId", "full_outer").join(first, "raterParticipantId", "full_outer")


def explanations(run: CoreRun, scored: DataFrame) -> DataFrame:
    """One row per note: final status, who decided it, and the Core rules with their numbers."""
    core = run.scored_notes.select("noteId", F.col("ratingStatus").alias("coreRatingStatus"), "activeRules",
                                   "explanation", "numRatings", "internalNoteIntercept", "internalNoteFactor1")
    final = scored.select("noteId", "finalRatingStatus", "decidedBy", "metaScorerActiveRules")
    why_final = F.concat(F.lit("final "), F.col("finalRatingStatus"), F.lit(" decided by "), F.col("decidedBy"))
    why_core = F.when(F.col("internalNoteIntercept").isNull(),
                      F.lit("Core: no intercept (fewer than 5 ratings from raters with Core parameters)"))
    return final.join(core, "noteId", "left").select(
        "noteId", "finalRatingStatus", "decidedBy", "coreRatingStatus", "numRatings", "internalNoteIntercept",
        "internalNoteFactor1", F.col("activeRules").alias("coreActiveRules"), "metaScorerActiveRules",
        F.concat_ws(". ", why_final, F.coalesce(why_core, F.concat(F.lit("Core: "), F.col("explanation"))))
        .alias("explanation"),
    )


def _empty_history(history: DataFrame) -> DataFrame:
    return history.sparkSession.createDataFrame([], NOTE_STATUS_HISTORY)

