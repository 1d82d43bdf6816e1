"""The MF engine on public ids: one id space per run, fits in and named parameter tables out.

Every fit of the pipeline (stable init, rounds 1 and 2, the frozen-rater final fits and the
pseudo-rater refits) goes through here, so ids are densified once and the tables carry both
the public id and the dense index. A normalized loss in the MFConfig (§3.9) makes a fit the two
rounds of cnscore.mf.normalized_loss.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import IdMapCols, ParamCols, RatingCols, factor_cols
from cnscore.config import MFConfig
from cnscore.ids import build_id_map, extend_id_map
from cnscore.mf.als import MFResult, fit_mf, fit_notes_frozen

P = ParamCols
NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID


@dataclass(frozen=True)
class IdSpace:
    """Dense ids for every note and rater of the run (sorted public ids -> 0..n-1)."""

    note_ids: DataFrame
    rater_ids: DataFrame

    @staticmethod
    def build(ratings: DataFrame) -> IdSpace:
        notes = build_id_map(ratings, NOTE_ID).localCheckpoint(eager=True)
        raters = build_id_map(ratings, RATER_ID).localCheckpoint(eager=True)
        return IdSpace(notes, raters)

    def extended(self, ratings: DataFrame) -> IdSpace:
        """This space plus the notes and raters of `ratings` it lacks (numbered after its own):
        parameters fitted in this space stay valid in the extended one."""
        notes = extend_id_map(self.note_ids, ratings, NOTE_ID).localCheckpoint(eager=True)
        raters = extend_id_map(self.rater_ids, ratings, RATER_ID).localCheckpoint(eager=True)
        return IdSpace(notes, raters)

    def densify(self, ratings: DataFrame) -> DataFrame:
        """Add noteIdx and raterIdx to ratings (every id must be in the space)."""
        notes = self.note_ids.select(F.col(IdMapCols.ENTITY_ID).cast("bigint").alias(NOTE_ID),
                                     F.col(IdMapCols.INDEX).alias(P.NOTE_IDX))
        raters = self.rater_ids.select(F.col(IdMapCols.ENTITY_ID).alias(RATER_ID),
                                       F.col(IdMapCols.INDEX).alias(P.RATER_IDX))
        return ratings.join(F.broadcast(notes), on=NOTE_ID).join(F.broadcast(raters), on=RATER_ID)


@dataclass(frozen=True)
class ModelParams:
    """Named parameters of one fit: notes and raters keyed by public id and dense index."""

    notes: DataFrame  # noteId, noteIdx, internalNoteIntercept, internalNoteFactor1..k
    raters: DataFrame  # raterParticipantId, raterIdx, internalRaterIntercept, internalRaterFactor1..k
    global_intercept: float
    result: MFResult


def _engine_view(params: DataFrame, key: str, intercept: str, prefix: str, k: int) -> DataFrame:
    return params.select(key, F.col(intercept).alias("intercept"),
                         *[F.col(n).alias(f) for n, f in zip(factor_cols(prefix, k), factor_cols("factor", k))])


def _named(params: DataFrame, key: str, public: str, intercept: str, prefix: str, ids: DataFrame,
           k: int, cast: str) -> DataFrame:
    mapping = ids.select(F.col(IdMapCols.INDEX).alias(key), F.col(IdMapCols.ENTITY_ID).cast(cast).alias(public))
    named = params.select(key, F.col("intercept").alias(intercept),
                          *[F.col(f).alias(n) for f, n in zip(factor_cols("factor", k), factor_cols(prefix, k))])
    # Checkpointed: parameter tables feed many later joins; their fit's plan should not.
    return named.join(F.broadcast(mapping), on=key).select(public, key, intercept, *factor_cols(prefix, k)).localCheckpoint(eager=True)


def note_engine_params(notes: DataFrame, k: int) -> DataFrame:
    return _engine_view(notes, P.NOTE_IDX, P.NOTE_INTERCEPT, P.NOTE_FACTOR_PREFIX, k)


def rater_engine_params(raters: DataFrame, k: int) -> DataFrame:
    return _engine_view(raters, P.RATER_IDX, P.RATER_INTERCEPT, P.RATER_FACTOR_PREFIX, k)


def _wrap(result: MFResult, ids: IdSpace, k: int, raters: DataFrame | None = None) -> ModelParams:
    notes = _named(result.notes, P.NOTE_IDX, NOTE_ID, P.NOTE_INTERCEPT, P.NOTE_FACTOR_PREFIX,
                   ids.note_ids, k, "bigint")
    if raters is None:
        raters = _named(result.raters, P.RATER_IDX, RATER_ID, P.RATER_INTERCEPT, P.RATER_FACTOR_PREFIX,
                        ids.rater_ids, k, "string")
    return ModelParams(notes, raters, result.global_intercept, result)


def mf_input(ratings: DataFrame) -> DataFrame:
    """The engine's view of densified ratings."""
    return ratings.select(P.RATER_IDX, P.NOTE_IDX, F.col(RatingCols.HELPFUL_NUM).cast("double").alias(P.LABEL))


def fit(ratings: DataFrame, ids: IdSpace, cfg: MFConfig, init: ModelParams | None = None,
        global_intercept: float | None = None) -> ModelParams:
    """A joint fit of notes, raters and mu on densified ratings, optionally warm-started."""
    k = cfg.num_factors
    result = fit_mf(
        mf_input(ratings), cfg,
        note_init=None if init is None else note_engine_params(init.notes, k),
        rater_init=None if init is None else rater_engine_params(init.raters, k),
        global_intercept_init=global_intercept,
    )
    return _wrap(result, ids, k)


def fit_frozen(ratings: DataFrame, ids: IdSpace, raters: DataFrame, global_intercept: float,
               cfg: MFConfig) -> ModelParams:
    """Notes solved exactly with raters and mu fixed (ratings by raters without params unused).

    With cfg.normalized_loss the reference's second round trains raters and mu again
    (cnscore.mf.normalized_loss.refit_final): the result then carries the refitted raters and mu.
    """
    k = cfg.num_factors
    result = fit_notes_frozen(mf_input(ratings), rater_engine_params(raters, k), global_intercept, cfg)
    return _wrap(result, ids, k, raters=raters if cfg.normalized_loss is None else None)
