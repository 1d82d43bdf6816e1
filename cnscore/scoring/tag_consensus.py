"""The harassment/abuse tag-consensus model (shared docs/reference.md §4.4.7).

A second MF whose target is "did the rater tag the note notHelpfulSpamHarassmentOrAbuse":
label 1 where the tag is set, 0 where the rating has the opposite valence (HELPFUL) or the
same valence's catch-all tag (notHelpfulOther), other ratings left out; ratings from before
the tag set changed are left out too. The loss is binary cross-entropy with the positive
class up-weighted by (1 - p) / p, mean over ratings, plus the reference's mean-form L2
penalties; factors start at twice the first-round helpfulness factors, intercepts at 0.

The fit is the reference's loop, step for step: full-batch Adam (lr 2.0), the gradient
clipped to norm 1, until the loss moves by at most 1e-7 or, after 100 epochs, rises. It runs
in memory on the driver (cnscore.scoring.collect) like the low-diligence model. Its note
intercept (logit scale) feeds the harassment penalty of rater helpfulness (§4.4.8).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.columns import RatingCols
from cnscore.mf.adam import Adam
from cnscore.scoring import reputation_mf as rmf
from cnscore.scoring.collect import aligned, collect_ratings, params_frame
from cnscore.scoring.counts import filter_min_counts

if TYPE_CHECKING:  # fits imports the config, which imports this module's config
    from cnscore.scoring.fits import ModelParams

log = logging.getLogger(__name__)
NOTE_ID, RATER_ID = RatingCols.NOTE_ID, RatingCols.RATER_ID
NOTE_INTERCEPT = "harassmentNoteIntercept"
NOTE_FACTOR = "harassmentNoteFactor1"
NOTE_COLUMNS = (NOTE_INTERCEPT, NOTE_FACTOR)
TRAINABLE = (rmf.NOTE_FACTOR, rmf.RATER_FACTOR, rmf.NOTE_BIAS, rmf.RATER_BIAS, rmf.GLOBAL)


@dataclass(frozen=True)
class TagConsensusConfig:
    """The tag-consensus model's settings (reference defaults, tag_consensus.py and the MF's)."""

    enabled: bool = True
    tag: str = "notHelpfulSpamHarassmentOrAbuse"
    tags_changed_millis: int = 1639699200000  # ratings before the tag set changed are left out
    min_ratings_per_rater: int = 10
    min_raters_per_note: int = 5
    learning_rate: float = 2.0
    convergence: float = 1e-7
    early_stop_after: int = 100  # after this many epochs a rising loss stops the fit
    max_epochs: int = 20_000  # a guard the reference does not have; reaching it is logged
    max_grad_norm: float = 1.0
    factor_l2: float = 0.03
    intercept_l2_multiplier: float = 5.0  # note, rater and global intercepts: 0.15
    init_factor_scale: float = 2.0

    def __post_init__(self) -> None:
        if not (self.tag.startswith("helpful") or self.tag.startswith("notHelpful")):
            raise ValueError(f"TagConsensusConfig.tag must be a helpful* or notHelpful* tag, got {self.tag!r}")
        for name in ("learning_rate", "max_grad_norm", "factor_l2", "convergence"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"TagConsensusConfig.{name} must be >= 0, got {getattr(self, name)}")


def tag_label(cfg: TagConsensusConfig) -> Column:
    """1 where the tag is set; 0 on opposite-valence ratings or the same valence's "other" tag;
    null otherwise (left out)."""
    helpful_tag = cfg.tag.startswith("helpful")
    opposite = "NOT_HELPFUL" if helpful_tag else "HELPFUL"
    other = "helpfulOther" if helpful_tag else "notHelpfulOther"
    tagged = F.coalesce(F.col(cfg.tag).cast("int"), F.lit(0)) == 1
    negative = (F.col(RatingCols.HELPFULNESS_LEVEL) == opposite) | (
        F.coalesce(F.col(other).cast("int"), F.lit(0)) == 1)
    return F.when(tagged, F.lit(1)).when(negative, F.lit(0))


def tag_ratings(ratings: DataFrame, cfg: TagConsensusConfig) -> DataFrame:
    """The model's training ratings with a `_label` column: recent, labelled, count-filtered."""
    labelled = (ratings.where(F.col(RatingCols.CREATED_AT) >= cfg.tags_changed_millis)
                .withColumn("_label", tag_label(cfg)).where(F.col("_label").isNotNull()))
    return filter_min_counts(labelled, cfg.min_raters_per_note, cfg.min_ratings_per_rater)


def _clip(grads: dict, max_norm: float) -> dict:
    """torch.nn.utils.clip_grad_norm_ over the trainable arrays."""
    total = float(np.sqrt(sum(float(np.dot(grads[k], grads[k])) for k in TRAINABLE)))
    scale = min(1.0, max_norm / (total + 1e-6))
    return {k: grads[k] * scale for k in TRAINABLE}


def fit_tag_model(data: rmf.RatingArrays, note_factor_init: np.ndarray, rater_factor_init: np.ndarray,
                  cfg: TagConsensusConfig) -> tuple[dict, int, float]:
    """Fit intercepts, factors and mu; returns (params, epochs, final loss).

    The factor inits are scaled by init_factor_scale here; NaN (unknown) starts at 0.
    """
    pos_rate = float(data.target.mean())
    params = {
        rmf.NOTE_FACTOR: cfg.init_factor_scale * np.nan_to_num(np.asarray(note_factor_init, float), nan=0.0),
        rmf.RATER_FACTOR: cfg.init_factor_scale * np.nan_to_num(np.asarray(rater_factor_init, float), nan=0.0),
        rmf.NOTE_BIAS: np.zeros(data.num_notes), rmf.RATER_BIAS: np.zeros(data.num_raters),
        rmf.REPUTATION: np.ones(data.num_raters),  # fixed at 1: logit = f_n f_u + i_n + i_u + mu
        rmf.GLOBAL: np.zeros(1),
    }
    weights = rmf.rating_weights(data, (1.0 - pos_rate) / pos_rate)
    m = cfg.intercept_l2_multiplier
    penalty = rmf.Penalty(cfg.factor_l2, m, m, 0.0, m)
    optimizer = Adam(params, TRAINABLE, cfg.learning_rate)
    loss, grads = rmf.loss_and_grads(params, data, weights, penalty, wanted=TRAINABLE)
    previous, epoch = 1e10, 0
    while abs(loss - previous) > cfg.convergence and not (epoch > cfg.early_stop_after and loss > previous):
        if epoch >= cfg.max_epochs:
            log.warning("tag consensus: stopped at max_epochs=%d (loss %.8f)", cfg.max_epochs, loss)
            break
        previous = loss
        optimizer.step(_clip(grads, cfg.max_grad_norm))
        loss, grads = rmf.loss_and_grads(params, data, weights, penalty, wanted=TRAINABLE)
        if not np.isfinite(loss):
            raise FloatingPointError(f"tag consensus: loss is {loss} at epoch {epoch}")
        epoch += 1
    _flip_for_identification(params)
    return params, epoch, loss


def _flip_for_identification(params: dict) -> None:
    """As every MF of the reference: the larger share of (nonzero) rater factors is negative."""
    factors = params[rmf.RATER_FACTOR]
    nonzero = np.count_nonzero(factors)
    if nonzero and np.count_nonzero(factors < 0) / nonzero < 0.5:
        params[rmf.RATER_FACTOR] = -factors
        params[rmf.NOTE_FACTOR] = -params[rmf.NOTE_FACTOR]


def harassment_note_params(ratings: DataFrame, first_round: ModelParams,
                           cfg: TagConsensusConfig) -> DataFrame | None:
    """noteId, harassmentNoteIntercept, harassmentNoteFactor1 for the notes of the model's data.

    ratings: prescoring's ratings from raters above the helpfulness threshold before the
    penalty (with the tag, helpfulnessLevel and createdAtMillis columns). first_round: the
    first-round helpfulness MF, whose factors start the fit. None when disabled, without
    data, or when every label is the same (the reference aborts there too).
    """
    if not cfg.enabled:
        return None
    collected = collect_ratings(tag_ratings(ratings, cfg), F.col("_label"))
    data = collected.arrays
    pos_rate = float(data.target.mean()) if len(data.target) else float("nan")
    if not 0.0 < pos_rate < 1.0:
        log.info("tag consensus: %d ratings, positive rate %s: not fitted", len(data.target), pos_rate)
        return None
    notes = first_round.notes.select(NOTE_ID, F.col("internalNoteFactor1").alias("f")).toPandas()
    raters = first_round.raters.select(RATER_ID, F.col("internalRaterFactor1").alias("f")).toPandas()
    params, epochs, loss = fit_tag_model(data, aligned(collected.note_ids, notes, NOTE_ID, "f"),
                                         aligned(collected.rater_ids, raters, RATER_ID, "f"), cfg)
    log.info("tag consensus (%s): %d ratings, %d notes, %d raters, positive rate %.4f, %d epochs, loss %.6f",
             cfg.tag, len(data.target), data.num_notes, data.num_raters, pos_rate, epochs, loss)
    table = pd.DataFrame({NOTE_ID: collected.note_ids.astype(np.int64), NOTE_INTERCEPT: params[rmf.NOTE_BIAS],
                          NOTE_FACTOR: params[rmf.NOTE_FACTOR]})
    return params_frame(ratings.sparkSession, table, f"{NOTE_ID} bigint", NOTE_COLUMNS)
