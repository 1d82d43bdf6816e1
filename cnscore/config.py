"""Typed, frozen configuration. Each default is defined once, here; conf/*.yml overrides it.

Lambdas are the reference's mean-form values (shared docs/reference.md §3.2); the engine
converts them to sum form itself.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal


from cnscore.scoring.settings import ScoringConfig


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range."""


def _finite_nonneg(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ConfigError(f"{type(obj).__name__}.{name} must be finite and >= 0, got {value}")


@dataclass(frozen=True)
class NormalizedLoss:
    """The normalized-loss refit (shared docs/reference.md §3.9; group 14's "expanded
    consensus" trial): a second fit whose squared errors are weighted by
    cnscore.mf.normalized_loss.rating_weights. Field names follow the reference's
    NormalizedLossHyperparameters; every field is required (the reference has no defaults)."""

    global_sign_norm: bool  # balance ratings by rater-factor sign over the whole fit
    note_sign_alpha: float | None  # balance them within each note (alpha smooths); None: off
    note_norm_exp: float  # times (note's total weight) ** exp; 0: off
    rater_norm_exp: float  # times (rater's total weight) ** exp; 0: off

    def __post_init__(self) -> None:
        if not isinstance(self.global_sign_norm, bool):
            raise ConfigError(
                f"normalized_loss.global_sign_norm must be true or false, got {self.global_sign_norm!r}")
        _finite_nonneg(self, "note_sign_alpha")  # alpha + weight totals is a denominator
        for name in ("note_norm_exp", "rater_norm_exp"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"normalized_loss.{name} must be finite, got {getattr(self, name)}")

    @staticmethod
    def parse(value: Any, where: str = "mf.normalized_loss") -> NormalizedLoss | None:
        """None, a NormalizedLoss, or one from a mapping (YAML, --set); unknown or missing keys
        are ConfigErrors."""
        if value is None or isinstance(value, NormalizedLoss):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a mapping, got {value!r}")
        hints = {f.name: str(f.type) for f in fields(NormalizedLoss)}
        unknown, missing = sorted(set(value) - set(hints)), sorted(set(hints) - set(value))
        if unknown or missing:
            raise ConfigError(f"{where}: unknown keys {unknown}, missing keys {missing}")
        return NormalizedLoss(**{k: _coerce(f"{where}.{k}", v, hints[k]) for k, v in value.items()})


@dataclass(frozen=True)
class MFConfig:
    """Matrix factorization: model, regularization and the ALS loop."""

    num_factors: int = 1
    note_intercept_lambda: float = 0.15
    note_factor_lambda: float = 0.03
    rater_intercept_lambda: float = 0.15
    rater_factor_lambda: float = 0.03
    global_intercept_lambda: float = 0.15
    diamond_lambda: float = 0.0  # the intercept x |factor| penalty on notes (k = 1 only)
    fit_global_intercept: bool = True
    # Final scoring fixes the per-note penalty to rho * lambda (reference §3.2); None = N/#notes.
    rating_per_note_loss_ratio: float | None = None
    rating_per_rater_loss_ratio: float | None = None
    max_sweeps: int = 200
    # Relative change of the loss between sweeps; the reference stops at an absolute change of
    # 1e-7 on a loss near 0.1, i.e. about 1e-6 relative.
    tolerance: float = 1e-6
    seed: int = 42
    init_factor_bound: float | None = None  # None: Xavier-uniform bound sqrt(6 / (n + k))
    flip_factors: bool = True  # the reference's rule: most raters get negative factors
    num_partitions: int | None = None  # None: spark.sql.shuffle.partitions
    # "standard": the reference's model. "qsmf": quality-sensitive MF, prediction
    # mu + i_u + gamma_u * i_n + f_u . f_n with gamma_u >= 0 per rater (cnscore.mf.qsmf).
    model: Literal["standard", "qsmf"] = "standard"
    qs_rounds: int = 5  # slow-step (gamma) updates, each after a full ALS fit; the paper used 5
    # Mean-form weight of sum_u (gamma_u - 1)^2, like the other rater terms (x N / #raters in
    # sum form). Small enough that a rater with ~20 ratings can move gamma to 0.
    qs_gamma_lambda: float = 0.03
    # Where joint fits run (cnscore.mf.worker): "distributed" (Spark aggregations per
    # half-step), "worker" (the whole fit in one pandas-UDF call on one worker, for small
    # models such as group models) or "auto" (worker up to worker_max_ratings, else distributed).
    engine: Literal["distributed", "worker", "auto"] = "distributed"
    worker_max_ratings: int = 2_000_000  # about 100 MB of arrays in the worker's Python
    # The normalized-loss refit (§3.9): every fit with this config runs twice, the second time
    # with per-rating weights from the first fit's rater factors (cnscore.mf.normalized_loss).
    # Models set it at the model level of conf/models.yml (ModelSpec.mf_config). None: off.
    normalized_loss: NormalizedLoss | None = None

    def __post_init__(self) -> None:
        if self.num_factors < 1:
            raise ConfigError(f"MFConfig.num_factors must be >= 1, got {self.num_factors}")
        if self.max_sweeps < 1:
            raise ConfigError(f"MFConfig.max_sweeps must be >= 1, got {self.max_sweeps}")
        _finite_nonneg(
            self,
            "note_intercept_lambda",
            "note_factor_lambda",
            "rater_intercept_lambda",
            "rater_factor_lambda",
            "global_intercept_lambda",
            "diamond_lambda",
            "tolerance",
            "init_factor_bound",
        )
        for name in ("rating_per_note_loss_ratio", "rating_per_rater_loss_ratio"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ConfigError(f"MFConfig.{name} must be > 0, got {value}")
        if self.model not in ("standard", "qsmf"):
            raise ConfigError(f"MFConfig.model must be 'standard' or 'qsmf', got {self.model}")
        if self.engine not in ("distributed", "worker", "auto"):
            raise ConfigError(f"MFConfig.engine must be distributed, worker or auto, got {self.engine}")
        if self.worker_max_ratings < 1:
            raise ConfigError(f"MFConfig.worker_max_ratings must be >= 1, got {self.worker_max_ratings}")
        if self.qs_rounds < 1:
            raise ConfigError(f"MFConfig.qs_rounds must be >= 1, got {self.qs_rounds}")
        _finite_nonneg(self, "qs_gamma_lambda")
        if self.diamond_lambda > 0 and self.num_factors != 1:
            raise ConfigError("MFConfig.diamond_lambda > 0 is supported only with num_factors=1")
        object.__setattr__(self, "normalized_loss", NormalizedLoss.parse(self.normalized_loss))
        if self.normalized_loss is not None and self.model != "standard":
            # QS-MF's loop has no weighted form (and the reference never combined the two).
            raise ConfigError("MFConfig.normalized_loss is supported only with model 'standard'")


@dataclass(frozen=True)
class InputConfig:
    """How inputs are read and validated."""

    bad_rows: Literal["fail", "quarantine"] = "fail"

    def __post_init__(self) -> None:
        if self.bad_rows not in ("fail", "quarantine"):
            raise ConfigError(f"input.bad_rows must be 'fail' or 'quarantine', got {self.bad_rows}")


@dataclass(frozen=True)
class SyntheticConfig:
    """Size of the embedded default dataset (used when no input paths are given)."""

    num_raters: int = 2000
    num_notes: int = 400
    num_ratings: int = 40000
    seed: int = 7


@dataclass(frozen=True)
class OutputConfig:
    """Where and how tables are written."""

    format: Literal["delta", "parquet"] = "delta"
    # auto: delta-spark when the session has Delta's catalog, otherwise delta-rs
    delta_writer: Literal["auto", "spark", "rs"] = "auto"

    def __post_init__(self) -> None:
        if self.format not in ("delta", "parquet"):
            raise ConfigError(f"output.format must be 'delta' or 'parquet', got {self.format}")
        if self.delta_writer not in ("auto", "spark", "rs"):
            raise ConfigError(f"output.delta_writer must be auto|spark|rs, got {self.delta_writer}")


@dataclass(frozen=True)
class CoordinationConfig:
    """Coordination detection (shared docs/reference.md §1.6 step 3, §4.1, §4.2).

    Defaults are the reference's values; the engineering knobs at the end are ours.
    """

    # High-volume raters (§1.6 step 3)
    high_volume_short_days: int = 7  # first counting window, days before the run time
    high_volume_long_days: int = 28  # second counting window
    high_volume_quantile: float = 0.999  # flagged when strictly above this exact percentile
    # The reference skips the tag below 200 distinct notes; None never skips (our default).
    high_volume_skip_below_notes: int | None = None
    # Author -> rater affinity and coverage (§4.1.1), HELPFUL ratings only
    affinity_min_denominator: int = 10  # affinity / coverage is null below this many
    writer_coverage_1m: float = 0.2  # link when coverage within 1 minute >= this
    writer_coverage_5m: float = 0.3  # ... within 5 minutes
    writer_coverage_20m: float = 0.4  # ... within 20 minutes
    rater_affinity_1m: float = 0.2  # link when affinity within 1 minute >= this
    rater_affinity_5m: float = 0.45  # ... within 5 minutes
    rater_affinity_20m: float = 0.7  # ... within 20 minutes
    # Co-rating pairs (§4.1.2)
    corating_window_millis: int = 1_200_000  # two ratings co-occur when <= 20 minutes apart
    corating_within_note: bool = True  # reference: both ratings on the same note of the post
    min_unique_posts: int = 10  # raters rating fewer distinct posts are dropped
    pmi_pseudocounts: int = 500  # added to each rater total in the smoothed PMI
    min_sim_pseudocounts: int = 10  # added to the smaller total in minSim
    npmi_threshold: float = 0.55  # link when smoothed NPMI >= this
    min_sim_threshold: float = 0.4  # ... or minSim >= this
    # Quasi-cliques (§4.2)
    quasi_clique_recency_days: int = 91  # notes created within 13 weeks of the newest note
    note_inclusion_threshold: float = 0.25  # a group action is done by >= this share of members
    min_inclusion_ratings: int = 4  # ... and by >= min(members, this) members
    rater_inclusion_threshold: float = 0.25  # each member matches >= this share of posts
    min_clique_posts: int = 25  # posts with a group action needed to accept a new member
    min_clique_raters: int = 5  # smaller quasi-cliques are discarded
    max_clique_growth_steps: int = 2000  # growth iterations per seed
    min_aligned_ratings: int = 5  # collision pairs kept when they collide this often
    min_seed_collisions: int = 50  # seeds collide strictly more often than this
    # Apply (§4.1.4): the reference returns ratings unfiltered below 200 notes; None never does.
    apply_skip_below_notes: int | None = None
    # Engineering knobs (ours): skew handling and bounds.
    salt_hot_key_rows: int = 1000  # a join key with more rows than this is split by salting
    salt_rows_per_task: int = 250  # target left-side rows per salt of a hot key
    max_salts: int = 64  # upper bound on salts per hot key
    components_max_iterations: int = 60  # label propagation gives up (error) after this many
    max_driver_component_links: int = 1_000_000  # smaller link graphs are solved on the driver
    max_driver_clique_ratings: int = 2_000_000  # bound on ratings collected for clique growth

    def __post_init__(self) -> None:
        _finite_nonneg(
            self, "writer_coverage_1m", "writer_coverage_5m", "writer_coverage_20m",
            "rater_affinity_1m", "rater_affinity_5m", "rater_affinity_20m", "npmi_threshold",
            "min_sim_threshold", "note_inclusion_threshold", "rater_inclusion_threshold",
        )
        if not 0.0 <= self.high_volume_quantile <= 1.0:
            raise ConfigError(
                f"CoordinationConfig.high_volume_quantile must be in [0, 1], "
                f"got {self.high_volume_quantile}"
            )
        # Pseudo-counts and minimum counts may be 0; windows, bounds and sizes must be >= 1.
        may_be_zero = {"pmi_pseudocounts", "min_sim_pseudocounts", "min_unique_posts"}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int):
                continue
            if value < (0 if f.name in may_be_zero else 1):
                raise ConfigError(f"CoordinationConfig.{f.name} is out of range: {value}")

@dataclass(frozen=True)
class ModelsConfig:
    """Which scoring models the score job runs (cnscore/scoring/multi_model.py).

    `run` lists roles of the models file (core, expansion, expansion_plus, core_with_topics,
    group, multi_group, ...) or "all"; Core must be among them. Models the pipeline does not
    implement yet are logged and skipped. The default runs Core alone.
    """

    run: tuple[str, ...] = ("core",)
    file: str | None = None  # the models file; None: conf/models.yml of the repository
    # Group, multi-group, topic, Gaussian and reputation models run this many at a time (threads
    # submitting Spark jobs; with mf.engine auto each of their fits is one pandas-UDF call on one
    # worker), after Core and the other models. 1: in turn.
    parallelism: int = 4

    def __post_init__(self) -> None:
        # `--set models.run=all` gives a string, YAML lists give lists; keep a hashable tuple.
        run = (self.run,) if isinstance(self.run, str) else tuple(self.run)
        if not run or not all(isinstance(r, str) and r for r in run):
            raise ConfigError(f"models.run must be a non-empty list of roles, got {self.run!r}")
        object.__setattr__(self, "run", run)
        if self.parallelism < 1:
            raise ConfigError(f"models.parallelism must be >= 1, got {self.parallelism}")


@dataclass(frozen=True)
class ScoreConfig:
    """Everything the score job needs."""

    mf: MFConfig = field(default_factory=MFConfig)
    input: InputConfig = field(default_factory=InputConfig)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    coordination: CoordinationConfig = field(default_factory=CoordinationConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)  # the Core model's rules
    models: ModelsConfig = field(default_factory=ModelsConfig)  # which models run


def _coerce(name: str, value: Any, hint: str) -> Any:
    """Check a scalar against its field's annotation; numbers may arrive as strings (YAML reads
    "1e-9" as a string, and --set values are text)."""
    if value is None:
        if "None" in hint:
            return None
        raise ConfigError(f"{name} may not be null")
    for kind, cast in (("float", float), ("int", int), ("bool", None)):
        if not hint.startswith(kind):
            continue
        if kind == "bool":
            if isinstance(value, bool):
                return value
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        if isinstance(value, bool):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        try:
            number = cast(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, got {value!r}") from None
        if kind == "int" and isinstance(value, float) and number != value:
            raise ConfigError(f"{name} must be a whole number, got {value!r}")
        return number
    return value


def _build(cls: type, values: Mapping[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown keys in {where or 'config'}: {unknown}")
    kwargs = {}
    for name, value in values.items():
        sub = known[name].default_factory  # nested sections have a dataclass factory
        if dataclasses.is_dataclass(sub) and isinstance(value, Mapping):
            kwargs[name] = _build(sub, value, f"{where}{name}.")
        else:
            kwargs[name] = _coerce(f"{where}{name}", value, str(known[name].type))
    return cls(**kwargs)


def _parse_scalar(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two nested mappings (extra wins)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(documents: list[Mapping[str, Any]], overrides: list[str]) -> ScoreConfig:
    """Build the config from YAML documents (in order) and `section.key=value` overrides."""
    values: dict[str, Any] = {}
    for doc in documents:
        values = merge(values, doc or {})
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override must look like section.key=value, got {item!r}")
        dotted, raw = item.split("=", 1)
        nested: dict[str, Any] = {}
        cursor = nested
        parts = dotted.strip().split(".")
        for part in parts[:-1]:
            cursor = cursor.setdefault(part, {})
        cursor[parts[-1]] = _parse_scalar(raw)
        values = merge(values, nested)
    try:
        return _build(ScoreConfig, values, "")
    except TypeError as exc:  # wrong value kinds surface as constructor errors
        raise ConfigError(str(exc)) from exc


def as_dict(config: Any) -> dict[str, Any]:
    """Plain dict of a config (for run metadata)."""
    return dataclasses.asdict(config)
