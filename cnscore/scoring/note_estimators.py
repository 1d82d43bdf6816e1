"""What final scoring fits per note (shared docs/reference.md §4.5, §5.5): the MF's
frozen-rater refit, or the Gaussian scorer's kernel-smoothed scores.

Final scoring (`cnscore.scoring.final`) estimates each note's intercept on several rating
subsets (all ratings, no high-volume raters, no correlated raters, population-sampled) and
its factor once. A model's `final` algorithm (conf/models.yml) picks the estimator; the
subsets, guards and status rules around it are the same for both, as in the reference, where
GaussianScorer calls the same `compute_scored_notes` with its own thresholds.

Each estimator works on DataFrames (`intercepts`, `final_fit`) and, for models whose MF runs
in memory, on the model's ratings collected once (`collected`, `local_notes`; see
`cnscore.scoring.local_estimates`), with the same kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import NoteCols, ParamCols, RatingCols
from cnscore.config import MFConfig
from cnscore.scoring.fits import IdSpace, fit_frozen
from cnscore.scoring.gaussian import gaussian_scores, local_columns, score_rows
from cnscore.scoring.gaussian_kernel import GaussianConfig
from cnscore.scoring.local_estimates import LocalRatings, frozen_notes
from cnscore.scoring.prescoring import PrescoringResult

NOTE_ID = RatingCols.NOTE_ID
INTERCEPT, FACTOR = ParamCols.NOTE_INTERCEPT, ParamCols.NOTE_FACTOR_PREFIX + "1"
_MF_FACTOR = "_mfNoteFactor1"
NUM_FINAL_ROUND_RATINGS = "numFinalRoundRatings"


@dataclass(frozen=True)
class FinalFit:
    """The main final-scoring estimate: notes (noteId, internalNoteIntercept,
    internalNoteFactor1) and the raters and mu that go with them: the prescoring ones, except
    after a normalized-loss refit (§3.9), which trains raters and mu again."""

    notes: DataFrame
    raters: DataFrame
    global_intercept: float


@dataclass(frozen=True)
class FrozenMF:
    """The MF refit with raters and mu frozen at their prescoring values (§3.7)."""

    ids: IdSpace
    pre: PrescoringResult

    def intercepts(self, selected: DataFrame, cfg: MFConfig) -> DataFrame:
        """noteId, internalNoteIntercept of a refit on these final-round ratings."""
        return self.notes(selected, cfg).select(NOTE_ID, INTERCEPT)

    def final_round_counts(self, ratings: DataFrame) -> DataFrame | None:
        """None: numFinalRoundRatings counts the ratings by raters with final parameters."""
        return None

    def notes(self, selected: DataFrame, cfg: MFConfig) -> DataFrame:
        """noteId, internalNoteIntercept, internalNoteFactor1 of a refit on these ratings."""
        return self.final_fit(selected, cfg).notes

    def final_fit(self, selected: DataFrame, cfg: MFConfig) -> FinalFit:
        """The refit's notes with its raters and mu (the frozen prescoring ones, unless
        cfg.normalized_loss refits them)."""
        second = self.pre.second_round
        fitted = fit_frozen(selected, self.ids, second.raters, second.global_intercept, cfg)
        return FinalFit(fitted.notes.select(NOTE_ID, INTERCEPT, FACTOR), fitted.raters, fitted.global_intercept)

    def collected(self, rows: DataFrame) -> DataFrame:
        """The columns `local_notes` reads, added to the ratings before they are collected."""
        return rows

    def local_notes(self, local: LocalRatings, kept: np.ndarray, cfg: MFConfig, factor: bool = True) -> pd.DataFrame:
        """`notes` on the kept rows of collected ratings (cnscore.scoring.local_estimates)."""
        return frozen_notes(local, kept, cfg)


@dataclass(frozen=True)
class Gaussian:
    """The Gaussian scorer (§5.5) on the prescoring rater factors. Its note factor is the
    frozen-rater MF factor where the refit has one, else the Gaussian estimate m (the
    reference's useMfNoteParams)."""

    ids: IdSpace
    pre: PrescoringResult
    history: DataFrame  # noteId, noteAuthorParticipantId: the CRH pass's author rows
    cfg: GaussianConfig

    def intercepts(self, selected: DataFrame, cfg: MFConfig) -> DataFrame:
        """noteId, internalNoteIntercept: the Gaussian intercept (cfg is not read: no MF)."""
        return self._scores(selected).select(NOTE_ID, INTERCEPT).localCheckpoint(eager=True)

    def notes(self, selected: DataFrame, cfg: MFConfig) -> DataFrame:
        """noteId, internalNoteIntercept (Gaussian), internalNoteFactor1 (MF, else m)."""
        mf = FrozenMF(self.ids, self.pre).notes(selected, cfg).select(NOTE_ID, F.col(FACTOR).alias(_MF_FACTOR))
        return (self._scores(selected).join(mf, NOTE_ID, "left")
                .select(NOTE_ID, INTERCEPT, F.coalesce(_MF_FACTOR, FACTOR).alias(FACTOR))
                .localCheckpoint(eager=True))

    def final_fit(self, selected: DataFrame, cfg: MFConfig) -> FinalFit:
        """The Gaussian notes with the prescoring raters and mu."""
        second = self.pre.second_round
        return FinalFit(self.notes(selected, cfg), second.raters, second.global_intercept)

    def collected(self, rows: DataFrame) -> DataFrame:
        """The ratings plus the rater factor and the author columns `local_notes` reads."""
        authors = self.history.select(NOTE_ID, NoteCols.AUTHOR_ID)
        return local_columns(rows, self.pre.second_round.raters, self.cfg, notes=authors)

    def local_notes(self, local: LocalRatings, kept: np.ndarray, cfg: MFConfig, factor: bool = True) -> pd.DataFrame:
        """`notes` on the kept rows of collected ratings (cnscore.scoring.local_estimates);
        factor False: the intercepts only, without the MF refit that gives the factor."""
        scores = score_rows(local.rows[kept], self.cfg)[[NOTE_ID, INTERCEPT, FACTOR]]
        if not factor:
            return scores
        mf = frozen_notes(local, kept, cfg)[[NOTE_ID, FACTOR]].rename(columns={FACTOR: _MF_FACTOR})
        merged = scores.merge(mf, on=NOTE_ID, how="left", indicator=True)
        # As F.coalesce: the MF factor wherever the refit has the note, else m.
        merged[FACTOR] = np.where(merged["_merge"] == "both", merged[_MF_FACTOR], merged[FACTOR])
        return merged[[NOTE_ID, INTERCEPT, FACTOR]]

    def final_round_counts(self, ratings: DataFrame) -> DataFrame | None:
        """noteId, numFinalRoundRatings: the model's ratings by every rater of the prescoring's
        rater output, helpful or not (the reference's GaussianScorer counts against it)."""
        raters = self.pre.helpfulness.select(RatingCols.RATER_ID)
        return (ratings.join(raters, RatingCols.RATER_ID, "left_semi").groupBy(NOTE_ID)
                .agg(F.count(F.lit(1)).alias(NUM_FINAL_ROUND_RATINGS)))

    # Checkpointed like the MF's parameter tables: final scoring joins each estimate several
    # times, and a UDF's output would otherwise be recomputed (and re-shuffled) every time.
    def _scores(self, selected: DataFrame) -> DataFrame:
        authors = self.history.select(NOTE_ID, NoteCols.AUTHOR_ID)
        return gaussian_scores(selected, self.pre.second_round.raters, self.cfg, notes=authors)


NoteEstimator = FrozenMF | Gaussian


def note_estimator(ids: IdSpace, pre: PrescoringResult, history: DataFrame,
                   gaussian: GaussianConfig | None) -> NoteEstimator:
    """The Gaussian scorer when the model's final algorithm has its settings, else the MF."""
    return FrozenMF(ids, pre) if gaussian is None else Gaussian(ids, pre, history, gaussian)
