"""Benchmark: one MF fit with the Spark ALS against the same ALS in memory (numpy, one core),
on the same synthetic ratings and the same initial parameters. Prints both and their ratio.

    python -m jobs.bench_mf --ratings 1000000 --master 'local[2]'
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnscore.config import MFConfig
from cnscore.ids import densify_ratings
from cnscore.mf.als import fit_mf
from cnscore.mf.init import random_params, xavier_bound
from cnscore.mf.local import fit_mf_local
from cnscore.preprocess import with_helpful_num
from cnscore.synthetic import generate, to_spark
from jobs._session import build_session


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jobs.bench_mf")
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", default="8")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    args = parser.parse_args(argv)
    n = args.ratings
    spark = build_session("bench-mf", master=args.master,
                          conf={"spark.sql.shuffle.partitions": args.partitions, "spark.driver.memory": "8g"})
    data = generate(num_raters=max(n // 20, 50), num_notes=max(n // 80, 20), num_ratings=n, seed=1)
    dense = densify_ratings(with_helpful_num(to_spark(spark, data)["ratings"]))
    ratings = dense.ratings.persist()
    ratings.count()
    cfg = MFConfig(tolerance=args.tolerance, seed=1)
    started = time.time()
    spark_fit = fit_mf(ratings, cfg)
    spark_s = time.time() - started
    frame = ratings.toPandas()
    raters = spark.createDataFrame(frame[["raterIdx"]].drop_duplicates())
    init = random_params(raters, key="raterIdx", side="rater", num_factors=1, seed=1,
                         bound=xavier_bound(spark_fit.num_raters, 1)).toPandas().sort_values("raterIdx")
    started = time.time()
    local = fit_mf_local(frame.raterIdx.to_numpy(), frame.noteIdx.to_numpy(), frame.helpfulNum.to_numpy(),
                         cfg, init.reset_index(drop=True))
    local_s = time.time() - started
    print(f"ratings={spark_fit.num_ratings} notes={spark_fit.num_notes} raters={spark_fit.num_raters} "
          f"master={args.master}")
    print(f"spark ALS : {spark_s:8.1f} s, {spark_fit.sweeps} sweeps, {spark_s / spark_fit.sweeps:.2f} s/sweep, "
          f"loss {spark_fit.objective:.10f}")
    print(f"numpy ALS : {local_s:8.1f} s, {local.sweeps} sweeps, {local_s / local.sweeps:.2f} s/sweep, "
          f"loss {local.objective:.10f}")
    print(f"ratio spark/numpy per sweep: {(spark_s / spark_fit.sweeps) / (local_s / local.sweeps):.2f}")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
