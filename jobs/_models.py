"""Read the model list (conf/models.yml) for the jobs; cnscore itself never reads files."""

from __future__ import annotations

from pathlib import Path

import yaml

from cnscore.config import ConfigError, ScoreConfig
from cnscore.scoring.models import ModelSpec, load_models
from cnscore.scoring.multi_model import select_models
from cnscore.scoring.settings import ScoringConfig

DEFAULT_MODELS_FILE = Path(__file__).resolve().parents[1] / "conf" / "models.yml"
# Each model's population comes from the models file (`selection:`), so these keys of the
# score job's `scoring` section would have no effect; refusing them beats ignoring them.
POPULATION_KEYS = ("modeling_groups", "include_unassigned", "exclude_topic_notes", "capture_threshold")


def load_models_file(path: Path = DEFAULT_MODELS_FILE, *, base: ScoringConfig | None = None) -> list[ModelSpec]:
    """ModelSpecs from a YAML models file (see cnscore.scoring.models.load_models)."""
    return load_models(yaml.safe_load(Path(path).read_text()) or {}, base=base)


def selected_models(cfg: ScoreConfig) -> list[ModelSpec]:
    """The models the score job runs: `models.run` roles of `models.file` (default
    conf/models.yml), every model starting from the job's `scoring` section.

    Raises:
        ConfigError: a population key set in `scoring`, an unknown role, or no core model.
    """
    defaults = ScoringConfig()
    changed = [k for k in POPULATION_KEYS if getattr(cfg.scoring, k) != getattr(defaults, k)]
    if changed:
        raise ConfigError(f"scoring.{changed[0]}: model populations are set per model in the models file "
                          f"(`selection:` in {cfg.models.file or DEFAULT_MODELS_FILE.name})")
    path = Path(cfg.models.file) if cfg.models.file else DEFAULT_MODELS_FILE
    return select_models(load_models_file(path, base=cfg.scoring), cfg.models.run)
