"""The score job's steps that touch paths or the outside world, kept out of cnscore."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

import cnscore
from cnscore import synthetic
from cnscore.config import ScoreConfig
from cnscore.fingerprint import fingerprint
from cnscore.io.tsv import read_input
from cnscore.mf.stage import MFStageResult, fit_mf_stage
from cnscore.preprocess import helpful_num_counts, with_helpful_num

INPUT_FLAGS = {"notes": "notes", "ratings": "ratings", "status": "noteStatusHistory",
               "enrollment": "userEnrollment"}


@dataclass
class Inputs:
    """What was read: tables by kind, quarantined rows, counts, and where it came from."""

    tables: dict[str, DataFrame]
    source: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    quarantine: dict[str, DataFrame] = field(default_factory=dict)


def read_inputs(spark: SparkSession, args, cfg: ScoreConfig) -> Inputs:
    """TSVs named on the command line, or the embedded synthetic default when none is."""
    given = {kind: getattr(args, flag) for flag, kind in INPUT_FLAGS.items() if getattr(args, flag)}
    if not given:
        s = cfg.synthetic
        data = synthetic.generate(s.num_raters, s.num_notes, s.num_ratings, seed=s.seed)
        tables = synthetic.to_spark(spark, data)
        return Inputs(tables, f"synthetic(raters={s.num_raters}, notes={s.num_notes}, "
                              f"ratings={s.num_ratings}, seed={s.seed})")
    if "ratings" not in given:
        raise SystemExit("--ratings is required when any input path is given")
    inputs = Inputs({}, json.dumps(given, sort_keys=True))
    for kind, path in given.items():
        result = read_input(spark, path, kind, bad_rows=cfg.input.bad_rows)
        inputs.tables[kind] = result.df
        inputs.counts[kind] = dict(result.counts)
        if result.quarantine is not None and result.counts.get("rows_quarantined"):
            inputs.quarantine[kind] = result.quarantine
    return inputs


@dataclass
class Outputs:
    tables: dict[str, DataFrame]
    mf: MFStageResult
    label_counts: dict[str, int]


def fit_core(inputs: Inputs, cfg: ScoreConfig) -> Outputs:
    """helpfulNum, dense ids and the MF fit on all labelled ratings."""
    ratings = with_helpful_num(inputs.tables["ratings"]).persist()
    label_counts = helpful_num_counts(ratings)
    stage = fit_mf_stage(ratings.sparkSession, ratings, cfg.mf)
    tables = {
        "note_params": stage.note_params,
        "rater_params": stage.rater_params,
        "global_params": stage.global_params,
        "rater_ids": stage.rater_ids,
        "note_ids": stage.note_ids,
    }
    return Outputs(tables, stage, label_counts)


METADATA_SCHEMA = T.StructType(
    [T.StructField(name, dtype, True) for name, dtype in [
        ("runId", T.StringType()), ("cnscoreVersion", T.StringType()),
        ("sparkVersion", T.StringType()), ("inputSource", T.StringType()),
        ("inputFingerprint", T.StringType()), ("config", T.StringType()),
        ("seed", T.LongType()), ("sweeps", T.IntegerType()), ("converged", T.BooleanType()),
        ("finalObjective", T.DoubleType()), ("trainMse", T.DoubleType()),
        ("globalIntercept", T.DoubleType()), ("rowCounts", T.StringType()),
        ("wallSeconds", T.DoubleType()),
    ]]
)


def run_metadata(spark, *, run_id, config, inputs: Inputs, outputs: Outputs, seconds) -> DataFrame:
    """One row describing the run: config, seed, sweeps, objective, counts, input fingerprint."""
    fit = outputs.mf.fit
    counts = {"inputs": inputs.counts, "labels": outputs.label_counts,
              "fit": {"ratings": fit.num_ratings, "notes": fit.num_notes, "raters": fit.num_raters}}
    row = (run_id, cnscore.__version__, spark.version, inputs.source,
           fingerprint(inputs.tables["ratings"]), json.dumps(config, sort_keys=True),
           int(config["mf"]["seed"]), fit.sweeps, fit.converged, fit.objective, fit.train_mse,
           fit.global_intercept, json.dumps(counts, sort_keys=True), float(seconds))
    return spark.createDataFrame([row], schema=METADATA_SCHEMA)


def summary(outdir: str, cfg: ScoreConfig, inputs: Inputs, outputs: Outputs, seconds: float) -> str:
    """A few lines for the terminal."""
    fit = outputs.mf.fit
    top = outputs.mf.note_params.orderBy("internalNoteIntercept", ascending=False).limit(3).collect()
    lines = [
        f"cnscore: scored {fit.num_ratings} ratings on {fit.num_notes} notes by {fit.num_raters} raters "
        f"({inputs.source})",
        f"  MF: {fit.sweeps} sweeps, converged={fit.converged}, loss {fit.objective:.6f}, "
        f"train MSE {fit.train_mse:.6f}, global intercept {fit.global_intercept:.4f}",
        "  top note intercepts: " + ", ".join(
            f"{r['noteId']}={r['internalNoteIntercept']:.3f}" for r in top),
        f"  tables ({cfg.output.format}) in {outdir}/tables/: "
        + ", ".join(sorted([*outputs.tables, "run_metadata", *[f"quarantine_{k}" for k in inputs.quarantine]])),
        f"  wall time {seconds:.1f}s",
    ]
    return "\n".join(lines)
