"""Reference output TSVs: column lists, conform_reference, and the writer's exact text."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cnscore.io.reference_tsv import (
    TABLES,
    UnknownColumnsError,
    conform_reference,
    reference_columns,
    reference_schema,
)
from jobs._reference_tsv import write_reference_tsv

KINDS = ("scored_notes", "helpfulness_scores", "note_status_history", "aux_note_info")
CRH = "CURRENTLY_RATED_HELPFUL"
MULTI_GROUP = {"multiGroupRaterIntercept", "multiGroupRaterFactor1", "modelingMultiGroup"}


def _golden(shared_dir, name, kind):
    return shared_dir / "data" / "golden" / name / "seed42" / f"{kind}.tsv"


def _header(path):
    with open(path, encoding="utf-8") as handle:
        return handle.readline().rstrip("\n").split("\t")


@pytest.mark.parametrize("kind", KINDS)
def test_columns_match_golden_headers(shared_dir, kind):
    assert len(reference_columns(kind)) == {"scored_notes": 99, "helpfulness_scores": 47,
                                            "note_status_history": 24, "aux_note_info": 72}[kind]
    assert _header(_golden(shared_dir, "synthetic-30k", kind)) == reference_columns(kind)
    bird = _header(_golden(shared_dir, "birdwatch-2021-03", kind))
    if kind == "helpfulness_scores":  # --nostrict-columns run: 3 columns absent, other order
        assert set(bird) == set(reference_columns(kind)) - MULTI_GROUP
    else:
        assert bird == reference_columns(kind)


def test_conform_adds_casts_orders_and_rejects(spark):
    df = spark.createDataFrame(
        [(2.5, 7, CRH)],
        "coreNoteIntercept double, noteId int, finalRatingStatus string",
    )
    out = conform_reference(df, "scored_notes")
    assert out.columns == reference_columns("scored_notes")
    assert out.schema == reference_schema("scored_notes")
    row = out.first()
    assert (row.noteId, row.coreNoteIntercept, row.finalRatingStatus) == (7, 2.5, CRH)
    dtypes = dict(out.dtypes)
    assert dtypes["noteId"] == "bigint" and dtypes["coreNoteIntercept"] == "float"
    assert row.firstTag is None and row.topicNoteConfident is None
    assert dtypes["topicNoteConfident"] == "boolean"

    extra = df.withColumn("internalNoteIntercept", F.lit(1.0))
    with pytest.raises(UnknownColumnsError, match="internalNoteIntercept"):
        conform_reference(extra, "scored_notes")
    assert conform_reference(extra, "scored_notes", drop_extra=True).columns == out.columns
    with pytest.raises(ValueError, match="unknown reference output"):
        conform_reference(df, "scored_notes_v2")


def test_writer_formats_like_pandas(spark, tmp_path):
    schema = T.StructType([
        T.StructField("id", T.LongType()), T.StructField("d", T.DoubleType()),
        T.StructField("f", T.FloatType()), T.StructField("b", T.BooleanType()),
        T.StructField("s", T.StringType()), T.StructField("i", T.IntegerType()),
    ])
    rows = [
        (2102564690189092022, 1795305600000.0, 0.49497256, True, "a,b (v1.0)", 3),
        (2, 0.48788750171661377, 7.654596e-05, False, "tab\there", None),
        (3, None, None, None, None, None),
        (4, math.nan, 1e20, True, 'say "hi"', -1),
        (5, 1e16, 2.0, False, "", 0),
    ]
    path = tmp_path / "sub" / "out.tsv"
    write_reference_tsv(spark.createDataFrame(rows, schema), path, order_by="id")
    text = path.read_text(encoding="utf-8")
    rows.sort(key=lambda r: r[0])
    # The same table through pandas.to_csv, with the dtypes the reference would hold.
    expected = pd.DataFrame({
        "id": pd.array([r[0] for r in rows], dtype="Int64"),
        "d": pd.array([r[1] for r in rows], dtype="float64"),
        "f": pd.array([r[2] for r in rows], dtype="float32"),
        "b": pd.array([r[3] for r in rows], dtype="boolean"),
        "s": pd.array([r[4] for r in rows], dtype="object"),
        "i": pd.array([r[5] for r in rows], dtype="Int64"),
    }).to_csv(sep="\t", index=False, lineterminator="\n")
    # pandas writes a float NaN as "" (na_rep); we keep a non-null NaN visible as "nan", as
    # the reference's aux_note_info does (tf_idf_incorrect_interval).
    assert text == expected.replace("4\t\t", "4\tnan\t", 1)
    lines = text.splitlines()
    assert lines[1] == '2\t0.48788750171661377\t7.654596e-05\tFalse\t"tab\there"\t'
    assert lines[-1] == "2102564690189092022\t1795305600000.0\t0.49497256\tTrue\ta,b (v1.0)\t3"


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_reproduces_golden_bytes(spark, shared_dir, tmp_path, kind):
    """golden text -> Spark (strings) -> conform_reference -> write_reference_tsv gives the
    golden file byte for byte, and pandas reads back exactly the golden header."""
    src = _golden(shared_dir, "synthetic-30k", kind)
    raw = spark.read.option("sep", "\t").option("header", True).csv(str(src))
    ints = {c.name for c in TABLES[kind] if c.written == "int"}
    # ANSI casts refuse "5.0" -> bigint; ids are too long for a double, so cast those directly.
    typed = raw.select(*[
        F.col(c).cast("double").cast("bigint").alias(c) if c in ints and not c.endswith("Id")
        else F.col(c) for c in raw.columns
    ])
    out = write_reference_tsv(conform_reference(typed, kind), tmp_path / f"{kind}.tsv")
    assert list(pd.read_csv(out, sep="\t", nrows=1).columns) == _header(src)
    assert open(out, "rb").read() == src.read_bytes()
