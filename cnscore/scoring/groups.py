"""Group models: which notes a group model may affect, and its promotion / demotion rules
(shared docs/reference.md §5.4, §4.11 rules 7-12; reference `scorer.py:_filter_input`,
`_postprocess_output`, `scoring_rules.py:ApplyGroupModelResult`, `ApplyNMRGroupModelResult`).

Eligibility: a group model outputs a note only when at least `capture_threshold` (0.8 for most
groups) of the note's ratings, over all raters, come from the group; raters without a group
count as in-group only when the model includes unassigned raters. Optionally the author must
be a group member too (the docs' wording; the reference code does not check it).

Promotion (only NMR/NYH -> the group's CRH/NYH): the note is not rejected by the authority
models (core FIRM_REJECT/CRNH, or no core status and expansion FIRM_REJECT/CRNH) and the most
authoritative intercept available (core, else expansion) lies strictly inside the configured
band. Demotion: CRH/NYH -> NMR when the group model says NMR or CRNH.

Everything here is a Column or DataFrame function driven by a ModelSpec; thresholds come from
the spec (conf/models.yml), never from a model's name.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.columns import EnrollmentCols, NoteCols, RatingCols
from cnscore.scoring import inputs as scoring_inputs
from cnscore.scoring.explanation_tags import FINAL_STATUS
from cnscore.scoring.models import ModelSpec
from cnscore.scoring.status import CRH, CRNH, FIRM_REJECT, NMR, NYH

MODELING_GROUP = EnrollmentCols.MODELING_GROUP
MODELING_MULTI_GROUP = "modelingMultiGroup"
IN_GROUP_SHARE = "inGroupRatingShare"
# The coalesced column telling which group / multi-group model scored a note (§4.10).
GROUP_KEYS = {"group": MODELING_GROUP, "multi_group": MODELING_MULTI_GROUP}
REJECTED = (FIRM_REJECT, CRNH)  # authority statuses that block any promotion
PROMOTABLE = (CRH, NYH)  # statuses a promoting model may hand out
OPEN = (NMR, NYH)  # current labels a promotion may replace
DEMOTING = (NMR, CRNH)  # group statuses that demote


def in_selection(spec: ModelSpec) -> Column:
    """Column: the participant in this row (by its modelingGroup) belongs to the model's
    population; raters without a group count only when the model includes unassigned."""
    if spec.selection.all_raters:
        return F.lit(True)
    return scoring_inputs.in_population(spec.scoring)


def _with_groups(ratings: DataFrame, enrollment: DataFrame | None) -> DataFrame:
    if enrollment is None:
        if MODELING_GROUP not in ratings.columns:
            raise ValueError("ratings need a modelingGroup column when no enrollment is given")
        return ratings
    return scoring_inputs.with_modeling_group(ratings.drop(MODELING_GROUP), enrollment)


def group_rating_shares(ratings: DataFrame, spec: ModelSpec, enrollment: DataFrame | None = None) -> DataFrame:
    """noteId and inGroupRatingShare: the share of the note's ratings (all raters) from the
    model's population. Pass the final-scoring ratings of every rater (§4.5 step 6).

    Args:
        ratings: noteId, raterParticipantId (and modelingGroup when enrollment is None).
        spec: the model; its scoring.modeling_groups / include_unassigned define the group.
        enrollment: participantId, modelingGroup; None when ratings already carry modelingGroup.
    """
    rated = _with_groups(ratings, enrollment)
    share = F.avg(in_selection(spec).cast("double"))
    return rated.groupBy(RatingCols.NOTE_ID).agg(share.alias(IN_GROUP_SHARE))


def _captured(shares: DataFrame, spec: ModelSpec) -> DataFrame:
    return shares.where(F.col(IN_GROUP_SHARE) >= F.lit(spec.scoring.capture_threshold))


def group_eligible_notes(ratings: DataFrame, notes: DataFrame, enrollment: DataFrame | None,
                         spec: ModelSpec) -> DataFrame:
    """Notes the model may output: in-group share >= capture_threshold and, when
    `selection.require_author_in_group`, an author in the model's population.

    Args:
        ratings: noteId, raterParticipantId (and modelingGroup when enrollment is None).
        notes: noteId, noteAuthorParticipantId (read only for the author condition).
        enrollment: participantId, modelingGroup; None when ratings carry modelingGroup (then
            the author condition cannot be checked and is refused).
        spec: the group model.

    Returns:
        noteId, inGroupRatingShare for the eligible notes.

    Example: with capture 0.8, a note rated by 4 group members and 1 outsider (share 0.8) is
    eligible; 3 members and 1 outsider (0.75) is not.
    """
    eligible = _captured(group_rating_shares(ratings, spec, enrollment), spec)
    if not spec.selection.require_author_in_group:
        return eligible
    if enrollment is None:
        raise ValueError(f"{spec.name}: require_author_in_group needs the enrollment table")
    participant = EnrollmentCols.PARTICIPANT_ID
    authors = notes.select(NoteCols.NOTE_ID, F.col(NoteCols.AUTHOR_ID).alias(participant))
    enrolled = enrollment.select(participant, MODELING_GROUP).dropDuplicates([participant])
    author_groups = authors.join(enrolled, on=participant, how="left")  # no enrollment: unassigned
    members = author_groups.where(in_selection(spec)).select(NoteCols.NOTE_ID)
    return eligible.join(members, on=NoteCols.NOTE_ID, how="left_semi")


def select_group_ratings(ratings: DataFrame, spec: ModelSpec, enrollment: DataFrame | None = None) -> DataFrame:
    """The model's training ratings (§4.4.1): ratings by population members; with
    `strict_inclusion` (group 33) only on notes whose in-group share passes the capture
    threshold at input time."""
    rated = _with_groups(ratings, enrollment)
    selected = rated.where(in_selection(spec))
    if spec.selection.strict_inclusion:
        passing = _captured(group_rating_shares(rated, spec), spec).select(RatingCols.NOTE_ID)
        selected = selected.join(passing, on=RatingCols.NOTE_ID, how="left_semi")
    return selected


def _status(spec: ModelSpec | None) -> Column:
    return F.col(spec.status_col) if spec is not None else F.lit(None).cast("string")


def rejected_by_authority(core: ModelSpec | None, expansion: ModelSpec | None) -> Column:
    """Column: core says FIRM_REJECT/CRNH, or core has no status and expansion says so. Never
    null (a missing status does not reject)."""
    core_status, expansion_status = _status(core), _status(expansion)
    core_rejects = F.coalesce(core_status.isin(*REJECTED), F.lit(False))
    expansion_rejects = F.coalesce(expansion_status.isin(*REJECTED), F.lit(False))
    return core_rejects | (core_status.isNull() & expansion_rejects)


def authority_in_band(spec: ModelSpec, core: ModelSpec | None, expansion: ModelSpec | None) -> Column:
    """Column: the core intercept (else the expansion intercept) is strictly inside the
    model's promotion band; false when neither model has an intercept."""
    promotion = spec.promotion
    if promotion is None:
        raise ValueError(f"{spec.name} has no promotion settings")
    band = None
    for authority in (core, expansion):
        if authority is None:
            continue
        x = F.col(authority.intercept_col)
        ok = x > F.lit(promotion.min_intercept)
        if promotion.below_crh:  # upper bound = that model's own CRH threshold
            ok = ok & (x < F.lit(authority.scoring.crh_threshold))
        band = F.when(x.isNotNull(), ok) if band is None else band.when(x.isNotNull(), ok)
    return F.lit(False) if band is None else band.otherwise(F.lit(False))


def _is_this_group(spec: ModelSpec) -> Column:
    return F.col(GROUP_KEYS[spec.role]) == F.lit(spec.group_id)


def promotion_fires(spec: ModelSpec, label: Column, core: ModelSpec | None,
                    expansion: ModelSpec | None) -> Column:
    """Column: the group model promotes the note (§4.11 rules 7-9). Never null."""
    group = F.col(spec.status_col)
    fires = (group.isin(*PROMOTABLE) & _is_this_group(spec) & label.isin(*OPEN)
             & ~((group == NYH) & (label == NYH))  # NYH -> NYH is no update
             & ~rejected_by_authority(core, expansion) & authority_in_band(spec, core, expansion))
    return F.coalesce(fires, F.lit(False))


def demotion_fires(spec: ModelSpec, label: Column) -> Column:
    """Column: the group model sends a CRH/NYH note back to NMR (§4.11 rules 10-12)."""
    fires = F.col(spec.status_col).isin(*DEMOTING) & _is_this_group(spec) & label.isin(CRH, NYH)
    return F.coalesce(fires, F.lit(False))


def promote_by_group(notes: DataFrame, spec: ModelSpec, core: ModelSpec | None, expansion: ModelSpec | None,
                     *, status_col: str = FINAL_STATUS) -> DataFrame:
    """Apply one group model's promotion to the running label `status_col`.

    Args:
        notes: noteId, `status_col`, the group model's status (<prefix>RatingStatus), the
            group key (modelingGroup), and the core / expansion status and intercept columns.
        spec: a group model with `promotion` settings.
        core, expansion: the authority models (None when not run).

    Returns:
        `notes` with `status_col` replaced by the group status where the rule fires.
    """
    label = F.col(status_col)
    fires = promotion_fires(spec, label, core, expansion)
    return notes.withColumn(status_col, F.when(fires, F.col(spec.status_col)).otherwise(label))


def demote_by_group(notes: DataFrame, spec: ModelSpec, *, status_col: str = FINAL_STATUS) -> DataFrame:
    """Apply one group model's NMR demotion to the running label `status_col`."""
    label = F.col(status_col)
    return notes.withColumn(status_col, F.when(demotion_fires(spec, label), F.lit(NMR)).otherwise(label))
