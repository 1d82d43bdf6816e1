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


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range."""


def _finite_nonneg(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ConfigError(f"{type(obj).__name__}.{name} must be finite and >= 0, got {value}")


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
        if self.diamond_lambda > 0 and self.num_factors != 1:
            raise ConfigError("MFConfig.diamond_lambda > 0 is supported only with num_factors=1")


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
class ScoreConfig:
    """Everything the score job needs."""

    mf: MFConfig = field(default_factory=MFConfig)
    input: InputConfig = field(default_factory=InputConfig)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    output: OutputConfig = field(default_factory=OutputConfig)


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
