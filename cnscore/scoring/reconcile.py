"""Multi-model reconciliation: the ordered meta rules that turn every model's status into one
label, decidedBy and metaScorerActiveRules (shared docs/reference.md §4.10-4.11, rules 1-16;
reference `run_scoring.py:meta_score`, `scoring_rules.py`).

Rules run in order and later rules overwrite earlier ones; decidedBy is the last rule that
returned an update for the note, even when the status did not change (as in the reference's
`apply_scoring_rules`). The order comes from the models' roles, and within a role from the
order of conf/models.yml:

 1. MetaInitialNMR: every note NMR.
 2-5. copy rules, lowest priority first: expansion_plus, expansion, core_with_topics, core.
    A non-null status is copied (FIRM_REJECT exported as NMR); Core, last, is authoritative.
 6. multi_group: copy for notes of its multi-group; CRH/NYH refused when core/expansion reject.
 7-9. group promotion (cnscore.scoring.groups.promotion_fires).
 10-12. group demotion to NMR (groups.demotion_fires).
 13-14. gaussian coverage: CRH/NYH (unless rejected) or CRNH, onto NMR/NYH notes.
 15. topic demotion: CRH/NYH -> NMR when the confident topic model disagrees.
 16. the core model's PopulationSampledIntercept guard.

Stabilisation, the drift guard and InsufficientExplanation (rules 17-19) stay in
`cnscore.scoring.meta`, which runs them on this module's label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.scoring import groups
from cnscore.scoring.explanation_tags import FINAL_STATUS
from cnscore.scoring.models import COPY_ROLES, ModelSpec, single_role
from cnscore.scoring.status import CRH, CRNH, FIRM_REJECT, NMR, NYH
from cnscore.scoring.topics import NOTE_TOPIC, TOPIC_CONFIDENT

DECIDED_BY = "decidedBy"
ACTIVE_RULES = "metaScorerActiveRules"
META_INITIAL_NMR = "MetaInitialNMR (v1.0)"
_FIRES = "_metaRuleFires"


@dataclass(frozen=True)
class MetaRule:
    """One meta rule: whether it updates a note and to what, given the running label."""

    label: str  # as decidedBy spells it, e.g. "GroupModel01 (v1.1)"
    lockable: bool
    fires: Callable[[Column], Column]
    status: Callable[[Column], Column]
    columns: tuple[tuple[str, str], ...]  # (input column, Spark SQL type) the rule reads


def _label(label: str | None, spec: ModelSpec) -> str:
    if label is None:  # load_models refuses this; specs built by hand may not have been checked
        raise ValueError(f"{spec.name}: role {spec.role} needs a meta rule name")
    return label


def _copied(source: Column) -> Column:
    # FIRM_REJECT is a model-internal status: exported as NMR (it still blocks promotions).
    return F.when(source == FIRM_REJECT, F.lit(NMR)).otherwise(source)


def _status_cols(*specs: ModelSpec | None) -> tuple[tuple[str, str], ...]:
    return tuple((s.status_col, "string") for s in specs if s is not None)


def _authority_cols(core: ModelSpec | None, expansion: ModelSpec | None) -> tuple[tuple[str, str], ...]:
    return _status_cols(core, expansion) + tuple((s.intercept_col, "double") for s in (core, expansion) if s)


# Rule builders return Column factories, not Columns: building a Column needs a live Spark
# session, and lockable_rules / required_columns must work without one.

def _copy_rule(spec: ModelSpec) -> MetaRule:
    return MetaRule(_label(spec.rule_label, spec), spec.lockable,
                    lambda _: F.col(spec.status_col).isNotNull(),
                    lambda _: _copied(F.col(spec.status_col)), _status_cols(spec))


def _multi_group_rule(spec: ModelSpec, core: ModelSpec | None, expansion: ModelSpec | None) -> MetaRule:
    key = groups.GROUP_KEYS[spec.role]

    def fires(_: Column) -> Column:
        source = F.col(spec.status_col)
        refused = groups.rejected_by_authority(core, expansion) & source.isin(*groups.PROMOTABLE)
        return source.isNotNull() & (F.col(key) == F.lit(spec.group_id)) & ~refused

    return MetaRule(_label(spec.rule_label, spec), spec.lockable, fires,
                    lambda _: _copied(F.col(spec.status_col)),
                    _status_cols(spec, core, expansion) + ((key, "double"),))


def _promote_rule(spec: ModelSpec, core: ModelSpec | None, expansion: ModelSpec | None) -> MetaRule:
    columns = _status_cols(spec) + ((groups.MODELING_GROUP, "double"),) + _authority_cols(core, expansion)
    return MetaRule(_label(spec.rule_label, spec), spec.lockable,
                    lambda label: groups.promotion_fires(spec, label, core, expansion),
                    lambda _: F.col(spec.status_col), columns)


def _demote_rule(spec: ModelSpec) -> MetaRule:
    columns = _status_cols(spec) + ((groups.MODELING_GROUP, "double"),)
    return MetaRule(_label(spec.demote_label, spec), spec.lockable,
                    lambda label: groups.demotion_fires(spec, label), lambda _: F.lit(NMR), columns)


def _coverage_rule(spec: ModelSpec, core: ModelSpec | None, expansion: ModelSpec | None) -> MetaRule:
    """Gaussian coverage (§4.11 rules 13-14): fills in NMR/NYH notes, never overrides a decision."""

    def fires(label: Column) -> Column:
        source = F.col(spec.status_col)
        helpful = source.isin(*groups.PROMOTABLE) & ~groups.rejected_by_authority(core, expansion)
        return ((helpful | (source == CRNH)) & label.isin(*groups.OPEN)
                & ~((source == NYH) & (label == NYH)))

    return MetaRule(_label(spec.rule_label, spec), spec.lockable, fires, lambda _: F.col(spec.status_col),
                    _status_cols(spec, core, expansion))


def _topic_rule(spec: ModelSpec) -> MetaRule:
    topic = spec.topic
    if topic is None:
        raise ValueError(f"{spec.name}: a topic model needs `topic` settings")

    def fires(label: Column) -> Column:
        low = ((F.col(spec.intercept_col) < F.lit(topic.demote_below_intercept))
               | (F.abs(F.col(spec.factor_col)) > F.lit(topic.demote_above_abs_factor)))
        confident = F.coalesce(F.col(TOPIC_CONFIDENT), F.lit(False))
        return label.isin(CRH, NYH) & confident & (F.col(NOTE_TOPIC) == F.lit(topic.name)) & low

    columns = ((spec.intercept_col, "double"), (spec.factor_col, "double"), (TOPIC_CONFIDENT, "boolean"),
               (NOTE_TOPIC, "string"))
    return MetaRule(_label(spec.rule_label, spec), spec.lockable, fires, lambda _: F.lit(NMR), columns)


def population_sampled_columns(core: ModelSpec) -> tuple[str, str, str]:
    """The core model's population-sampled intercept and per-factor-sign rating counts."""
    p = core.prefix
    return (f"{p}NoteInterceptPopulationSampled", f"{p}NegFactor_populationSampledRatingCount",
            f"{p}PosFactor_populationSampledRatingCount")


def _population_sampled_rule(core: ModelSpec) -> MetaRule:
    guard = core.population_sampled
    if guard is None:
        raise ValueError(f"{core.name} has no population_sampled settings")
    pop_name, neg_name, pos_name = population_sampled_columns(core)

    def fires(label: Column) -> Column:
        intercept, pop, neg, pos = F.col(core.intercept_col), F.col(pop_name), F.col(neg_name), F.col(pos_name)
        diverges = (intercept.isNotNull() & pop.isNotNull() & (neg + pos >= F.lit(guard.min_ratings))
                    & (neg >= F.lit(guard.min_per_sign)) & (pos >= F.lit(guard.min_per_sign))
                    & (pop < F.lit(guard.max_intercept)) & (intercept - pop >= F.lit(guard.min_divergence)))
        return (label == CRH) & diverges

    columns = ((core.intercept_col, "double"), (pop_name, "double"), (neg_name, "bigint"), (pos_name, "bigint"))
    return MetaRule(f"{guard.rule} ({guard.version})", False, fires, lambda _: F.lit(NMR), columns)


def _of_role(specs: Sequence[ModelSpec], role: str) -> list[ModelSpec]:
    return [s for s in specs if s.role == role]


def meta_rules(specs: Sequence[ModelSpec]) -> list[MetaRule]:
    """The ordered meta rules (after MetaInitialNMR) for the enabled models in `specs`."""
    enabled = [s for s in specs if s.enabled]
    core, expansion = single_role(enabled, "core"), single_role(enabled, "expansion")
    copied = [single_role(enabled, role) for role in COPY_ROLES]  # one model per copy role
    rules = [_copy_rule(s) for s in copied if s is not None]
    rules += [_multi_group_rule(s, core, expansion) for s in _of_role(enabled, "multi_group")]
    rules += [_promote_rule(s, core, expansion) for s in _of_role(enabled, "group") if s.promotion is not None]
    rules += [_demote_rule(s) for s in _of_role(enabled, "group") if s.demote_rule is not None]
    rules += [_coverage_rule(s, core, expansion) for s in _of_role(enabled, "gaussian")]
    rules += [_topic_rule(s) for s in _of_role(enabled, "topic")]
    if core is not None and core.population_sampled is not None:
        rules.append(_population_sampled_rule(core))
    return rules


def required_columns(specs: Sequence[ModelSpec]) -> dict[str, str]:
    """Input column -> Spark SQL type that `reconcile` reads for these models (noteId aside)."""
    return {name: kind for rule in meta_rules(specs) for name, kind in rule.columns}


def lockable_rules(specs: Sequence[ModelSpec]) -> tuple[str, ...]:
    """decidedBy labels of the models' lockable meta rules (§4.13)."""
    return tuple(rule.label for rule in meta_rules(specs) if rule.lockable)


def reconcile(notes: DataFrame, specs: Sequence[ModelSpec], *, status_col: str = FINAL_STATUS) -> DataFrame:
    """Combine the models' statuses into one label (§4.11 rules 1-16).

    Args:
        notes: one row per note with the coalesced model outputs (§4.10); `required_columns`
            lists what the given models need (e.g. coreRatingStatus, groupRatingStatus,
            modelingGroup, coreNoteIntercept). A model that did not score a note has nulls.
        specs: the models (conf/models.yml via load_models); disabled ones are ignored.
        status_col: where to write the label; meta.py passes its running label column.

    Returns:
        `notes` plus `status_col` (may be NYH: stabilisation decides it), decidedBy and
        metaScorerActiveRules (comma-joined labels, e.g. "MetaInitialNMR (v1.0),CoreModel (v1.1)").

    Raises:
        ValueError: a column the rules read is missing.
    """
    rules = meta_rules(specs)
    missing = sorted({name for rule in rules for name, _ in rule.columns} - set(notes.columns))
    if missing:
        raise ValueError(f"reconcile: missing model output columns {missing}")
    df = notes.withColumns({status_col: F.lit(NMR), DECIDED_BY: F.lit(META_INITIAL_NMR),
                            ACTIVE_RULES: F.lit(META_INITIAL_NMR)})
    for rule in rules:
        label = F.col(status_col)
        # One projection per rule: the next rule reads this label, and nesting the expressions
        # instead would grow the plan with every rule.
        df = df.withColumn(_FIRES, F.coalesce(rule.fires(label), F.lit(False)))
        fires = F.col(_FIRES)
        df = df.withColumns({
            status_col: F.when(fires, rule.status(label)).otherwise(label),
            DECIDED_BY: F.when(fires, F.lit(rule.label)).otherwise(F.col(DECIDED_BY)),
            ACTIVE_RULES: F.when(fires, F.concat_ws(",", F.col(ACTIVE_RULES), F.lit(rule.label)))
            .otherwise(F.col(ACTIVE_RULES)),
        }).drop(_FIRES)
    return df
