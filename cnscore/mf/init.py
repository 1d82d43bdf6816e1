"""Initial parameters: deterministic per entity, so they do not depend on partitioning.

Each factor is a hash of (seed, side, entity index, factor number) mapped to a uniform value;
intercepts start at 0 as in the reference. Warm starts join given tables and, like the
reference, give entities missing from them 0 for intercept and factors.
"""

from __future__ import annotations

import math

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.columns import factor_cols

_HASH_RANGE = 1 << 52  # exact in a double


def uniform_hash(seed: int, side: str, key: Column, slot: int) -> Column:
    """A value in [0, 1) derived only from (seed, side, key, slot)."""
    hashed = F.xxhash64(F.lit(seed), F.lit(side), key, F.lit(slot))
    return F.pmod(hashed, F.lit(_HASH_RANGE)).cast("double") / float(_HASH_RANGE)


def xavier_bound(num_entities: int, num_factors: int) -> float:
    """torch's xavier_uniform bound for an (n x k) embedding: sqrt(6 / (n + k))."""
    return math.sqrt(6.0 / (num_entities + num_factors))


def random_params(
    entities: DataFrame, *, key: str, side: str, num_factors: int, seed: int, bound: float
) -> DataFrame:
    """Intercept 0 and factors uniform in [-bound, bound) for each row of `entities[key]`."""
    cols = [F.col(key), F.lit(0.0).alias("intercept")]
    for slot, name in enumerate(factor_cols("factor", num_factors), start=1):
        unit = uniform_hash(seed, side, F.col(key), slot)
        cols.append(((unit * 2.0 - 1.0) * bound).alias(name))
    return entities.select(*cols)


def warm_params(entities: DataFrame, init: DataFrame, *, key: str, num_factors: int) -> DataFrame:
    """Parameters from `init` (key, intercept, factor1..k); missing entities get zeros."""
    names = ["intercept", *factor_cols("factor", num_factors)]
    joined = entities.join(init.select(key, *names), on=key, how="left")
    return joined.select(key, *[F.coalesce(F.col(n), F.lit(0.0)).alias(n) for n in names])
