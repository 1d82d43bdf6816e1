"""The Core model end to end: inputs -> prescoring -> final scoring -> scored notes.

`cnscore` never reads files: the caller passes the input DataFrames (canonical schemas) and,
when the coordination stage ran, its rater flags.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import HELPFUL_TAGS_TSV_ORDER, NOT_HELPFUL_TAGS_TSV_ORDER, RatingCols
from cnscore.config import CoordinationConfig, MFConfig
from cnscore.coordination.high_volume import high_volume_raters
from cnscore.coordination.schemas import CoordCols
from cnscore.coordination.stage import apply_post_selection, with_high_volume_flag
from cnscore.mf.worker import settle_engine
from cnscore.preprocess import filter_labeled_ratings
from cnscore.scoring import inputs as scoring_inputs
from cnscore.scoring.final import FinalResult, score_final
from cnscore.scoring.fits import IdSpace
from cnscore.scoring.gaussian_kernel import GaussianConfig
from cnscore.scoring.prescoring import PrescoringResult, prescore
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.topics import note_topics

log = logging.getLogger(__name__)
NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
GROUP_ID, CLIQUE_ID = CoordCols.GROUP_ID, CoordCols.CLIQUE_ID


@dataclass(frozen=True)
class CoreRun:
    ratings: DataFrame  # preprocessed, post-selection-filtered ratings of every rater
    history: DataFrame  # status history with every note and its classification
    topics: DataFrame  # noteId, noteTopic
    prescoring: PrescoringResult
    final: FinalResult
    scored_notes: DataFrame  # notes the model outputs (capture threshold applied)
    ids: IdSpace  # the dense ids its parameters are keyed by


# What scoring reads from a rating; everything else is dropped before the lineage is cut.
RATING_COLUMNS = (NOTE_ID, RATER_ID, RatingCols.CREATED_AT, RatingCols.HELPFUL_NUM, RatingCols.HELPFULNESS_LEVEL,
                  RatingCols.RATING_SOURCE, "highVolumeRater", "modelingGroup",
                  *HELPFUL_TAGS_TSV_ORDER, *NOT_HELPFUL_TAGS_TSV_ORDER)


def _cut(df: DataFrame) -> DataFrame:
    """Materialize and drop the lineage: later plans (dozens of fits and joins) would otherwise
    carry the readers' parsing plan, and planning time grows with it."""
    return df.localCheckpoint(eager=True)


def prepare_ratings(ratings: DataFrame, notes: DataFrame, history: DataFrame, enrollment: DataFrame | None,
                    rater_flags: DataFrame, cfg: ScoringConfig) -> DataFrame:
    """Labelled ratings with highVolumeRater and modelingGroup, filtered by note type (§1.6)."""
    flagged = with_high_volume_flag(filter_labeled_ratings(ratings), rater_flags)
    kept = scoring_inputs.filter_ratings_by_note_type(flagged, notes, history, cfg)
    return scoring_inputs.with_modeling_group(kept, enrollment)


def final_scoring_flags(rater_flags: DataFrame) -> DataFrame:
    """The flags final scoring applies: the reference keeps only raters that have both a
    post-selection group and a quasi-clique (it drops rows with either missing), so a group
    member outside every clique is not collapsed there, and only those raters count as
    correlated. Prescoring uses every group."""
    both = F.col(GROUP_ID).isNotNull() & F.col(CLIQUE_ID).isNotNull()
    return rater_flags.select(RATER_ID, F.when(both, F.col(GROUP_ID)).alias(GROUP_ID),
                              F.when(both, F.col(CLIQUE_ID)).alias(CLIQUE_ID))


def post_selected(ratings: DataFrame, notes: DataFrame, flags: DataFrame | None,
                  coordination: CoordinationConfig) -> DataFrame:
    if flags is None or GROUP_ID not in flags.columns:
        return ratings
    return apply_post_selection(ratings, notes, flags, cfg=coordination).drop("correlatedRater")


def captured_notes(ratings: DataFrame, cfg: ScoringConfig) -> DataFrame:
    """Notes whose ratings come from the model's population at least capture_threshold of the time."""
    member = scoring_inputs.in_population(cfg).cast("double")
    shares = ratings.groupBy(NOTE_ID).agg(F.avg(member).alias("_share"))
    return shares.where(F.col("_share") >= cfg.capture_threshold).select(NOTE_ID)


@dataclass(frozen=True)
class CoreInputs:
    """Everything the two scoring phases read, prepared once."""

    history: DataFrame
    ratings: DataFrame  # final-scoring ratings of every rater (post selection as final applies it)
    topics: DataFrame
    ids: IdSpace
    pre_model: DataFrame  # prescoring's densified model ratings
    final_model: DataFrame  # final scoring's densified model ratings
    correlated: DataFrame | None  # raterParticipantId of correlated raters (final scoring)
    num_ratings: int  # the larger of pre_model's and final_model's row counts

    def mf_config(self, mf: MFConfig) -> MFConfig:
        """mf with engine "auto" settled for this model's size (`settle_engine`)."""
        return settle_engine(mf, self.num_ratings)


@dataclass(frozen=True)
class SharedInputs:
    """The inputs every model reads (every rater's ratings), prepared once per run."""

    history: DataFrame
    prepared: DataFrame  # labelled, type-filtered ratings before post selection (id spaces)
    pre_ratings: DataFrame  # prescoring's ratings (post selection with every group)
    ratings: DataFrame  # final scoring's ratings (post selection as final applies it)
    topics: DataFrame
    correlated: DataFrame | None  # raterParticipantId of correlated raters (final scoring)


# A model's rating selection: every rater's ratings in, the model's ratings out (§4.4.1).
Selector = Callable[[DataFrame], DataFrame]


def prepare_shared(tables: dict[str, DataFrame], cfg: ScoringConfig, coordination: CoordinationConfig,
                   rater_flags: DataFrame | None) -> SharedInputs:
    """Preprocess the inputs once for every model of the run.

    tables: "notes", "ratings", optionally "noteStatusHistory" and "userEnrollment".
    rater_flags: the coordination stage's rater_flags (isHighVolume, postSelectionGroupId,
        quasiCliqueId); None computes the high-volume flag here and applies no post selection.
    """
    notes = tables["notes"]
    history = _cut(scoring_inputs.status_history_with_notes(notes, tables.get("noteStatusHistory")))
    labelled = filter_labeled_ratings(tables["ratings"])
    hv_flags = rater_flags if rater_flags is not None else high_volume_raters(labelled, coordination).raters
    # Persisted, not cut: each model builds its id space from it, and the plan (hence the
    # ratings' order within partitions) stays the one Core has always used.
    prepared = prepare_ratings(labelled, notes, history, tables.get("userEnrollment"), hv_flags, cfg).persist()
    pre_ratings = _cut(post_selected(prepared, notes, rater_flags, coordination).select(*RATING_COLUMNS))
    final_flags = None if rater_flags is None else final_scoring_flags(rater_flags)
    ratings = _cut(post_selected(prepared, notes, final_flags, coordination).select(*RATING_COLUMNS))
    topics = _cut(note_topics(notes, cfg.topic_classifier))
    correlated = None
    if final_flags is not None:
        correlated = final_flags.where(F.col(CLIQUE_ID).isNotNull()).select(RATER_ID)
    return SharedInputs(history, prepared, pre_ratings, ratings, topics, correlated)


def prepare_model(shared: SharedInputs, cfg: ScoringConfig, select: Selector | None = None,
                  base_ids: IdSpace | None = None) -> CoreInputs:
    """One model's id space and densified prescoring / final-scoring ratings.

    select: the model's rating selection; None = its population without topic notes when
        configured (`scoring_inputs.model_ratings`).
    base_ids: the id space of the model whose prescoring this one reads (Core's, for the
        Gaussian coverage models), extended with this model's notes and raters; None: its own.
    """
    if select is None:
        def select(ratings: DataFrame) -> DataFrame:
            return scoring_inputs.model_ratings(ratings, shared.topics, cfg)
    mine = select(shared.prepared)
    ids = IdSpace.build(mine) if base_ids is None else base_ids.extended(mine)
    pre_model = _cut(ids.densify(select(shared.pre_ratings)))
    final_model = _cut(ids.densify(select(shared.ratings)))
    num_pre, num_final = pre_model.count(), final_model.count()
    log.info("%s: %d ratings in the model's population (%d in final scoring)", cfg.model_name, num_pre, num_final)
    return CoreInputs(shared.history, shared.ratings, shared.topics, ids, pre_model, final_model,
                      shared.correlated, max(num_pre, num_final))


def prepare_core(tables: dict[str, DataFrame], cfg: ScoringConfig, coordination: CoordinationConfig,
                 rater_flags: DataFrame | None) -> CoreInputs:
    """Preprocess the inputs and select the model's ratings for prescoring and final scoring
    (prepare_shared, then prepare_model)."""
    shared = prepare_shared(tables, cfg, coordination, rater_flags)
    prepared = prepare_model(shared, cfg)
    shared.prepared.unpersist()  # everything prepare_model built from it is materialized
    return prepared


def captured(final: FinalResult, prepared: CoreInputs, cfg: ScoringConfig) -> DataFrame:
    """The model's scored notes that pass the capture threshold (non-topic notes only)."""
    return capture(final.scored_notes, prepared, cfg)


def capture(scored_notes: DataFrame, prepared: CoreInputs, cfg: ScoringConfig) -> DataFrame:
    """The rows of `scored_notes` whose notes pass the capture threshold over every rater's
    final-scoring ratings (§4.5 step 6); topic notes dropped when the model excludes them."""
    ratings = prepared.ratings
    if cfg.exclude_topic_notes:
        ratings = ratings.join(prepared.topics, NOTE_ID, "left_anti")
    return scored_notes.join(captured_notes(ratings, cfg), NOTE_ID, "left_semi")


def score_prepared(prepared: CoreInputs, mf: MFConfig, cfg: ScoringConfig, *, pre: PrescoringResult | None = None,
                   gaussian: GaussianConfig | None = None) -> tuple[PrescoringResult, FinalResult]:
    """Prescoring, then final scoring, of one model on its prepared ratings.

    pre: another model's prescoring to score on (Core's, for the Gaussian coverage models;
        `prepared.ids` must then extend that model's id space); None: prescore here.
    gaussian: the Gaussian scorer's settings when the model's final algorithm is Gaussian.
    """
    mf = prepared.mf_config(mf)
    if pre is None:
        pre = prescore(prepared.pre_model, prepared.history, prepared.ids, mf, cfg)
    final = score_final(prepared.final_model, prepared.history, prepared.ids, pre, mf, cfg,
                        correlated_raters=prepared.correlated, gaussian=gaussian)
    return pre, final
