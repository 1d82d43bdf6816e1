"""TSV readers: real files in every known layout, and each kind of bad input in both modes."""

from __future__ import annotations

import csv
import logging
from collections import Counter
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from cnscore.io import layouts, tsv
from cnscore.io.tsv import (
    CONFLICTING_DUPLICATE,
    NOT_A_NUMBER,
    OUT_OF_RANGE,
    REQUIRED_EMPTY,
    UNKNOWN_ENUM,
    WRONG_FIELD_COUNT,
    InputValidationError,
    read_input,
)
from cnscore.schemas import INPUT_SCHEMAS, QUARANTINE

BW2021 = "data/real/colinfraser-birdwatch_data_guide"
NSH_2022 = "data/real/mcroston-birdwatch_communitynotes/noteStatusHistory-00000.tsv"
ENROLLMENT_2023 = "data/real/shiruken-birdwatch-data/userEnrollment-00000.tsv"
GOLDEN_SETS = ("birdwatch-2021-03", "synthetic-30k")
KINDS = ("notes", "ratings", "noteStatusHistory", "userEnrollment")
FILE_OF = {k: f"{k}-00000.tsv" for k in KINDS}


def _rows(path: Path) -> list[list[str]]:
    """Data rows of a TSV, parsed independently of Spark (plain split, header dropped)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]


def _col(path: Path, name: str) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
    return [row[header.index(name)] for row in _rows(path)]


def _read(spark, path, kind, mode="fail"):
    return read_input(spark, str(path), kind, bad_rows=mode)


# ---------------------------------------------------------------- real data, every layout


@pytest.fixture(scope="module")
def bw2021(spark, shared_dir):
    notes = _read(spark, shared_dir / BW2021 / "notes-00000.tsv", "notes")
    ratings = _read(spark, shared_dir / BW2021 / "ratings-00000.tsv", "ratings")
    yield notes, ratings
    notes.release()
    ratings.release()


def test_2021_snapshot_counts_and_schema(bw2021):
    notes, ratings = bw2021
    assert notes.df.count() == 4880 and ratings.df.count() == 13559  # SOURCES.md set A
    assert notes.counts["rows_kept"] == 4880 and notes.counts["rows_quarantined"] == 0
    assert ratings.counts["rows_kept"] == 13559 and ratings.counts["rows_quarantined"] == 0
    assert notes.df.schema == INPUT_SCHEMAS["notes"]
    assert ratings.df.schema == INPUT_SCHEMAS["ratings"]
    assert list(notes.layouts.values()) == ["2021 .. 2023-05"]
    assert list(ratings.layouts.values()) == ["2021 v1 form"]
    classes = dict(notes.df.groupBy("classification").count().collect())
    assert classes == {"MISINFORMED_OR_POTENTIALLY_MISLEADING": 3938, "NOT_MISLEADING": 942}


def test_2021_ratings_mapping_to_todays_columns(bw2021, shared_dir):
    _, ratings = bw2021
    src = shared_dir / BW2021 / "ratings-00000.tsv"
    new_tags = ["helpfulAddressesClaim", "notHelpfulIrrelevantSources", "notHelpfulNoteNotNeeded"]
    stats = ratings.df.agg(
        F.count_if(F.col("version") != 1).alias("not_v1"),
        F.count_if(F.col("helpfulnessLevel").isNotNull()).alias("has_level"),
        F.count_if(F.col("ratedOnTweetId") != -1).alias("has_tweet"),
        F.count_if(F.col("ratingSourceBucketed").isNotNull()).alias("has_source"),
        *[F.sum(t).alias(t) for t in new_tags],
        F.sum("notHelpfulArgumentativeOrBiased").alias("argumentative"),
        F.sum("helpfulClear").alias("clear"),
        F.count_if(F.col("raterParticipantId").isNull()).alias("no_rater"),
    ).first()
    assert (stats.not_v1, stats.has_level, stats.has_tweet, stats.has_source) == (0, 0, 0, 0)
    assert all(stats[t] == 0 for t in new_tags)
    inflammatory = _col(src, "notHelpfulArgumentativeOrInflammatory")
    assert stats.argumentative == sum(int(v) for v in inflammatory) > 0
    assert stats.clear == sum(int(v) for v in _col(src, "helpfulClear"))
    assert stats.no_rater == 0


@pytest.mark.parametrize("golden", GOLDEN_SETS)
def test_golden_inputs_read_clean(spark, shared_dir, golden):
    for kind in KINDS:
        path = shared_dir / "data/golden" / golden / "input" / FILE_OF[kind]
        with path.open("rb") as handle:
            expected = sum(1 for _ in handle) - 1  # wc -l minus the header
        result = _read(spark, path, kind)
        try:
            assert result.counts["rows_quarantined"] == 0, kind
            assert result.counts["exact_duplicates_dropped"] == 0, kind
            assert result.counts["rows_read"] == result.counts["rows_kept"] == expected, kind
            assert result.df.count() == expected, kind
            assert result.df.schema == INPUT_SCHEMAS[kind], kind
            assert next(iter(result.layouts.values())).startswith("current"), kind
        finally:
            result.release()


def test_first_public_status_history_9_columns(spark, shared_dir):
    path = shared_dir / NSH_2022
    result = _read(spark, path, "noteStatusHistory")
    df = result.df
    assert df.count() == 36118 and df.schema == INPUT_SCHEMAS["noteStatusHistory"]
    statuses = dict(df.groupBy("currentStatus").count().collect())
    assert statuses == {
        None: 23544,
        "NEEDS_MORE_RATINGS": 10923,
        "CURRENTLY_RATED_HELPFUL": 1154,
        "CURRENTLY_RATED_NOT_HELPFUL": 497,
    }
    # -1 meant "no such timestamp" and createdAtMillis was 0 everywhere: both become null.
    raw_current = _col(path, "timestampMillisOfCurrentStatus")
    stats = df.agg(
        F.count("timestampMillisOfCurrentStatus").alias("current"),
        F.count("createdAtMillis").alias("created"),
        F.count("timestampMillisOfStatusLock").alias("lock"),
        F.count_if(F.col("timestampMillisOfFirstNonNMRStatus") < 0).alias("negative"),
    ).first()
    assert stats.current == sum(v != "-1" for v in raw_current)
    assert (stats.created, stats.lock, stats.negative) == (0, 0, 0)
    result.release()


def test_early_enrollment_5_columns(spark, shared_dir):
    result = _read(spark, shared_dir / ENROLLMENT_2023, "userEnrollment")
    df = result.df
    assert df.count() == 26923 and df.schema == INPUT_SCHEMAS["userEnrollment"]
    states = dict(df.groupBy("enrollmentState").count().collect())
    assert states == {"newUser": 22111, "earnedIn": 4694, "atRisk": 72,
                      "earnedOutAcknowledged": 44, "earnedOutNoAcknowledge": 2}
    filled = df.agg(
        F.count_if(F.col("numberOfTimesEarnedOut") != 0).alias("earned_out"),
        F.count("modelingGroup").alias("group"),
        F.count("modelingPopulation").alias("population"),
    ).first()
    assert tuple(filled) == (0, 0, 0)
    result.release()


def test_every_real_header_matches_its_layout(shared_dir):
    files = [(shared_dir / BW2021 / f"{k}-00000.tsv", k) for k in ("notes", "ratings")]
    files += [(shared_dir / NSH_2022, "noteStatusHistory")]
    files += [(shared_dir / ENROLLMENT_2023, "userEnrollment")]
    files += [(shared_dir / "data/golden" / g / "input" / FILE_OF[k], k)
              for g in GOLDEN_SETS for k in KINDS]
    for path, kind in files:
        with path.open(encoding="utf-8") as handle:
            header = handle.readline().rstrip("\n").split("\t")
        layout = layouts.layout_for(kind, len(header))
        assert layout is not None and layout.header_mismatches(header) == [], path


# ---------------------------------------------------------------- small explicit files

RATINGS_HEADER = list(layouts.layout_for("ratings", 35).columns)


def _rating(**values) -> list[str]:
    """One 35-field ratings line (today's public layout) with sensible defaults."""
    row = {c: "0" for c in RATINGS_HEADER}
    row.update(noteId="1", raterParticipantId="R1", createdAtMillis="1000", version="2",
               helpfulnessLevel="HELPFUL", ratedOnTweetId="-1", ratingSourceBucketed="DEFAULT",
               suggestion="", suggestionId="")
    row.update({k: str(v) for k, v in values.items()})
    return [row[c] for c in RATINGS_HEADER]


def _write(path: Path, header: list[str], rows: list[list[str] | str]) -> Path:
    lines = ["\t".join(header)] + [r if isinstance(r, str) else "\t".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _good_ratings() -> list[list[str]]:
    return [_rating(noteId=1, raterParticipantId="A"), _rating(noteId=2, raterParticipantId="A")]


# case -> (bad rows, appended after two good ones; column named; reason kind)
BAD_CASES = {
    "wrong_field_count": ([_rating(noteId=3)[:-1]], None, WRONG_FIELD_COUNT),
    "unknown_enum": ([_rating(noteId=3, helpfulnessLevel="VERY_HELPFUL")], "helpfulnessLevel",
                     UNKNOWN_ENUM),
    "non_numeric_id": ([_rating(noteId="12ab")], "noteId", NOT_A_NUMBER),
    "non_numeric_timestamp": ([_rating(noteId=3, createdAtMillis="2021-03-01")],
                              "createdAtMillis", NOT_A_NUMBER),
    "required_empty": ([_rating(noteId=3, raterParticipantId="")], "raterParticipantId",
                       REQUIRED_EMPTY),
    "tag_out_of_range": ([_rating(noteId=3, helpfulClear=300)], "helpfulClear", OUT_OF_RANGE),
    "conflicting_duplicate": (
        [_rating(noteId=3, raterParticipantId="B", createdAtMillis=5),
         _rating(noteId=3, raterParticipantId="B", createdAtMillis=6)],
        "noteId+raterParticipantId",
        CONFLICTING_DUPLICATE,
    ),
}


def _bad_file(tmp_path: Path) -> tuple[Path, list[tuple[int, str | None, str]], list[list[str]]]:
    """Two good ratings, then every bad case; returns (path, [(line, column, reason)], rows)."""
    rows, expected = _good_ratings(), []
    for case in sorted(BAD_CASES):
        bad, column, reason = BAD_CASES[case]
        for row in bad:
            rows.append(row)
            expected.append((len(rows) + 1, column, reason))
    return _write(tmp_path / "ratings-00000.tsv", RATINGS_HEADER, rows), expected, rows


def test_bad_input_fails_naming_file_line_column(spark, tmp_path):
    path, expected, _ = _bad_file(tmp_path)
    with pytest.raises(InputValidationError) as info:
        _read(spark, path, "ratings")
    message = str(info.value)
    assert info.value.total == len(expected) and str(path) in message
    for line, column, reason in expected:  # every kind is named with file, line and column
        where = f"ratings-00000.tsv line {line}" + (f", column {column}:" if column else ":")
        assert any(where in e and f"({reason})" in e for e in info.value.examples), (where, message)
    assert "'2021-03-01' is not a number" in message
    assert "expected 35 fields, found 34" in message


@pytest.fixture(params=["repeated keys broadcast", "all rows sorted"])
def duplicate_path(request, monkeypatch):
    """Both ways of flagging duplicates: few repeated keys (their rows sorted) and many."""
    if request.param == "all rows sorted":
        monkeypatch.setattr(tsv, "_MAX_BROADCAST_KEYS", 0)
    return request.param


def test_bad_input_is_quarantined(spark, tmp_path, duplicate_path):
    path, expected, rows = _bad_file(tmp_path)
    result = _read(spark, path, "ratings", "quarantine")
    quarantined = result.quarantine.collect()
    assert result.quarantine.schema == QUARANTINE
    got = sorted((r.lineNumber, r.column, r.reason.split(":")[0]) for r in quarantined)
    assert got == sorted(expected)
    assert all(r.sourceFile.endswith("/ratings-00000.tsv") for r in quarantined)
    raw = {r.lineNumber: r.rawLine for r in quarantined}
    assert all(raw[line] == "\t".join(rows[line - 2]) for line, _, _ in expected)
    assert result.df.count() == 2 == result.counts["rows_kept"]
    assert result.counts["rows_quarantined"] == len(expected)
    by_reason = Counter(reason for _, _, reason in expected)
    assert all(result.counts[f"quarantined_{k}"] == n for k, n in by_reason.items())
    result.release()


def test_exact_duplicates_dropped_and_counted(spark, tmp_path, duplicate_path):
    dup = _rating(noteId=7, raterParticipantId="C", helpfulnessLevel="")
    path = _write(tmp_path / "ratings-00000.tsv", RATINGS_HEADER,
                  _good_ratings() + [dup, "", dup, dup])
    result = _read(spark, path, "ratings")  # fail mode: duplicates are not errors
    assert result.counts["exact_duplicates_dropped"] == 2
    assert result.counts["blank_lines_skipped"] == 1
    assert result.counts["rows_read"] == 6 and result.counts["rows_kept"] == 3
    # The kept rows, typed exactly as an explicit frame in the canonical schema.
    values = [dict(zip(RATINGS_HEADER, r)) for r in _good_ratings() + [dup]]
    fields = INPUT_SCHEMAS["ratings"].fields
    expected = spark.createDataFrame(
        [tuple(_typed(v[f.name], f) for f in fields) for v in values], INPUT_SCHEMAS["ratings"]
    )
    assert_df_equality(result.df, expected, ignore_row_order=True)
    result.release()


def test_directory_of_shards(spark, tmp_path):
    shards = tmp_path / "ratings"
    shards.mkdir()
    _write(shards / "ratings-00000.tsv", RATINGS_HEADER,
           [_rating(noteId=1), _rating(noteId=2), _rating(noteId="x")])
    _write(shards / "ratings-00001.tsv", RATINGS_HEADER,
           [_rating(noteId="y"), _rating(noteId=3), _rating(noteId=4)])
    (shards / "_SUCCESS").write_text("")
    (shards / "README.md").write_text("not a shard")
    result = _read(spark, shards, "ratings", "quarantine")
    assert sorted(r.noteId for r in result.df.collect()) == [1, 2, 3, 4]
    assert result.counts["files"] == 2
    quarantined = result.quarantine.collect()
    where = sorted((r.sourceFile.rsplit("/", 1)[-1], r.lineNumber) for r in quarantined)
    assert where == [("ratings-00000.tsv", 4), ("ratings-00001.tsv", 2)]
    result.release()


def test_other_kinds_validate_enums_numbers_and_keys(spark, tmp_path):
    nsh = list(layouts.layout_for("noteStatusHistory", 24).columns)
    good = ["1", "A", "10"] + [""] * 21
    bad_status = good.copy()
    bad_status[0], bad_status[6] = "2", "HELPFULISH"
    bad_double = good.copy()
    bad_double[0], bad_double[5] = "3", "12x"
    conflict = good.copy()
    conflict[2] = "11"  # same noteId 1 as `good`, different createdAtMillis
    path = _write(tmp_path / "noteStatusHistory-00000.tsv", nsh,
                  [good, bad_status, bad_double, conflict])
    result = _read(spark, path, "noteStatusHistory", "quarantine")
    quarantined = result.quarantine.collect()
    got = sorted((r.lineNumber, r.column, r.reason.split(":")[0]) for r in quarantined)
    assert got == [(2, "noteId", CONFLICTING_DUPLICATE), (3, "currentStatus", UNKNOWN_ENUM),
                   (4, "timestampMillisOfCurrentStatus", NOT_A_NUMBER),
                   (5, "noteId", CONFLICTING_DUPLICATE)]
    result.release()


@pytest.mark.parametrize(
    "kind,width,checks",
    [
        ("ratings", 34, {"ratingSourceBucketed": "DEFAULT"}),
        ("ratings", 31, {"ratedOnTweetId": -1, "ratingSourceBucketed": None}),
        ("notes", 23, {"isMediaNote": 1, "isCollaborativeNote": 0}),
        ("noteStatusHistory", 23, {"abovePcrhThresholdTime": None, "createdAtMillis": 9}),
        ("userEnrollment", 4, {"timestampOfLastEarnOut": 1.0, "numberOfTimesEarnedOut": 0}),
    ],
)
def test_older_layouts_get_defaults(spark, tmp_path, kind, width, checks):
    layout = layouts.layout_for(kind, width)
    sample = {"noteId": "5", "raterParticipantId": "R", "noteAuthorParticipantId": "A",
              "participantId": "P", "createdAtMillis": "9", "enrollmentState": "earnedIn",
              "helpfulnessLevel": "HELPFUL", "ratingSourceBucketed": "DEFAULT", "isMediaNote": "1",
              "currentStatus": "NEEDS_MORE_RATINGS", "classification": "NOT_MISLEADING"}
    types = {f.name: f.dataType.typeName() for f in INPUT_SCHEMAS[kind].fields}
    # Anything not given: 0 in numeric columns, empty (null) in text ones.
    row = [sample.get(c, "" if types.get(c, "string") == "string" else "0") for c in layout.columns]
    result = _read(spark, _write(tmp_path / f"{kind}.tsv", list(layout.columns), [row]), kind)
    assert result.df.schema == INPUT_SCHEMAS[kind]
    got = result.df.first().asDict()
    assert {k: got[k] for k in checks} == checks
    result.release()


def test_header_names_are_compared_but_position_wins(spark, tmp_path, caplog):
    header = RATINGS_HEADER.copy()
    header[1] = "someoneId"  # unexpected name: warn, but still read by position
    path = _write(tmp_path / "ratings-00000.tsv", header, [_rating(raterParticipantId="Z")])
    with caplog.at_level(logging.WARNING, logger="cnscore.io"):
        result = _read(spark, path, "ratings")
    assert any("someoneId" in r.getMessage() for r in caplog.records)
    assert result.df.first().raterParticipantId == "Z"
    result.release()


def test_unreadable_files_are_rejected_in_both_modes(spark, tmp_path):
    path = _write(tmp_path / "ratings-00000.tsv", RATINGS_HEADER[:30], [_rating()[:30]])
    with pytest.raises(InputValidationError, match="ratings-00000.tsv line 1: header has 30"):
        _read(spark, path, "ratings", "quarantine")
    (tmp_path / "empty.tsv").write_text("")
    with pytest.raises(InputValidationError, match="empty.tsv: empty file"):
        _read(spark, tmp_path / "empty.tsv", "notes", "quarantine")
    with pytest.raises(FileNotFoundError):
        _read(spark, tmp_path / "missing", "notes")
    (tmp_path / "no-shards").mkdir()
    with pytest.raises(FileNotFoundError, match="no \\*.tsv files"):
        _read(spark, tmp_path / "no-shards", "notes")


def _typed(value: str, field):
    name = field.dataType.typeName()
    if value == "":
        return None
    return value if name == "string" else float(value) if name == "double" else int(value)
