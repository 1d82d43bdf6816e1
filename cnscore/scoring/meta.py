"""Meta scoring (shared docs/reference.md §4.11-4.14).

The models that ran are reconciled into one label by `cnscore.scoring.reconcile` (§4.11 rules
1-16: MetaInitialNMR, the copy rules with Core authoritative, group promotion / demotion, ...).
Then, here: the stabilisation delay for notes newly Helpful (NmrDueToMinStableCrhTime), the
drift guard for locked notes, and InsufficientExplanation. There is no pflip model here, so a
note in stabilisation between 30 and 60 minutes gets "no prediction", which the reference
treats as "not Helpful".
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from collections.abc import Sequence

from cnscore.scoring.explanation_tags import top_two_tags_from_counts
from cnscore.scoring.models import ModelSpec
from cnscore.scoring.reconcile import reconcile
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status import CRH, CRNH, FIRM_REJECT, NMR, NYH

MODEL_VERSION = "v1.1"
STABLE = "timestampMillisOfNmrDueToMinStableCrhTime"
MINUTE = 60_000
REQUIRED_STABLE_MINUTES, MAX_STABLE_MINUTES, MAX_NYH_MINUTES = 30, 60, 360


def decided_by(rule: str, version: str = "v1.0") -> str:
    return f"{rule} ({version})"


def core_only(cfg: ScoringConfig) -> list[ModelSpec]:
    """The Core model alone, as meta scoring treated it before the other models existed:
    CoreModel (v1.1), lockable, without the population-sampled guard (which needs columns a
    bare Core run may lack). The jobs pass conf/models.yml's specs instead."""
    return [ModelSpec(name="MFCoreScorer", role="core", prefix="core", version=MODEL_VERSION, scoring=cfg,
                      rule="CoreModel", lockable=True)]


def meta_score(notes: DataFrame, history: DataFrame, tag_counts: DataFrame, epoch_millis: int,
               cfg: ScoringConfig, *, specs: Sequence[ModelSpec] | None = None) -> DataFrame:
    """finalRatingStatus, decidedBy, metaScorerActiveRules, firstTag/secondTag and the
    stabilisation columns.

    notes: noteId and the model outputs the specs' meta rules read
        (`reconcile.required_columns`; for Core alone: coreRatingStatus, null where Core did
        not score).
    tag_counts: noteId and the helpful / not-helpful tag counts (cnscore.scoring.note_stats).
    history: noteId, currentStatus, lockedStatus, firstNonNMRStatus, timestampMillisOf... .
    specs: the models that ran (default: `core_only(cfg)`).
    """
    hist = history.select("noteId", F.col("currentStatus").alias("_previous"), "lockedStatus", "firstNonNMRStatus",
                          F.col(STABLE).alias("_stableSince"))
    df = notes.join(hist, "noteId", "left")
    df = reconcile(df, specs if specs is not None else core_only(cfg), status_col="_label")
    df = df.withColumn("preStabilizationRatingStatus", F.col("_label"))
    df = _stabilise(df, epoch_millis)
    # Drift guard, then the explanation-tag requirement (which the reference runs after it).
    locked = F.col("lockedStatus").isNotNull() & (F.col("lockedStatus") != F.col("_label"))
    df = df.withColumn("unlockedRatingStatus", F.col("_label"))
    df = _update(df, locked, F.col("lockedStatus"), "ScoringDriftGuard")
    tags = top_two_tags_from_counts(df.select("noteId", "_label"), tag_counts, cfg, status_col="_label")
    df = df.join(tags, "noteId", "left")
    df = _update(df, F.col("insufficientExplanation"), F.lit(NMR), "InsufficientExplanation")
    final = F.when(F.col("_label") == NYH, F.lit(NMR)).otherwise(F.col("_label"))
    return df.withColumn("finalRatingStatus", final).drop("_label", "_previous", "_stableSince")


def _update(df: DataFrame, when: Column, status: Column, rule: str) -> DataFrame:
    fires = F.coalesce(when, F.lit(False))
    return df.withColumns({
        "_label": F.when(fires, status).otherwise(F.col("_label")),
        "decidedBy": F.when(fires, F.lit(decided_by(rule))).otherwise(F.col("decidedBy")),
        "metaScorerActiveRules": F.when(fires, F.concat_ws(",", "metaScorerActiveRules", F.lit(decided_by(rule))))
        .otherwise(F.col("metaScorerActiveRules")),
    })


def _stabilise(df: DataFrame, now: int) -> DataFrame:
    """NmrDueToMinStableCrhTime (§4.12); writes the new stabilisation timestamp."""
    label, since = F.col("_label"), F.col("_stableSince")
    was_crh = F.coalesce(F.col("_previous") == CRH, F.lit(False))
    going = label.isin(CRH, NYH) & ~was_crh
    waited = F.lit(now) - since
    # (new label, new timestamp) for notes going CRH/NYH that were not CRH before.
    enter = since.isNull() | (since == -1)
    cases = [
        (enter, F.lit(NMR), F.when(since.isNull() | (label == CRH), F.lit(float(now))).otherwise(since)),
        ((label == CRH) & (waited > MAX_STABLE_MINUTES * MINUTE), F.lit(CRH), F.lit(-1.0)),
        ((label == NYH) & (waited > MAX_NYH_MINUTES * MINUTE), F.lit(NMR), F.lit(-1.0)),
        (waited < REQUIRED_STABLE_MINUTES * MINUTE, F.lit(NMR), since),
        # No topic model and no pflip model here: "no prediction" is not CRH, so NMR.
        (F.lit(True), F.lit(NMR), since),
    ]
    new_label, new_since = None, None
    for cond, lab, ts in cases:
        new_label = F.when(cond, lab) if new_label is None else new_label.when(cond, lab)
        new_since = F.when(cond, ts) if new_since is None else new_since.when(cond, ts)
    in_window = since.isNotNull() & (since > 0) & label.isin(NMR, CRNH, FIRM_REJECT) & ~going
    nyh_back = was_crh & (label == NYH)
    df = df.withColumn(STABLE, F.when(going, new_since).when(in_window, F.lit(-1.0)).otherwise(since))
    df = _update(df, going, new_label, "NmrDueToMinStableCrhTime")
    return _update(df, nyh_back, F.lit(CRH), "NmrDueToMinStableCrhTime")
