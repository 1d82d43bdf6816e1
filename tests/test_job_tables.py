"""The job's table round trip (jobs/_io.py): what a later phase or a rerun reads back is what
the last write left, in either format, empty tables included."""

from __future__ import annotations

import pytest
from deltalake import DeltaTable

from cnscore.config import OutputConfig
from jobs import _io

SCHEMA = "raterParticipantId string, internalRaterIntercept double"


@pytest.mark.parametrize("fmt", ["delta", "parquet"])
def test_a_table_reads_back_its_last_overwrite(spark, tmp_path, fmt):
    output = OutputConfig(format=fmt)
    first = spark.createDataFrame([("a", 0.1), ("b", 0.2), ("c", 0.3)], SCHEMA)
    second = spark.createDataFrame([("d", 0.4)], SCHEMA)
    _io.write_table(first, str(tmp_path), "raters", output)
    _io.write_table(second, str(tmp_path), "raters", output)
    if fmt == "delta":
        assert DeltaTable(str(tmp_path / "tables" / "raters")).version() == 1  # both versions kept
    back = _io.read_table(spark, str(tmp_path), "raters", output)
    assert [tuple(r) for r in back.collect()] == [("d", 0.4)]
    _io.write_table(spark.createDataFrame([], SCHEMA), str(tmp_path), "raters", output)
    empty = _io.read_table(spark, str(tmp_path), "raters", output)
    assert empty.count() == 0 and empty.columns == ["raterParticipantId", "internalRaterIntercept"]


def test_a_missing_table_says_which(spark, tmp_path):
    with pytest.raises(FileNotFoundError, match="table nothing not found"):
        _io.read_table(spark, str(tmp_path), "nothing", OutputConfig())
