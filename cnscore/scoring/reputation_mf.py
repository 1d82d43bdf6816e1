"""Reputation MF, in memory (shared docs/reference.md §5.6, §5.8): the engine of the
low-diligence model and of the ReputationScorer.

pred = f_n * f_u + i_n * rep_u + i_u + mu, with class, reputation and normalization weights,
fitted by full-batch Adam with the reference's early stop. The loss is configured: binary
cross-entropy on the logit (low diligence, a 0/1 tag target) or squared error (the
ReputationScorer, on helpfulNum). The reference runs three prescoring rounds and two final
steps, each training a different subset of the parameters; `train_prescoring` and
`train_final` reproduce those schedules on dense integer ids.

Why in memory: the fit is ~300 full-batch Adam epochs per round; as Spark jobs that would be
~1,500 jobs. The inputs are three small arrays per rating (about 16 bytes), so 100M ratings
fit a driver with a few GB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit

from cnscore.mf.adam import Adam

NOTE_FACTOR, RATER_FACTOR = "note_factor", "rater_factor"
NOTE_BIAS, RATER_BIAS, REPUTATION, GLOBAL = "note_bias", "rater_bias", "reputation", "global"
# Notes whose ratings all weigh 0 still get a finite normalization (the reference adds 2^-20).
_WEIGHT_FLOOR = 2.0 ** -20
BCE, MSE = "bce", "mse"  # the losses: logistic on a 0/1 target, squared error on helpfulNum
LOSSES = (BCE, MSE)


@dataclass(frozen=True)
class ReputationMFConfig:
    """One reputation MF's hyperparameters. The defaults are the low-diligence model's
    (reference diligence_model.py); HelpfulnessReputationConfig holds the ReputationScorer's."""

    enabled: bool = True
    loss: Literal["bce", "mse"] = BCE
    learning_rate: float = 0.2
    max_epochs: int = 300
    convergence: float = 1e-5  # stop when the loss moved less than this over stable_period epochs
    stable_period: int = 5
    l2: float = 0.03
    note_intercept_l2_multiplier: float = 1.0
    rater_intercept_l2_multiplier: float = 10.0
    reputation_l2_multiplier: float = 50.0
    global_l2_multiplier: float = 0.0
    third_round_l2_multiplier: float = 1.0
    third_round_note_intercept_l2_multiplier: float = 1.0
    pos_weight: float = 100.0  # weight of ratings whose target is exactly 1
    first_round_rater_norm_exp: float = 0.0  # round 1: each rating x (its rater's total weight)^this
    second_round_pos_weight_multiplier: float = 1.0
    third_round_pos_weight_multiplier: float = 5.0
    third_round_note_norm_exp: float = -0.5
    reputation_exp: float = 0.5
    reputation_smoothing: float = 0.1  # the reference's alpha

    def __post_init__(self) -> None:
        kind = type(self).__name__
        for name in ("learning_rate", "l2", "pos_weight", "convergence"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{kind}.{name} must be >= 0, got {getattr(self, name)}")
        if self.max_epochs < 1 or self.stable_period < 1:
            raise ValueError(f"{kind}.max_epochs and stable_period must be >= 1")
        if self.loss not in LOSSES:
            raise ValueError(f"{kind}.loss must be one of {LOSSES}, got {self.loss!r}")


DiligenceConfig = ReputationMFConfig  # the name ScoringConfig.diligence knows


@dataclass(frozen=True)
class HelpfulnessReputationConfig(ReputationMFConfig):
    """The ReputationScorer's hyperparameters (reference helpfulness_model.py, §5.8): squared
    error on helpfulNum, light L2, raters normalized in round 1, notes in round 3, plain
    reputation weights. Fields not listed keep the low-diligence values, which it shares."""

    loss: Literal["bce", "mse"] = MSE
    convergence: float = 1e-7
    stable_period: int = 10
    l2: float = 0.01
    note_intercept_l2_multiplier: float = 0.5
    rater_intercept_l2_multiplier: float = 1.0
    reputation_l2_multiplier: float = 1.0
    third_round_l2_multiplier: float = 0.1
    third_round_note_intercept_l2_multiplier: float = 10.0
    pos_weight: float = 0.2
    first_round_rater_norm_exp: float = -0.5
    second_round_pos_weight_multiplier: float = 5.0
    reputation_exp: float = 1.0
    reputation_smoothing: float = 0.0


@dataclass(frozen=True)
class RatingArrays:
    """One rating per position: dense note and rater indexes (0..n-1) and a target (0/1 for
    the logistic loss, helpfulNum for squared error)."""

    note: np.ndarray
    rater: np.ndarray
    target: np.ndarray
    num_notes: int
    num_raters: int


@dataclass(frozen=True)
class Penalty:
    """L2 penalty of one round. ratios None: mean over entities; else sum / (N / ratio) (§3.2)."""

    l2: float
    note_intercept_multiplier: float
    rater_intercept_multiplier: float
    reputation_multiplier: float
    global_multiplier: float
    note_ratio: float | None = None
    rater_ratio: float | None = None


def rating_weights(data: RatingArrays, pos_weight: float, reputation: np.ndarray | None = None,
                   reputation_exp: float = 1.0, smoothing: float = 0.0, note_norm_exp: float = 0.0,
                   rater_norm_exp: float = 0.0) -> np.ndarray:
    """Per-rating loss weights: class weight, then reputation, then note normalization, then
    rater normalization (each on the weights so far, the reference's order)."""
    weights = np.where(data.target == 1, pos_weight, 1.0)
    if reputation is not None:
        rep = np.clip(reputation, 0.0, None)[data.rater] ** reputation_exp
        weights = weights * (smoothing + rep) / (1.0 + smoothing)
    if note_norm_exp != 0:
        totals = np.bincount(data.note, weights=weights, minlength=data.num_notes) + _WEIGHT_FLOOR
        weights = weights * totals[data.note] ** note_norm_exp
    if rater_norm_exp != 0:
        totals = np.bincount(data.rater, weights=weights, minlength=data.num_raters) + _WEIGHT_FLOOR
        weights = weights * totals[data.rater] ** rater_norm_exp
    return weights


def _scales(penalty: Penalty, params: dict, num_ratings: int) -> tuple[float, float]:
    note_scale = (1.0 / len(params[NOTE_BIAS]) if penalty.note_ratio is None
                  else penalty.note_ratio / num_ratings)
    rater_scale = (1.0 / len(params[RATER_BIAS]) if penalty.rater_ratio is None
                   else penalty.rater_ratio / num_ratings)
    return note_scale, rater_scale


def _pointwise_loss(pred: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """Each rating's loss."""
    if loss == MSE:
        return (pred - y) ** 2
    return np.maximum(pred, 0.0) - y * pred + np.log1p(np.exp(-np.abs(pred)))


def _slope(pred: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """Each rating's loss derivative in pred."""
    if loss == MSE:
        return 2.0 * (pred - y)
    return expit(pred) - y


ALL_PARAMS = (NOTE_FACTOR, RATER_FACTOR, NOTE_BIAS, REPUTATION, RATER_BIAS, GLOBAL)


def loss_and_grads(params: dict, data: RatingArrays, weights: np.ndarray, penalty: Penalty, loss: str = BCE,
                   wanted: tuple[str, ...] = ALL_PARAMS, with_loss: bool = True) -> tuple[float | None, dict]:
    """The weighted mean loss (BCE with logits, or squared error) plus the L2 penalty, and its
    gradient in the `wanted` arrays.

    with_loss False skips the loss (None is returned; the fitting loops need it only every few
    epochs) and raises FloatingPointError when a prediction is not finite. Either way the
    gradients are the same numbers: each is computed by the same operations in the same order.
    """
    n, u = data.note, data.rater
    # Each gathered array serves the prediction and one gradient.
    note_factor, rater_factor = np.take(params[NOTE_FACTOR], n), np.take(params[RATER_FACTOR], u)
    note_bias, reputation = np.take(params[NOTE_BIAS], n), np.take(params[REPUTATION], u)
    pred = note_factor * rater_factor
    pred += note_bias * reputation
    pred += np.take(params[RATER_BIAS], u)
    pred += params[GLOBAL][0]
    count = len(pred)
    dz = weights * _slope(pred, data.target, loss)
    dz /= count
    note_scale, rater_scale = _scales(penalty, params, count)
    p = penalty
    reg_terms = {
        NOTE_FACTOR: p.l2 * note_scale, NOTE_BIAS: p.l2 * p.note_intercept_multiplier * note_scale,
        RATER_FACTOR: p.l2 * rater_scale, RATER_BIAS: p.l2 * p.rater_intercept_multiplier * rater_scale,
        REPUTATION: p.l2 * p.reputation_multiplier * rater_scale, GLOBAL: p.l2 * p.global_multiplier,
    }
    total = None
    if with_loss:
        total = float(np.dot(weights, _pointwise_loss(pred, data.target, loss)) / count) + sum(
            c * float(np.dot(params[k], params[k])) for k, c in reg_terms.items())
    elif not np.isfinite(pred.sum()):
        raise FloatingPointError("reputation MF: a prediction is not finite")
    terms = {  # (index, per-rating factor, length) of each gradient's sum over ratings
        NOTE_FACTOR: (n, rater_factor, data.num_notes), RATER_FACTOR: (u, note_factor, data.num_raters),
        NOTE_BIAS: (n, reputation, data.num_notes), REPUTATION: (u, note_bias, data.num_raters),
        RATER_BIAS: (u, None, data.num_raters),
    }
    grads = {}
    for key in wanted:
        if key == GLOBAL:
            grads[key] = np.array([dz.sum()])
        else:
            index, factor, length = terms[key]
            grads[key] = np.bincount(index, dz if factor is None else dz * factor, length)
        grads[key] = grads[key] + 2.0 * reg_terms[key] * params[key]
    return total, grads


def train_round(params: dict, data: RatingArrays, weights: np.ndarray, penalty: Penalty,
                trainable: tuple[str, ...], cfg: ReputationMFConfig) -> tuple[float, int]:
    """Adam until the loss moves less than `convergence` between checks every `stable_period`
    epochs, or `max_epochs` (the reference's loop). Returns the last loss and the epochs run."""
    optimizer = Adam(params, trainable, cfg.learning_rate)
    prior = None
    epoch = 0
    loss = float("nan")
    while epoch <= cfg.max_epochs:
        checked = cfg.convergence > 0 and epoch % cfg.stable_period == 0
        # The loss is read at checks and returned from the last epoch: computed only there.
        value, grads = loss_and_grads(params, data, weights, penalty, cfg.loss, trainable,
                                      with_loss=checked or epoch == cfg.max_epochs)
        if value is not None:
            loss = value
            if not np.isfinite(loss):
                raise FloatingPointError(f"reputation MF: loss is {loss} at epoch {epoch}")
        if checked:
            if prior is not None and abs(prior - loss) < cfg.convergence:
                break
            prior = loss
        optimizer.step(grads)
        epoch += 1
    return loss, epoch


def _penalty(cfg: ReputationMFConfig, third_round: bool, note_ratio=None, rater_ratio=None) -> Penalty:
    l2 = cfg.l2 * (cfg.third_round_l2_multiplier if third_round else 1.0)
    note_mult = cfg.note_intercept_l2_multiplier * (
        cfg.third_round_note_intercept_l2_multiplier if third_round else 1.0)
    return Penalty(l2, note_mult, cfg.rater_intercept_l2_multiplier, cfg.reputation_l2_multiplier,
                   cfg.global_l2_multiplier, note_ratio, rater_ratio)


def _third_round_weights(data: RatingArrays, params: dict, cfg: ReputationMFConfig) -> np.ndarray:
    return rating_weights(data, cfg.pos_weight * cfg.third_round_pos_weight_multiplier, params[REPUTATION],
                          cfg.reputation_exp, cfg.reputation_smoothing, cfg.third_round_note_norm_exp)


@dataclass(frozen=True)
class PrescoringFit:
    params: dict  # final arrays (after round 3)
    note_bias_round2: np.ndarray
    rater_bias_round2: np.ndarray
    global_intercepts: dict  # firstRound, secondRound, finalRound
    losses: tuple[float, float, float]
    epochs: tuple[int, int, int]


def _known(values) -> np.ndarray:
    """Initial values with the reference's default of 0 where unknown (NaN)."""
    return np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)


def train_prescoring(data: RatingArrays, rater_factor_init: np.ndarray | None, cfg: ReputationMFConfig,
                     seed: int, note_factor_init: np.ndarray | None = None) -> PrescoringFit:
    """Three rounds (§5.6, §5.8): everything but reputation; everything but note intercepts;
    then only intercepts and mu, with reputation-weighted, note-normalized loss.

    As in the reference, note and rater intercepts start at N(0, 1) draws (from `seed`),
    reputation at 1 and mu at 0; factors start at the given initial values (0 where NaN: the
    low-diligence model passes the helpfulness model's rater factors, the ReputationScorer
    both factors of its stable-init MF), else at N(0, 1) draws.
    """
    rng = np.random.default_rng(seed)
    # Draw order fixed (note factors, intercepts, then rater factors): a seed gives the same
    # starting point whichever factors are given.
    drawn_note_factor = rng.standard_normal(data.num_notes)
    note_bias, rater_bias = rng.standard_normal(data.num_notes), rng.standard_normal(data.num_raters)
    params = {
        NOTE_FACTOR: drawn_note_factor if note_factor_init is None else _known(note_factor_init),
        NOTE_BIAS: note_bias,
        RATER_BIAS: rater_bias,
        RATER_FACTOR: rng.standard_normal(data.num_raters) if rater_factor_init is None else _known(rater_factor_init),
        REPUTATION: np.ones(data.num_raters),
        GLOBAL: np.zeros(1),
    }
    base = _penalty(cfg, third_round=False)
    w1 = rating_weights(data, cfg.pos_weight, rater_norm_exp=cfg.first_round_rater_norm_exp)
    loss1, e1 = train_round(params, data, w1, base,
                            (NOTE_FACTOR, RATER_FACTOR, NOTE_BIAS, RATER_BIAS, GLOBAL), cfg)
    g1 = float(params[GLOBAL][0])
    w2 = rating_weights(data, cfg.pos_weight * cfg.second_round_pos_weight_multiplier)
    loss2, e2 = train_round(params, data, w2, base,
                            (NOTE_FACTOR, RATER_FACTOR, RATER_BIAS, REPUTATION, GLOBAL), cfg)
    g2 = float(params[GLOBAL][0])
    note_bias2, rater_bias2 = params[NOTE_BIAS].copy(), params[RATER_BIAS].copy()
    w3 = _third_round_weights(data, params, cfg)
    loss3, e3 = train_round(params, data, w3, _penalty(cfg, third_round=True),
                            (NOTE_BIAS, RATER_BIAS, GLOBAL), cfg)
    globals_ = {"firstRound": g1, "secondRound": g2, "finalRound": float(params[GLOBAL][0])}
    return PrescoringFit(params, note_bias2, rater_bias2, globals_, (loss1, loss2, loss3), (e1, e2, e3))


@dataclass(frozen=True)
class FinalInit:
    """Prescoring values aligned to the final data's dense ids (NaN where unknown)."""

    note_factor: np.ndarray
    note_bias_round2: np.ndarray
    rater_factor: np.ndarray
    rater_bias: np.ndarray
    rater_bias_round2: np.ndarray
    reputation: np.ndarray


def train_final(data: RatingArrays, init: FinalInit, global_intercepts: dict, cfg: ReputationMFConfig,
                note_ratio: float | None, rater_ratio: float | None) -> tuple[dict, tuple[int, int]]:
    """Final scoring (§5.6, §5.8): raters frozen at prescoring; note factors first (round-2
    loss, mu and rater intercepts of round 2), then note intercepts (round-3 loss, final mu and
    rater intercepts). Unknown notes and raters start at 0, unknown reputation is 0. Ratios
    None: L2 terms are means over this data's notes / raters (the ReputationScorer)."""
    params = {
        NOTE_FACTOR: _known(init.note_factor), NOTE_BIAS: _known(init.note_bias_round2),
        RATER_FACTOR: _known(init.rater_factor), RATER_BIAS: _known(init.rater_bias_round2),
        REPUTATION: _known(init.reputation), GLOBAL: np.array([global_intercepts["secondRound"]], dtype=float),
    }
    base = _penalty(cfg, third_round=False, note_ratio=note_ratio, rater_ratio=rater_ratio)
    w2 = rating_weights(data, cfg.pos_weight * cfg.second_round_pos_weight_multiplier)
    _, epochs_a = train_round(params, data, w2, base, (NOTE_FACTOR,), cfg)
    params[GLOBAL] = np.array([global_intercepts["finalRound"]], dtype=float)
    params[RATER_BIAS] = _known(init.rater_bias)
    third = _penalty(cfg, third_round=True, note_ratio=note_ratio, rater_ratio=rater_ratio)
    _, epochs_b = train_round(params, data, _third_round_weights(data, params, cfg), third, (NOTE_BIAS,), cfg)
    return params, (epochs_a, epochs_b)
