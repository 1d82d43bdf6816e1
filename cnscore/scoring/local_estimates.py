"""Final scoring's note estimates from one collect, for models whose MF runs in memory.

Final scoring (`cnscore.scoring.final`) estimates each note's intercept on up to three
subsets of the model's ratings (without high-volume raters, without correlated raters,
population-sampled) and makes its main fit on all of them. Each subset goes through the same
final-round selection: notes with >= 5 of the subset's ratings, raters above the helpfulness
threshold with prescoring parameters. On the Spark path every subset is its own selection,
collect, solve and table, each with Spark jobs of its own. When the model is small enough for its MF
to run in memory (mf.engine settled to "worker"), the model's ratings are collected once,
with one flag per subset, and every estimate is computed from those arrays with the same
kernels: `mf.local.solve_notes_frozen` for the frozen-rater MF, `gaussian.score_rows` for the Gaussian
scorer. Rows are put in dense-id order first, so results do not depend on partitioning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.columns import IdMapCols, ParamCols, RatingCols, factor_cols
from cnscore.config import MFConfig
from cnscore.mf.local import solve_notes_frozen
from cnscore.scoring.collect import Collected, params_frame
from cnscore.scoring.counts import FINAL_MIN_RATINGS_PER_NOTE
from cnscore.scoring.fits import rater_engine_params
from cnscore.scoring.reputation_mf import RatingArrays

if TYPE_CHECKING:
    from cnscore.scoring.note_estimators import FinalFit, NoteEstimator
    from cnscore.scoring.prescoring import PrescoringResult

P = ParamCols
NOTE_ID, RATER_ID, HELPFUL_NUM = RatingCols.NOTE_ID, RatingCols.RATER_ID, RatingCols.HELPFUL_NUM
INTERCEPT, FACTOR = P.NOTE_INTERCEPT, P.NOTE_FACTOR_PREFIX + "1"
ELIGIBLE = "_eligible"  # the rater is above the helpfulness threshold and has prescoring parameters


@dataclass(frozen=True)
class Subset:
    """A subset of the model's ratings on which final scoring estimates note intercepts."""

    name: str  # the output column: the note intercept estimated on the subset
    keep: Column  # true on the model's ratings the subset holds (null: not held)
    cfg: MFConfig  # the frozen-rater refit's settings (its note penalty ratio)
    optional: bool = False  # left out, column and all, when the model has no such rating


@dataclass(frozen=True)
class LocalRatings:
    """The model's ratings as collected once: dense ids, label, eligibility, subset flags and
    whatever the estimator added; plus the prescoring raters' engine parameters and mu."""

    rows: pd.DataFrame
    rater_params: pd.DataFrame  # raterIdx, intercept, factor1..k (prescoring round 2)
    global_intercept: float

    def final_round(self, held: np.ndarray) -> np.ndarray:
        """The final-round selection within `held` rows: notes with >= 5 held ratings (by
        any rater), then only ratings by eligible raters."""
        note = self.rows[P.NOTE_IDX].to_numpy()
        counts = np.bincount(note[held], minlength=int(note.max()) + 1 if len(note) else 0)
        return held & (counts[note] >= FINAL_MIN_RATINGS_PER_NOTE) & self.rows[ELIGIBLE].to_numpy()


@dataclass(frozen=True)
class LocalEstimates:
    fit: FinalFit  # the main fit, on every final-round rating
    subsets: DataFrame  # noteId and one intercept column per subset
    ratings: LocalRatings  # the collected ratings, for the pseudo-rater refits
    selected: np.ndarray  # the final-round rows of `ratings` (the main fit's)

    def selected_arrays(self, target: str, rater_ids: pd.DataFrame) -> Collected:
        """The final-round ratings as `collect.collect_ratings` gives them (the same order and
        numbering), with the collected column `target` as the target. rater_ids: the model's
        id space's rater map (entityId, idx)."""
        rows = self.ratings.rows[self.selected]
        notes, first_of_note, note_pos = np.unique(rows[P.NOTE_IDX].to_numpy(), return_index=True,
                                                   return_inverse=True)
        raters, rater_pos = np.unique(rows[P.RATER_IDX].to_numpy(), return_inverse=True)
        public = rater_ids.set_index(IdMapCols.INDEX)[IdMapCols.ENTITY_ID].reindex(raters).to_numpy()
        arrays = RatingArrays(note_pos.astype(np.int64), rater_pos.astype(np.int64),
                              rows[target].to_numpy(dtype=float), len(notes), len(raters))
        return Collected(arrays, rows[NOTE_ID].to_numpy()[first_of_note], public)


def runs_in_memory(cfg: MFConfig) -> bool:
    """Whether final scoring estimates from one collect: the model's MF runs in memory
    (engine settled to "worker") and without a normalized loss, whose refit trains raters."""
    return cfg.engine == "worker" and cfg.normalized_loss is None


def frozen_notes(local: LocalRatings, kept: np.ndarray, cfg: MFConfig) -> pd.DataFrame:
    """noteId, internalNoteIntercept, internalNoteFactor1 of the frozen-rater refit on the
    kept rows (`cnscore.mf.als.fit_notes_frozen`, same solve)."""
    rows = local.rows[kept]
    _, notes, _ = solve_notes_frozen(rows[P.RATER_IDX].to_numpy(), rows[P.NOTE_IDX].to_numpy(),
                                     rows[HELPFUL_NUM].to_numpy(), local.rater_params, local.global_intercept, cfg)
    note_ids = rows.groupby(P.NOTE_IDX, sort=False)[NOTE_ID].first()
    return pd.DataFrame({NOTE_ID: note_ids.reindex(notes[P.NOTE_IDX]).to_numpy(np.int64),
                         INTERCEPT: notes["intercept"].to_numpy(float),
                         FACTOR: notes[factor_cols("factor", cfg.num_factors)[0]].to_numpy(float)})


def estimate_in_memory(ratings: DataFrame, pre: PrescoringResult, estimator: NoteEstimator,
                       subsets: list[Subset], cfg: MFConfig, extra: dict[str, Column] | None = None) -> LocalEstimates:
    """The subsets' intercepts and the main fit from one collect of `ratings` (the model's
    ratings, with the columns the subsets' `keep` read). cfg: the main fit's settings.
    extra: more columns to collect, by name, for later in-memory stages."""
    from cnscore.scoring.note_estimators import FinalFit  # the estimators import this module

    local = collect(ratings, pre, estimator, subsets, cfg.num_factors, extra or {})
    spark = ratings.sparkSession
    selected = local.final_round(np.ones(len(local.rows), dtype=bool))
    main = estimator.local_notes(local, selected, cfg)
    second = pre.second_round
    fit = FinalFit(params_frame(spark, main[[NOTE_ID, INTERCEPT, FACTOR]], f"{NOTE_ID} bigint", (INTERCEPT, FACTOR)),
                   second.raters, second.global_intercept)
    table = pd.DataFrame({NOTE_ID: pd.Series([], dtype=np.int64)})
    for i, subset in enumerate(subsets):
        held = local.rows[_flag(i)].to_numpy()
        if subset.optional and not held.any():
            continue
        kept = local.final_round(held)
        found = (estimator.local_notes(local, kept, subset.cfg, factor=False) if kept.any()
                 else pd.DataFrame({NOTE_ID: pd.Series([], dtype=np.int64), INTERCEPT: pd.Series([], dtype=float)}))
        table = table.merge(found[[NOTE_ID, INTERCEPT]].rename(columns={INTERCEPT: subset.name}), on=NOTE_ID,
                            how="outer")
    columns = [c for c in table.columns if c != NOTE_ID]
    return LocalEstimates(fit, params_frame(spark, table, f"{NOTE_ID} bigint", columns), local, selected)


def collect(ratings: DataFrame, pre: PrescoringResult, estimator: NoteEstimator, subsets: list[Subset],
            num_factors: int, extra: dict[str, Column]) -> LocalRatings:
    """The model's ratings with a flag per subset and the eligibility of their raters, in
    (noteIdx, raterIdx) order, and the prescoring raters' parameters."""
    second = pre.second_round
    helpful = pre.helpfulness.where(F.col("aboveHelpfulnessThreshold")).select(RATER_ID)
    eligible = second.raters.select(RATER_ID).join(helpful, RATER_ID, "left_semi").withColumn(ELIGIBLE, F.lit(True))
    flags = [F.coalesce(s.keep, F.lit(False)).alias(_flag(i)) for i, s in enumerate(subsets)]
    rows = (ratings.select(NOTE_ID, RATER_ID, P.NOTE_IDX, P.RATER_IDX, F.col(HELPFUL_NUM).cast("double")
                           .alias(HELPFUL_NUM), *flags, *[c.alias(n) for n, c in extra.items()])
            .join(F.broadcast(eligible), RATER_ID, "left")
            .withColumn(ELIGIBLE, F.coalesce(F.col(ELIGIBLE), F.lit(False))))
    frame = estimator.collected(rows).drop(RATER_ID).toPandas()
    frame = frame.sort_values([P.NOTE_IDX, P.RATER_IDX], kind="stable", ignore_index=True)
    rater_params = rater_engine_params(second.raters, num_factors).toPandas()
    return LocalRatings(frame, rater_params, second.global_intercept)


def _flag(i: int) -> str:
    return f"_subset{i}"
