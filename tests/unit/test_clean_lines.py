"""The reader's fast path: a line the clean-line pattern accepts has no problem under the
per-field checks, and ordinary lines are accepted (so the fast path is taken)."""

from __future__ import annotations

import re

import pytest

from cnscore.io import clean_lines, layouts, tsv
from tests.unit.test_tsv_readers import RATINGS_HEADER, _rating, _write

NSH_V1 = layouts.layout_for("noteStatusHistory", 9)

# Values at the edges of what the per-field checks accept, per column.
RATING_EDGES = {
    "noteId": ["8999999999999999999", "9223372036854775807", "9223372036854775808", "-0", "+1", " 1", "1.0",
               "12345678901234567890"],
    "createdAtMillis": ["1e3", "", "0"],
    "helpfulClear": ["99", "-99", "127", "128", "-129", "01", ""],
    "helpfulnessLevel": ["HELPFUL", "helpful", "", "SOMEWHAT_HELPFUL "],
    "raterParticipantId": ["", " ", "R\r"],
    "suggestionId": ["x\r"],
}


def _problems(spark, path, kind, layout, monkeypatch, *, fast: bool):
    if not fast:  # a pattern nothing matches: every line gets the per-field checks
        monkeypatch.setattr(tsv, "clean_line_pattern", lambda *_: "(?!)")
    parsed = tsv._parse_file(spark, str(path), kind, layout)
    monkeypatch.undo()
    rows = parsed.selectExpr("_line", "_problem").collect()
    return {r["_line"]: (r["_problem"] and r["_problem"].asDict()) for r in rows}


def _matches(spark, path, kind, layout):
    pattern = tsv._lit(clean_lines.clean_line_pattern(kind, layout))
    lines = spark.read.text(str(path)).selectExpr(f"value RLIKE {pattern} AS ok").collect()
    return [r.ok for r in lines[1:]]


@pytest.mark.parametrize("kind", ["ratings", "noteStatusHistory"])
def test_fast_path_reports_what_the_per_field_checks_report(spark, tmp_path, monkeypatch, kind):
    if kind == "ratings":
        layout, header = layouts.layout_for("ratings", 35), RATINGS_HEADER
        rows = [_rating(noteId=2106580677204904339, raterParticipantId="A" * 64)]
        rows += [_rating(**{column: value}) for column, values in RATING_EDGES.items() for value in values]
    else:  # the first public layout: null tokens ("0", "-1") in number columns
        layout, header = NSH_V1, list(NSH_V1.columns)
        rows = [["1", "A", "10", "-1", "", "-1", "NEEDS_MORE_RATINGS", "-1", ""],
                ["2", "A", "0", "-1", "", "-1", "", "-1", ""],  # createdAtMillis 0: the null token
                ["3", "A", "10", "5", "CURRENTLY_RATED_HELPFUL", "7", "FIRM_REJECT", "7.5", "x"],
                ["4", "", "10", "-2", "", "1e3", "", "NaN", ""]]
    path = _write(tmp_path / f"{kind}.tsv", header, rows)
    fast = _problems(spark, path, kind, layout, monkeypatch, fast=True)
    slow = _problems(spark, path, kind, layout, monkeypatch, fast=False)
    assert fast == slow
    matched = _matches(spark, path, kind, layout)
    assert matched[0], "an ordinary line must take the fast path"
    # The pattern accepts no line with a problem, and rejects some edge cases (so the test bites).
    assert all(slow[line + 2] is None for line, ok in enumerate(matched) if ok)
    assert not all(matched) and any(p is not None for p in slow.values())


def test_bigint_pattern_covers_snowflake_ids():
    pattern = clean_lines._SAFE_INTEGER[tsv.T.LongType()]
    assert re.fullmatch(pattern, "2106580677204904339")  # 19 digits below 9e18
    assert not re.fullmatch(pattern, "9223372036854775808")  # left to the per-field range check
