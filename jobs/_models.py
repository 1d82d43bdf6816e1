"""Read the model list (conf/models.yml) for the jobs; cnscore itself never reads files."""

from __future__ import annotations

from pathlib import Path

import yaml

from cnscore.scoring.models import ModelSpec, load_models
from cnscore.scoring.settings import ScoringConfig

DEFAULT_MODELS_FILE = Path(__file__).resolve().parents[1] / "conf" / "models.yml"


def load_models_file(path: Path = DEFAULT_MODELS_FILE, *, base: ScoringConfig | None = None) -> list[ModelSpec]:
    """ModelSpecs from a YAML models file (see cnscore.scoring.models.load_models)."""
    return load_models(yaml.safe_load(Path(path).read_text()) or {}, base=base)
