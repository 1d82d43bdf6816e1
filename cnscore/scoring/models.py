"""Model variants as data (shared docs/reference.md §5.1): one ModelSpec per scoring model.

`conf/models.yml` lists every model with its role, rating selection, thresholds and lambdas;
`load_models` turns the parsed file into validated, frozen ModelSpecs. A model's thresholds
are a ScoringConfig built with `dataclasses.replace` from the Core defaults (or the score
job's `scoring` section) plus the model's overrides, so each threshold is defined once.
Code branches on `role` and the configured fields, never on `name`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from cnscore.config import ConfigError, MFConfig, NormalizedLoss, _coerce
from cnscore.scoring.gaussian_kernel import GaussianConfig
from cnscore.scoring.reputation_mf import HelpfulnessReputationConfig, ReputationMFConfig
from cnscore.scoring.settings import ScoringConfig

# Roles decide which meta rules a model takes part in (cnscore.scoring.reconcile).
COPY_ROLES = ("expansion_plus", "expansion", "core_with_topics", "core")  # lowest priority first
ROLES = (*COPY_ROLES, "multi_group", "group", "gaussian", "topic", "reputation")
ALL_RATERS = "all"
GAUSSIAN = "gaussian"  # the final algorithm that reads ModelSpec.gaussian
REPUTATION_MF = "reputation_mf"  # the algorithm that reads ModelSpec.reputation_mf
CORE_PRESCORING = "core"  # prescoring algorithm: reuse the core-role model's prescoring
ALGORITHMS = {"prescoring": ("mf", REPUTATION_MF, CORE_PRESCORING), "final": ("mf", GAUSSIAN, REPUTATION_MF)}
# final algorithm -> its settings' defaults; the ModelSpec field (= models.yml key) is the
# algorithm's name
_ALGORITHM_SETTINGS = {GAUSSIAN: GaussianConfig, REPUTATION_MF: HelpfulnessReputationConfig}
_NEEDS_RULE = (*COPY_ROLES, "multi_group", "gaussian", "topic")  # groups need a rule or demote_rule
# Population keys live under `selection:`; the loader sets model_name / model_version itself.
_SELECTION_KEYS = ("modeling_groups", "include_unassigned", "exclude_topic_notes", "capture_threshold")
_RESERVED_SCORING_KEYS = (*_SELECTION_KEYS, "model_name", "model_version")
REPUTATION_KEY = "use_reputation"
_TOP_LEVEL_KEYS = ("rater_groups", "models", "anchors")  # anchors: YAML aliases only, not read


@dataclass(frozen=True)
class RatingSelection:
    """Selection settings beyond ScoringConfig's population fields (§4.4.1, §5.4)."""
    all_raters: bool = False  # topic models: every rater, whatever their modelingGroup
    strict_inclusion: bool = False  # group 33: the capture share also filters the input notes
    # The docs say group models only affect notes written by a group member; the reference
    # code enforces only the capture share (§5.1), hence off by default.
    require_author_in_group: bool = False


@dataclass(frozen=True)
class Promotion:
    """Group promotion band (§4.11 rules 7-9): core (else expansion) intercept strictly above
    min_intercept and, when below_crh, strictly below that model's crh_threshold."""
    min_intercept: float
    below_crh: bool


@dataclass(frozen=True)
class TopicSettings:
    """A topic model's topic, confidence and demotion thresholds (§4.11 rule 15)."""
    name: str
    min_ratings_per_side: int  # topicNoteConfident: this many ratings on each factor side
    demote_below_intercept: float  # CRH/NYH -> NMR when the topic intercept is below this
    demote_above_abs_factor: float  # ... or |topic factor| is above this


@dataclass(frozen=True)
class PopulationSampledGuard:
    """§4.11 rule 16 on the core model's population-sampled intercept."""
    rule: str
    version: str
    min_ratings: int  # population-sampled ratings from raters with core params
    min_per_sign: int  # ... on each rater-factor sign
    max_intercept: float  # fires when the population-sampled intercept is below this
    min_divergence: float  # ... and core intercept - population-sampled intercept >= this


@dataclass(frozen=True)
class ModelSpec:
    """One scoring model: who it rates, how it scores, and which meta rules it feeds."""
    name: str
    role: str
    prefix: str  # output columns <prefix>RatingStatus, <prefix>NoteIntercept, ...
    version: str  # the meta rules' version, e.g. "v1.1"
    scoring: ScoringConfig
    enabled: bool = True
    rule: str | None = None  # meta rule name, e.g. "CoreModel"; None: no rule of its role
    demote_rule: str | None = None  # group models: the NMR demotion rule
    lockable: bool = False
    group_id: int | None = None  # group / multi_group: the note's modelingGroup value
    selection: RatingSelection = field(default_factory=RatingSelection)
    mf_overrides: tuple[tuple[str, Any], ...] = ()
    normalized_loss: NormalizedLoss | None = None
    prescoring: str = "mf"
    final: str = "mf"
    promotion: Promotion | None = None
    topic: TopicSettings | None = None
    population_sampled: PopulationSampledGuard | None = None
    # final: gaussian only: the kernel's settings (reference defaults, overridable per model).
    gaussian: GaussianConfig | None = None
    # final: reputation_mf only: the reputation MF's hyperparameters (the reference's, overridable).
    reputation_mf: ReputationMFConfig | None = None

    @property
    def use_reputation(self) -> bool:
        """The helpfulness filter of prescoring (§4.4.6-4.4.9); models.yml's top-level key."""
        return self.scoring.use_reputation

    @property
    def status_col(self) -> str:
        return f"{self.prefix}RatingStatus"

    @property
    def intercept_col(self) -> str:
        return f"{self.prefix}NoteIntercept"

    @property
    def factor_col(self) -> str:
        return f"{self.prefix}NoteFactor1"

    @property
    def rule_label(self) -> str | None:
        """The rule as decidedBy spells it, e.g. "CoreModel (v1.1)"."""
        return None if self.rule is None else f"{self.rule} ({self.version})"

    @property
    def demote_label(self) -> str | None:
        return None if self.demote_rule is None else f"{self.demote_rule} ({self.version})"

    def mf_config(self, base: MFConfig) -> MFConfig:
        """The score job's MF settings with this model's overrides (lambdas, μ, and its
        normalized loss when it has one: every MF fit of the model then runs the §3.9 rounds)."""
        extra = {} if self.normalized_loss is None else {"normalized_loss": self.normalized_loss}
        return dataclasses.replace(base, **dict(self.mf_overrides), **extra)


def load_models(mapping: Mapping[str, Any], *, base: ScoringConfig | None = None) -> list[ModelSpec]:
    """Validated ModelSpecs from a parsed models file (conf/models.yml), in file order.

    Args:
        mapping: the parsed YAML: `rater_groups` (name -> ids), `models`, `anchors` (not read).
        base: the ScoringConfig every model starts from (default: the Core defaults); the
            score job passes its `scoring` section so run-wide overrides reach every model.

    Returns:
        One ModelSpec per entry, disabled ones included (callers filter on `enabled`).

    Raises:
        ConfigError: unknown keys (also ScoringConfig / MFConfig fields), roles or algorithms;
            duplicate names or rule labels; missing or misplaced role settings.
    """
    _no_unknown(mapping, _TOP_LEVEL_KEYS, "models file")
    sets = {str(k): tuple(int(g) for g in v) for k, v in (mapping.get("rater_groups") or {}).items()}
    entries = mapping.get("models")
    if not isinstance(entries, Sequence) or not entries:
        raise ConfigError("models file: `models` must be a non-empty list")
    specs = [_spec(entry, sets, base or ScoringConfig(), i) for i, entry in enumerate(entries)]
    _check_unique(specs)
    return specs


def single_role(specs: Sequence[ModelSpec], role: str) -> ModelSpec | None:
    """The one enabled model with this role, or None; more than one is a ConfigError."""
    found = [s for s in specs if s.role == role and s.enabled]
    if len(found) > 1:
        raise ConfigError(f"at most one enabled {role} model, got {[s.name for s in found]}")
    return found[0] if found else None


def _spec(entry: Any, sets: Mapping[str, tuple[int, ...]], base: ScoringConfig, i: int) -> ModelSpec:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"models[{i}] must be a mapping, got {entry!r}")
    where = f"models[{i}] ({entry.get('name', '?')})"
    values = dict(entry)
    allowed = {f.name for f in fields(ModelSpec)} - {"scoring", "selection", "mf_overrides"}
    _no_unknown(values, (*allowed, "scoring", "selection", "mf", REPUTATION_KEY), where)
    for key in ("name", "role", "prefix", "version"):
        if not values.get(key):
            raise ConfigError(f"{where}: `{key}` is required")
    if values["role"] not in ROLES:
        raise ConfigError(f"{where}: unknown role {values['role']!r}; expected one of {ROLES}")
    selection, population = _selection(values.pop("selection", None) or {}, sets, where)
    overrides = dict(values.pop("scoring", None) or {})
    if REPUTATION_KEY in values:  # a model-level key in the file, a ScoringConfig field in code
        overrides[REPUTATION_KEY] = values.pop(REPUTATION_KEY)
    reserved = sorted(set(overrides) & set(_RESERVED_SCORING_KEYS))
    if reserved:
        raise ConfigError(f"{where}: set {reserved} under `selection` (population) or not at all")
    scoring = _replace(base, {**overrides, **population, "model_name": values["prefix"],
                              "model_version": values["version"]}, f"{where}.scoring.")
    mf = values.pop("mf", None) or {}
    mf_checked = _replace(MFConfig(), mf, f"{where}.mf.")  # unknown keys / bad values fail now
    for algorithm, defaults in _ALGORITHM_SETTINGS.items():
        settings = values.pop(algorithm, None)
        if values.get("final") == algorithm:
            values[algorithm] = _replace(defaults(), settings or {}, f"{where}.{algorithm}.")
        elif settings is not None:
            raise ConfigError(f"{where}: `{algorithm}` settings are for models whose final algorithm is {algorithm}")
    nested = {"promotion": Promotion, "topic": TopicSettings, "population_sampled": PopulationSampledGuard,
              "normalized_loss": NormalizedLoss}
    for key, cls in nested.items():
        if values.get(key) is not None:
            values[key] = _make(cls, values[key], f"{where}.{key}.")
    kwargs = {k: _coerce(f"{where}.{k}", v, _hint(ModelSpec, k)) if k not in (*nested, *_ALGORITHM_SETTINGS) else v
              for k, v in values.items()}
    overrides_mf = tuple(sorted((k, getattr(mf_checked, k)) for k in mf))
    spec = ModelSpec(**kwargs, scoring=scoring, selection=selection, mf_overrides=overrides_mf)
    _check_role(spec, where)
    try:  # combined MF settings (e.g. a normalized loss with QS-MF) fail at load time too
        spec.mf_config(mf_checked)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    return spec


def _selection(values: Mapping[str, Any], sets: Mapping[str, tuple[int, ...]],
               where: str) -> tuple[RatingSelection, dict[str, Any]]:
    """Split `selection:` into RatingSelection and ScoringConfig's population fields."""
    extra = {f.name for f in fields(RatingSelection)}
    _no_unknown(values, (*_SELECTION_KEYS, *extra), f"{where}.selection")
    population = {k: v for k, v in values.items() if k in _SELECTION_KEYS}
    flags = {k: v for k, v in values.items() if k in extra}
    groups = population.get("modeling_groups")
    if groups == ALL_RATERS:
        flags["all_raters"] = True
        population["modeling_groups"] = ()
    elif isinstance(groups, str):
        raise ConfigError(f"{where}.selection: modeling_groups must be a list or {ALL_RATERS!r}")
    elif groups is not None:
        ids: list[int] = []
        for g in groups:
            if isinstance(g, str) and g not in sets:
                raise ConfigError(f"{where}.selection: unknown rater group {g!r}; known: {sorted(sets)}")
            ids.extend(sets[g] if isinstance(g, str) else (int(g),))
        population["modeling_groups"] = tuple(sorted(set(ids)))
    if "capture_threshold" in population and population["capture_threshold"] is None:
        # No capture threshold: every note the model scored is output; a share >= 0 always holds.
        population["capture_threshold"] = 0.0
    return _make(RatingSelection, flags, f"{where}.selection."), population


def _check_role(spec: ModelSpec, where: str) -> None:
    """Role-specific settings must be present where the role needs them, absent elsewhere."""
    role, group = spec.role, spec.role == "group"
    grouped = role in ("group", "multi_group")
    problems = [
        (any(getattr(spec, p) not in ok for p, ok in ALGORITHMS.items()),
         f"prescoring/final: one of {ALGORITHMS}"),
        (not (isinstance(spec.version, str) and spec.version.startswith("v")), "version must look like 'v1.1'"),
        (grouped != (spec.group_id is not None) or (grouped and spec.group_id < 1),  # type: ignore[operator]
         "group_id (>= 1) is required for group/multi_group models only"),
        (group and (spec.rule is None) != (spec.promotion is None),
         "a group's promote `rule` needs `promotion`"),
        (group and spec.rule is None and spec.demote_rule is None,
         "a group model needs `rule` and/or `demote_rule`"),
        (not group and bool(spec.promotion or spec.demote_rule), "promotion/demote_rule are for group models"),
        ((role == "topic") != (spec.topic is not None), "`topic` is for topic models, and they need it"),
        (spec.population_sampled is not None and role != "core", "population_sampled is for the core model"),
        (role in _NEEDS_RULE and spec.rule is None, f"role {role} needs a meta `rule`"),
        (role == "reputation" and bool(spec.rule or spec.lockable), "reputation models take no meta rule"),
        (spec.normalized_loss is not None and "normalized_loss" in dict(spec.mf_overrides),
         "set normalized_loss at the model level or under mf, not both"),
    ]
    for failed, message in problems:
        if failed:
            raise ConfigError(f"{where}: {message}")


def _check_unique(specs: Sequence[ModelSpec]) -> None:
    seen: dict[Any, str] = {}
    enabled = [s for s in specs if s.enabled]
    keys = [("name", s.name, s) for s in specs]
    keys += [("rule", label, s) for s in enabled for label in (s.rule_label, s.demote_label) if label]
    keys += [("population_sampled rule", f"{s.population_sampled.rule} ({s.population_sampled.version})", s)
             for s in enabled if s.population_sampled]
    # Two models acting on the same group's or topic's notes would contradict each other.
    keys += [(f"{s.role} group_id", s.group_id, s) for s in enabled if s.group_id is not None]
    keys += [("topic", s.topic.name, s) for s in enabled if s.topic]
    for kind, value, spec in keys:
        if (kind, value) in seen:
            raise ConfigError(f"duplicate {kind} {value!r}: {seen[(kind, value)]} and {spec.name}")
        seen[(kind, value)] = spec.name
    for role in COPY_ROLES:
        single_role(specs, role)  # one authority per role: the meta rules read its columns


def _no_unknown(values: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where} must be a mapping, got {values!r}")
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown keys in {where}: {unknown}")


def _hint(cls: type, name: str) -> str:
    return str({f.name: f.type for f in fields(cls)}[name])


def _replace(base: Any, values: Mapping[str, Any], where: str) -> Any:
    """dataclasses.replace with checked keys, coerced scalars and nested dataclass sections."""
    _no_unknown(values, [f.name for f in fields(base)], where.rstrip("."))
    changes = {}
    for key, value in values.items():
        current = getattr(base, key)
        if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
            changes[key] = _replace(current, value, f"{where}{key}.")
        else:
            changes[key] = _coerce(f"{where}{key}", value, _hint(type(base), key))
    try:
        return dataclasses.replace(base, **changes)
    except (TypeError, ValueError) as exc:  # __post_init__ range checks
        raise ConfigError(f"{where.rstrip('.')}: {exc}") from exc


def _make(cls: type, values: Any, where: str) -> Any:
    """A small settings dataclass from a mapping: unknown keys and missing keys both fail."""
    _no_unknown(values, [f.name for f in fields(cls)], where.rstrip("."))
    kwargs = {k: _coerce(f"{where}{k}", v, _hint(cls, k)) for k, v in values.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where.rstrip('.')}: {exc}") from exc
