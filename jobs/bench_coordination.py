"""Benchmark: co-rating pair counting (corating_scores) on skewed synthetic ratings, in Spark.

    python -m jobs.bench_coordination --ratings 1000000 [--master 'local[2]']

Ratings are generated inside Spark (spark.range + xxhash64; nothing on the driver):

- `--hot-raters` ratings (default 3000) on each of max(3, N / 500k) hot posts, all within a
  `--burst-minutes` burst (default 40): about 1500 ratings per 20-minute window, so each
  window is a hot key and is salted (`--no-salt` turns salting off, for comparison);
- the rest on ~N/40 posts with skewed popularity (u^2) by ~N/30 raters with skewed activity
  (u^3), at exponential delays (mean one day) after the note, over 30 days of notes.

Prints wall time of the pair counting (after generation is cached) and the peak resident
memory of the driver JVM and of the Python workers, sampled from /proc every 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from cnscore.config import CoordinationConfig
from cnscore.coordination.corating import corating_scores
from jobs._session import build_session

T0 = 1_700_000_000_000
HOUR, DAY = 3_600_000, 86_400_000


def _uniform(seed: int, *cols: str) -> Column:
    """A uniform [0, 1) double from a hash of the columns (deterministic, no driver state)."""
    return F.pmod(F.xxhash64(F.lit(seed), *[F.col(c) for c in cols]), F.lit(1 << 40)) / float(
        1 << 40
    )


def synthetic(
    spark: SparkSession, n: int, hot_raters: int, burst_minutes: int
) -> tuple[DataFrame, DataFrame]:
    """(ratings, notes) with the columns corating_scores reads."""
    num_posts, num_raters = max(n // 40, 100), max(n // 30, 100)
    num_hot = max(3, n // 500_000)
    hot_rows = num_hot * hot_raters
    notes = spark.range(num_posts).select(
        F.col("id").alias("noteId"),
        (F.col("id") + 1).alias("tweetId"),
        (F.lit(T0) + (_uniform(1, "id") * 30 * DAY).cast("long")).alias("createdAtMillis"),
    )
    ids = spark.range(n)
    hot = F.col("id") < hot_rows
    post = F.when(hot, F.floor(F.col("id") / hot_raters)).otherwise(
        num_hot + F.floor((num_posts - num_hot) * F.pow(_uniform(2, "id"), 2))
    )
    rater = F.when(hot, F.floor(num_raters * _uniform(3, "id"))).otherwise(
        F.floor(num_raters * F.pow(_uniform(4, "id"), 3))
    )
    delay = F.when(hot, _uniform(5, "id") * burst_minutes * 60_000).otherwise(
        -F.log(1.0 - _uniform(6, "id")) * DAY
    )
    ratings = (
        ids.select(
            post.cast("long").alias("noteId"), rater.cast("long").alias("_r"), delay.alias("_d")
        )
        .join(
            notes.select("noteId", F.col("createdAtMillis").alias("_c")), on="noteId", how="inner"
        )
        .select(
            "noteId",
            F.concat(F.lit("R"), F.col("_r").cast("string")).alias("raterParticipantId"),
            (F.col("_c") + F.col("_d").cast("long")).alias("createdAtMillis"),
        )
    )
    return ratings, notes


class PeakRss:
    """Samples VmRSS of the JVM and of the Python workers (the JVM's descendants)."""

    def __init__(self, jvm_pid: int):
        self.jvm_pid, self.peak_jvm, self.peak_workers, self.peak_total = jvm_pid, 0, 0, 0
        self.peak_one_worker = 0  # the largest single Python worker process
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss_kb(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _descendants(self) -> list[int]:
        parent = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
        found, frontier = [], [self.jvm_pid]
        while frontier:
            pid = frontier.pop()
            children = [p for p, pp in parent.items() if pp == pid]
            found += children
            frontier += children
        return found

    def _run(self) -> None:
        while not self._stop.is_set():
            jvm = self._rss_kb(self.jvm_pid)
            each = [self._rss_kb(p) for p in self._descendants()]
            workers = sum(each)
            self.peak_one_worker = max([self.peak_one_worker, *each])
            self.peak_jvm = max(self.peak_jvm, jvm)
            self.peak_workers = max(self.peak_workers, workers)
            self.peak_total = max(self.peak_total, jvm + workers)
            self._stop.wait(0.2)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jobs.bench_coordination")
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--hot-raters", type=int, default=3000)
    parser.add_argument("--burst-minutes", type=int, default=40)
    parser.add_argument("--no-salt", action="store_true", help="never salt (for comparison)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", default="8")
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args(argv)
    spark = build_session(
        "bench-coordination",
        master=args.master,
        conf={
            "spark.sql.shuffle.partitions": args.partitions,
            "spark.driver.memory": args.driver_memory,
        },
    )
    jvm_pid = int(spark.sparkContext._jvm.ProcessHandle.current().pid())
    ratings, notes = synthetic(spark, args.ratings, args.hot_raters, args.burst_minutes)
    ratings = ratings.persist(StorageLevel.MEMORY_AND_DISK)
    notes = notes.persist(StorageLevel.MEMORY_AND_DISK)
    started = time.time()
    num_ratings, num_notes = ratings.count(), notes.count()
    hottest = ratings.groupBy("noteId").count().agg(F.max("count")).first()[0]
    generated = time.time() - started
    cfg = CoordinationConfig(salt_hot_key_rows=2**31 - 1) if args.no_salt else CoordinationConfig()
    with PeakRss(jvm_pid) as rss:
        started = time.time()
        scores = corating_scores(ratings, notes, cfg)
        row = scores.agg(
            F.count(F.lit(1)).alias("pairs"),
            F.sum("coRatings").alias("coRatings"),
            F.count_if(
                (F.col("npmi") >= cfg.npmi_threshold) | (F.col("minSim") >= cfg.min_sim_threshold)
            ).alias("links"),
        ).first()
        wall = time.time() - started
    print(
        f"ratings={num_ratings} notes={num_notes} hottest_post={hottest} ratings "
        f"master={args.master} partitions={args.partitions} driver_memory={args.driver_memory} "
        f"salting={'off' if args.no_salt else 'on'}"
    )
    print(f"generate+cache: {generated:.1f} s")
    print(
        f"pair counting : {wall:.1f} s; pairs (raters with >= {cfg.min_unique_posts} posts)="
        f"{row['pairs']} coRatings={row['coRatings']} links={row['links']}"
    )
    print(
        f"peak RSS: driver JVM {rss.peak_jvm / 1024:.0f} MiB, python workers "
        f"{rss.peak_workers / 1024:.0f} MiB, together {rss.peak_total / 1024:.0f} MiB"
    )
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
