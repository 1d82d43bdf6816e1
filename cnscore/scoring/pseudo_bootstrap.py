"""Bootstrap bounds on note intercepts from random extreme pseudo-votes (issue 3, item 4).

An alternative to the reference's pseudo-raters (pseudo_raters.py), selected with
ScoringConfig.pseudo_rater_mode = "bootstrap". In each of `runs` runs, extreme pseudo-raters
(factor = the lowest or the highest rater factor) vote on every note, each vote drawn at random:
HELPFUL (1.0) or NOT_HELPFUL (0.0). The notes are then refitted with raters and mu frozen.
Quantiles of a note's intercept over the runs give a lower and an upper confidence bound:
LcbCRH keeps a note CRH only if its LCB reaches `crh_lcb_threshold` (the reference used 0.31 for
such a bound before it dropped its LCB rule), and UcbCRNH reads the UCB.

A pseudo-rater's intercept depends on its vote: helpful votes come from the lowest rater intercept
and not-helpful votes from the highest, so each pseudo-vote moves the note as far as any real
rater's vote of that kind could. The reference's helpful-only pseudo-raters use the lowest
intercept for the same reason.

Draws are hashes of (seed, run, noteId, pseudo-rater), so a seed gives the same votes whatever the
partitioning. With frozen raters every note is its own small ridge problem, so several runs are
solved in one fit: each (note, run) pair becomes a "virtual note" with its own dense index.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import IdMapCols, ParamCols, RatingCols

if TYPE_CHECKING:
    from cnscore.config import MFConfig
    from cnscore.scoring.fits import IdSpace

P = ParamCols
NOTE_ID, HELPFUL_NUM = RatingCols.NOTE_ID, RatingCols.HELPFUL_NUM
INTERCEPT_LCB = "internalNoteIntercept_lcb"
INTERCEPT_UCB = "internalNoteIntercept_ucb"
INTERCEPT_MEAN = "internalNoteIntercept_bootstrapMean"
RUNS = "bootstrapRuns"
SCHEMA = f"{NOTE_ID} bigint, {INTERCEPT_LCB} double, {INTERCEPT_UCB} double, {INTERCEPT_MEAN} double, {RUNS} int"
RUN, SLOT = "bootstrapRun", "pseudoRater"  # columns of the drawn votes
_POS, _VIRTUAL = "_pos", "_virtualNoteIdx"
_MAX_INDEX = 2**31 - 1  # dense indexes are ints
_UNIT = float(2**53)  # the top 53 bits of a 64-bit hash, scaled to [0, 1)


@dataclass(frozen=True)
class BootstrapConfig:
    """The bootstrap pseudo-rater option (used only when ScoringConfig.pseudo_rater_mode = "bootstrap")."""

    runs: int = 20  # refits with freshly drawn pseudo-votes
    pseudo_raters_per_side: int = 1  # voters at the lowest and at the highest rater factor
    lcb_quantile: float = 0.05  # LCB = this quantile of a note's intercept over the runs
    ucb_quantile: float = 0.95  # UCB, read by UcbCRNH against ScoringConfig.ucb_crnh_threshold
    crh_lcb_threshold: float = 0.31  # LcbCRH: a CRH note whose LCB is below this becomes NMR
    seed_offset: int = 0  # added to MFConfig.seed, to draw other votes with the same MF seed
    # Engineering knob: runs solved together in one fit. Each costs a copy of the final round's
    # ratings and one row per note on the driver, so this bounds memory, not results.
    runs_per_fit: int = 5

    def __post_init__(self) -> None:
        for name in ("runs", "pseudo_raters_per_side", "runs_per_fit"):
            if getattr(self, name) < 1:
                raise ValueError(f"BootstrapConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.lcb_quantile <= self.ucb_quantile <= 1.0:
            raise ValueError(f"BootstrapConfig needs 0 <= lcb_quantile <= ucb_quantile <= 1, got "
                             f"{self.lcb_quantile} and {self.ucb_quantile}")
        if not math.isfinite(self.crh_lcb_threshold):
            raise ValueError(f"BootstrapConfig.crh_lcb_threshold must be finite, got {self.crh_lcb_threshold}")

    @property
    def slots(self) -> int:
        """Pseudo-raters per run (both sides)."""
        return 2 * self.pseudo_raters_per_side


def draw_votes(notes: DataFrame, cfg: BootstrapConfig, seed: int) -> DataFrame:
    """noteId, bootstrapRun, pseudoRater, helpfulNum: every pseudo-rater's vote on every note in every run.

    A vote is HELPFUL when a 64-bit hash of (seed, run, noteId, pseudoRater) falls in the lower half
    of its range. Nothing here reads partitioning or row order, so the votes are the same for a seed
    however `notes` is partitioned.

    Args:
        notes: one row per note, with a noteId column.
        cfg: number of runs and pseudo-raters.
        seed: the run's seed (MFConfig.seed + cfg.seed_offset in scoring).
    """
    spark = notes.sparkSession
    runs = spark.range(cfg.runs).select(F.col("id").cast("int").alias(RUN))
    slots = spark.range(cfg.slots).select(F.col("id").cast("int").alias(SLOT))
    grid = notes.select(F.col(NOTE_ID).cast("bigint").alias(NOTE_ID)).crossJoin(runs).crossJoin(slots)
    digest = F.xxhash64(F.lit(seed).cast("bigint"), F.col(RUN), F.col(NOTE_ID), F.col(SLOT))
    uniform = F.shiftrightunsigned(digest, 11).cast("double") / _UNIT
    return grid.select(NOTE_ID, RUN, SLOT, F.when(uniform < 0.5, 1.0).otherwise(0.0).alias(HELPFUL_NUM))


def bootstrap_bounds(ratings: DataFrame, ids: IdSpace, raters: DataFrame, global_intercept: float,
                     mf: MFConfig, cfg: BootstrapConfig) -> DataFrame:
    """noteId, internalNoteIntercept_lcb / _ucb / _bootstrapMean, bootstrapRuns (schema SCHEMA).

    Args:
        ratings: the final round's densified ratings (noteId, noteIdx, raterIdx, helpfulNum, ...).
        ids: the run's id space (its rater map is reused; notes get virtual indexes).
        raters: parameters of the raters in those ratings (frozen, like mu).
        global_intercept: mu of the prescoring fit.
        mf: the MF settings; the refits penalize notes by lambda * (ratings / notes) of their own
            data, as the reference's pseudo-rater refits do.
        cfg: the bootstrap settings.
    """
    # Imported here: settings.py imports this module for BootstrapConfig, and the fit stack
    # imports cnscore.config, which imports settings.
    from cnscore.scoring.pseudo_raters import pseudo_rater_table, refit_inputs

    inp = refit_inputs(ratings, raters)
    # Two rater rows per pseudo-rater: index 2s votes HELPFUL, 2s + 1 NOT_HELPFUL.
    rows: list[tuple[str, int, float, float]] = []
    for slot in range(cfg.slots):
        factor = inp.min_factor if slot < cfg.pseudo_raters_per_side else inp.max_factor
        rows += [(f"-bootstrap-{slot}-helpful", inp.next_rater_idx + 2 * slot, inp.min_intercept, factor),
                 (f"-bootstrap-{slot}-notHelpful", inp.next_rater_idx + 2 * slot + 1, inp.max_intercept, factor)]
    all_raters = inp.raters.unionByName(pseudo_rater_table(ratings.sparkSession, rows))
    votes = draw_votes(inp.notes, cfg, mf.seed + cfg.seed_offset).join(
        inp.notes.select(F.col(NOTE_ID).cast("bigint").alias(NOTE_ID), P.NOTE_IDX), NOTE_ID)
    pseudo = votes.select((F.lit(inp.next_rater_idx) + 2 * F.col(SLOT) + (1 - F.col(HELPFUL_NUM)).cast("int"))
                          .cast("int").alias(P.RATER_IDX), P.NOTE_IDX, NOTE_ID, HELPFUL_NUM, RUN)
    ratio = (inp.num_ratings + inp.num_notes * cfg.slots) / inp.num_notes
    batches = [list(range(first, min(first + cfg.runs_per_fit, cfg.runs)))
               for first in range(0, cfg.runs, cfg.runs_per_fit)]
    fitted = reduce(DataFrame.unionByName, [
        _fit_batch(inp.ratings, inp.notes, pseudo, batch, ids, all_raters, global_intercept, mf, ratio,
                   inp.max_note_idx) for batch in batches])
    return fitted.groupBy(NOTE_ID).agg(
        F.percentile(P.NOTE_INTERCEPT, cfg.lcb_quantile).alias(INTERCEPT_LCB),
        F.percentile(P.NOTE_INTERCEPT, cfg.ucb_quantile).alias(INTERCEPT_UCB),
        F.avg(P.NOTE_INTERCEPT).alias(INTERCEPT_MEAN),
        F.count(F.lit(1)).cast("int").alias(RUNS),
    ).select(F.col(NOTE_ID).cast("bigint").alias(NOTE_ID), INTERCEPT_LCB, INTERCEPT_UCB, INTERCEPT_MEAN, RUNS)


def _fit_batch(base: DataFrame, notes: DataFrame, pseudo: DataFrame, batch: list[int], ids: IdSpace,
               raters: DataFrame, global_intercept: float, mf: MFConfig, ratio: float,
               max_note_idx: int) -> DataFrame:
    """noteId, bootstrapRun, internalNoteIntercept for the runs in `batch`, from one frozen fit.

    Virtual note index = noteIdx * len(batch) + position of the run in the batch: each run sees
    every real rating once plus its own pseudo-votes, and is solved apart from the other runs.
    """
    from cnscore.scoring.pseudo_raters import refit_notes  # imported late, see bootstrap_bounds

    stride = len(batch)
    if (max_note_idx + 1) * stride > _MAX_INDEX:
        raise ValueError(f"{stride} bootstrap runs per fit overflow the note index; lower runs_per_fit")
    spark = base.sparkSession
    positions = F.broadcast(spark.createDataFrame([(run, pos) for pos, run in enumerate(batch)],
                                                  f"{RUN} int, {_POS} int"))
    virtual = (F.col(P.NOTE_IDX) * stride + F.col(_POS)).cast("int")
    real = base.crossJoin(positions)
    votes = pseudo.join(positions, RUN)
    stacked = real.unionByName(votes.select(*real.columns)).withColumn(P.NOTE_IDX, virtual)
    keys = notes.crossJoin(positions).select(virtual.alias(_VIRTUAL), NOTE_ID, RUN)
    virtual_ids = keys.select(F.col(_VIRTUAL).cast("string").alias(IdMapCols.ENTITY_ID),
                              F.col(_VIRTUAL).alias(IdMapCols.INDEX))
    space = dataclasses.replace(ids, note_ids=virtual_ids)
    fitted = refit_notes(stacked, space, raters, global_intercept, mf, ratio)
    return fitted.select(F.col(NOTE_ID).cast("int").alias(_VIRTUAL), P.NOTE_INTERCEPT).join(
        keys, _VIRTUAL).select(NOTE_ID, RUN, P.NOTE_INTERCEPT)
