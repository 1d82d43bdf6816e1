"""Read the reference's input TSVs into the canonical schemas, rejecting bad input loudly.

- `path` is a file or a directory of `*.tsv` shards (listed through the Hadoop FileSystem API,
  so cluster storage works). Each file is read on its own: line numbers come from
  `zipWithIndex` (header = line 1) and the layout from the header's field count
  (`cnscore.io.layouts`). Lines split on tab, no quoting (X's exports never quote).
- One SQL projection classifies every line by its first problem (wrong field count, required
  value empty, not a number, out of range, unknown enum value); lines matching the layout's
  clean-line pattern (`cnscore.io.clean_lines`) skip the per-field checks. Only "" means
  null: pandas' "NA"/"null" tokens are not honoured, they would silently null an id.
- Rows sharing a key (`layouts.KEYS`): exact duplicates (all canonical columns) are dropped and
  counted; if distinct rows remain, all of them are bad ("conflicting_duplicate"). A hash
  aggregate over the keys finds repeated keys first; only their rows are sorted.
- Bad rows fail the read (`InputValidationError`) or go to a quarantine frame. The classified
  frame is persisted (counts in one aggregation): `ReadResult.release()`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import reduce

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cnscore.io.clean_lines import clean_line_pattern
from cnscore.io.layouts import KEYS, Layout, known_widths, layout_for
from cnscore.schemas import ENUMS, INPUT_SCHEMAS, QUARANTINE

log = logging.getLogger("cnscore.io")

# Reason kinds (the quarantine `reason` is "<kind>: <detail>").
WRONG_FIELD_COUNT = "wrong_field_count"
REQUIRED_EMPTY = "required_empty"
NOT_A_NUMBER = "not_a_number"
OUT_OF_RANGE = "out_of_range"
UNKNOWN_ENUM = "unknown_enum"
CONFLICTING_DUPLICATE = "conflicting_duplicate"
REASON_KINDS = (WRONG_FIELD_COUNT, REQUIRED_EMPTY, NOT_A_NUMBER, OUT_OF_RANGE, UNKNOWN_ENUM)
REASON_KINDS += (CONFLICTING_DUPLICATE,)
BAD_ROWS_MODES = ("fail", "quarantine")
_MAX_EXAMPLES = 10
# Up to this many repeated keys, only their rows are sorted (the keys are broadcast).
_MAX_BROADCAST_KEYS = 100_000
_INT_RE = r"^-?[0-9]+$"
# Plain decimal / scientific only: Spark's cast would also take NaN, Infinity and "1d".
_DBL_RE = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"
_INT_RANGE = {T.ByteType(): (-128, 127), T.IntegerType(): (-(2**31), 2**31 - 1)}


class InputValidationError(ValueError):
    """Bad input; the message names file, line, column and problem of the first bad rows.

    `examples` holds those lines of the message, `total` the number of bad rows.
    """

    def __init__(self, message: str, *, examples: list[str] | None = None, total: int = 0):
        super().__init__(message)
        self.examples, self.total = examples or [], total


@dataclass(frozen=True)
class ReadResult:
    """Outcome of `read_input`.

    Attributes:
        df: the good rows, in exactly `INPUT_SCHEMAS[kind]` (order, types, nullability).
        quarantine: bad rows in `schemas.QUARANTINE` (quarantine mode), else None.
        counts: files, rows_read (non-header lines), blank_lines_skipped,
            exact_duplicates_dropped, rows_quarantined, quarantined_<reason kind>, rows_kept.
        layouts: file path -> name of the layout it was read with.
    """

    df: DataFrame
    quarantine: DataFrame | None
    counts: Mapping[str, int]
    layouts: Mapping[str, str] = field(default_factory=dict)
    _cached: DataFrame | None = field(default=None, repr=False, compare=False)

    def release(self) -> None:
        """Unpersist the parsed frame behind `df` and `quarantine` (they stay usable, slower)."""
        if self._cached is not None:
            self._cached.unpersist()


def list_input_files(spark: SparkSession, path: str) -> list[str]:
    """`path` itself if it is a file, else its `*.tsv` files (sorted). Raises if none."""
    jvm = spark._jvm
    jpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = jpath.getFileSystem(spark._jsc.hadoopConfiguration())
    if not fs.exists(jpath):
        raise FileNotFoundError(f"input not found: {path}")
    if not fs.getFileStatus(jpath).isDirectory():
        return [fs.makeQualified(jpath).toString()]
    paths = [st.getPath().toString() for st in fs.listStatus(jpath) if st.isFile()]
    # Skip Hadoop's hidden files ("_SUCCESS", ".crc", ...) and anything not a TSV.
    files = sorted(p for p in paths if p.endswith(".tsv") and _basename(p)[0] not in "._")
    if not files:
        raise FileNotFoundError(f"no *.tsv files in directory {path}")
    return files


def _first_line(spark: SparkSession, file: str) -> str | None:
    # Read just the header through Hadoop (decompressing if the codec says so) instead of a
    # Spark job: filtering line 1 out of a zipWithIndex'd frame would scan the whole file.
    jvm, conf = spark._jvm, spark._jsc.hadoopConfiguration()
    jpath = jvm.org.apache.hadoop.fs.Path(file)
    stream = jpath.getFileSystem(conf).open(jpath)
    codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(conf).getCodec(jpath)
    if codec is not None:
        stream = codec.createInputStream(stream)
    reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
    try:
        line = reader.readLine()  # handles \n, \r\n and \r like Spark's text reader
    finally:
        reader.close()
    return None if line is None else line.lstrip("\ufeff")


def _basename(file: str) -> str:
    return file.rstrip("/").rsplit("/", 1)[-1]


# The parse is generated as SQL text: one expression string per column costs one py4j call,
# where the equivalent Column-API tree costs dozens (seconds per read on a 35-column layout).
def _lit(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _problem(kind: str, column: str | None, detail_sql: str) -> str:
    col = _lit(column) if column else "CAST(NULL AS STRING)"
    return f"named_struct('column', {col}, 'kind', {_lit(kind)}, 'detail', {detail_sql})"


def _parse_column(
    name: str, dtype: T.DataType, required: bool, raw: str, enum: tuple[str, ...] | None
) -> tuple[str, str]:
    """SQL for (typed value, first problem or NULL) of one canonical column from its raw field."""
    given = f"({raw} != '')"  # NULL (field missing or a null token) counts as not given
    shown = f"concat('\\'', substring({raw}, 1, 60), '\\'')"  # the value, quoted
    empty = _problem(REQUIRED_EMPTY, name, "'required value is empty'")
    checks = [(f"NOT coalesce({given}, false)", empty)] if required else []
    if isinstance(dtype, T.StringType):
        value = f"nullif({raw}, '')"
        if enum:
            allowed = ", ".join(_lit(v) for v in enum)
            detail = f"concat({shown}, {_lit(' is not one of ' + ', '.join(enum))})"
            unknown = _problem(UNKNOWN_ENUM, name, detail)
            checks.append((f"{given} AND {raw} NOT IN ({allowed})", unknown))
    else:
        value = f"try_cast(nullif({raw}, '') AS {dtype.simpleString()})"
        pattern = _INT_RE if isinstance(dtype, T.IntegralType) else _DBL_RE
        detail = f"concat({shown}, ' is not a number')"
        not_number = _problem(NOT_A_NUMBER, name, detail)
        checks.append((f"{given} AND NOT {raw} RLIKE {_lit(pattern)}", not_number))
        if pattern is _INT_RE:  # well-formed but too big: 20 digits, or 300 in a tinyint
            as_long = f"try_cast({raw} AS BIGINT)"
            fits = f"{as_long} IS NOT NULL"
            if dtype in _INT_RANGE:
                fits += f" AND {as_long} BETWEEN {_INT_RANGE[dtype][0]} AND {_INT_RANGE[dtype][1]}"
            detail = f"concat({shown}, ' does not fit {dtype.simpleString()}')"
            checks.append((f"{given} AND NOT ({fits})", _problem(OUT_OF_RANGE, name, detail)))
    if not checks:
        return value, "NULL"
    return value, "CASE " + " ".join(f"WHEN {c} THEN {p}" for c, p in checks) + " END"


def _parse_file(spark: SparkSession, file: str, kind: str, layout: Layout) -> DataFrame:
    """One file -> `_file`, `_line`, `_raw`, `_blank`, `_problem` and the canonical columns."""
    enums = ENUMS.get(kind, {})
    lines = (
        spark.read.text(file)
        .zipWithIndex("_idx")
        .selectExpr(f"{_lit(file)} AS _file", "_idx + 1 AS _line", "value AS _raw")
        .where("_line > 1")
        .selectExpr("*", "split(_raw, '\\t', -1) AS _fields")
    )
    values, problems = [], []
    for f in INPUT_SCHEMAS[kind].fields:
        idx = layout.source_index(f.name)
        if idx is None:
            # CASE without ELSE keeps the column nullable, as in the canonical schema (a bare
            # literal would not be, and DataFrame.to() never widens nullability).
            default = layout.defaults[f.name]
            lit = "NULL" if default is None else _lit(str(default))
            typed = f"CAST({lit} AS {f.dataType.simpleString()})"
            values.append(f"CASE WHEN _line > 0 THEN {typed} END AS `{f.name}`")
            continue
        raw = f"get(_fields, {idx})"
        tokens = layout.null_tokens.get(f.name)
        if tokens:
            raw = f"(CASE WHEN {raw} NOT IN ({', '.join(map(_lit, tokens))}) THEN {raw} END)"
        value, problem = _parse_column(f.name, f.dataType, not f.nullable, raw, enums.get(f.name))
        values.append(f"{value} AS `{f.name}`")
        problems.append(problem)
    detail = f"concat('expected {layout.width} fields, found ', CAST(size(_fields) AS STRING))"
    # Only a line's first problem is reported: after a missing tab every later column is off.
    # Lines matching the clean-line pattern have no problem: their fields are not checked one by one.
    problem = (
        f"CASE WHEN _raw RLIKE {_lit(clean_line_pattern(kind, layout))} THEN NULL "
        f"WHEN _raw = '' THEN NULL WHEN size(_fields) != {layout.width} "
        f"THEN {_problem(WRONG_FIELD_COUNT, None, detail)} ELSE coalesce({', '.join(problems)}) END"
    )
    meta = ["_file", "_line", "_raw", "_raw = '' AS _blank", f"{problem} AS _problem"]
    return lines.selectExpr(*meta, *values)


def _flag_duplicates(parsed: DataFrame, kind: str) -> DataFrame:
    """Add `_exact_dup`; distinct good rows sharing a key become conflicting duplicates."""
    keys = list(KEYS[kind])
    ok = "(_problem IS NULL AND NOT _blank)"
    # Most inputs repeat no key. A hash aggregate over the key columns (a shuffle of the keys
    # only) tells whether any does; only then are rows sorted whole, and only if few keys
    # repeat just theirs. Rows with a null key are bad already and nobody's duplicate.
    repeated = parsed.where(ok).groupBy(*keys).count().where("count > 1").select(*keys)
    num_repeated = repeated.count()
    if num_repeated == 0:
        return _unique_keys(parsed)
    if num_repeated > _MAX_BROADCAST_KEYS:
        return _flag_repeated_keys(parsed, kind)
    repeated = F.broadcast(repeated)
    single = _unique_keys(parsed.join(repeated, keys, "left_anti").select(*parsed.columns))
    shared = parsed.join(repeated, keys, "left_semi").select(*parsed.columns)
    return single.unionByName(_flag_repeated_keys(shared, kind))


def _unique_keys(parsed: DataFrame) -> DataFrame:
    """`_flag_duplicates` on rows whose key is unique: none is a duplicate."""
    return parsed.selectExpr(
        *[c for c in parsed.columns if c != "_raw"],
        "false AS _exact_dup",
        # Raw text is only needed for quarantined rows; dropping it elsewhere shrinks the cache.
        "CASE WHEN _problem IS NOT NULL THEN _raw END AS _raw",
    )


def _flag_repeated_keys(parsed: DataFrame, kind: str) -> DataFrame:
    """`_flag_duplicates` on rows whose key repeats: sort them, compare neighbours."""
    keys = ", ".join(f"`{k}`" for k in KEYS[kind])
    row = "struct(" + ", ".join(f"`{f.name}`" for f in INPUT_SCHEMAS[kind].fields) + ")"
    ok = "(_problem IS NULL AND NOT _blank)"
    # Sorting by the whole row puts identical rows next to each other, so "same as the previous
    # row" finds exact duplicates and keeps the first occurrence (lowest file, line). One
    # shuffle: the second window reuses the first one's partitioning and order.
    ordered = f"(PARTITION BY {keys} ORDER BY {ok} DESC, {row}, _file, _line)"
    prev_same = f"(lag({ok}) OVER {ordered}) AND {ok} AND ((lag({row}) OVER {ordered}) <=> {row})"
    flagged = parsed.selectExpr("*", f"coalesce({prev_same}, false) AS _exact_dup")
    firsts = f"count_if({ok} AND NOT _exact_dup) OVER (PARTITION BY {keys})"
    key_text = ", ".join(f"concat('{k}=', CAST(`{k}` AS STRING))" for k in KEYS[kind])
    detail = f"concat(CAST({firsts} AS STRING), ' rows differ for ', concat_ws(', ', {key_text}))"
    conflict = _problem(CONFLICTING_DUPLICATE, "+".join(KEYS[kind]), detail)
    is_conflict = f"{ok} AND NOT _exact_dup AND {firsts} > 1"
    return flagged.selectExpr(
        *[c for c in flagged.columns if c not in ("_problem", "_raw", "_exact_dup")],
        "_exact_dup",
        f"CASE WHEN {is_conflict} THEN {conflict} ELSE _problem END AS _problem",
        f"CASE WHEN _problem IS NOT NULL OR {is_conflict} THEN _raw END AS _raw",  # as in _unique_keys
    )


def _counts(classified: DataFrame, n_files: int) -> dict[str, int]:
    reason = F.col("_problem.kind")
    row = classified.agg(
        F.count(F.lit(1)).alias("rows_read"),
        F.count_if(F.col("_blank")).alias("blank_lines_skipped"),
        F.count_if(F.col("_exact_dup")).alias("exact_duplicates_dropped"),
        F.count_if(reason.isNotNull()).alias("rows_quarantined"),
        *[F.count_if(reason == k).alias(f"quarantined_{k}") for k in REASON_KINDS],
    ).first()
    counts = {"files": n_files, **{k: int(v or 0) for k, v in row.asDict().items()}}
    dropped = ("blank_lines_skipped", "exact_duplicates_dropped", "rows_quarantined")
    counts["rows_kept"] = counts["rows_read"] - sum(counts[k] for k in dropped)
    return counts


def _error(kind: str, path: str, bad: DataFrame, total: int) -> InputValidationError:
    rows = bad.orderBy("_file", "_line").select("_file", "_line", "_problem").limit(_MAX_EXAMPLES)
    examples = []
    for r in rows.collect():
        prob = r["_problem"]
        where = f"{_basename(r['_file'])} line {r['_line']}"
        where += f", column {prob['column']}" if prob["column"] else ""
        examples.append(f"{where}: {prob['detail']} ({prob['kind']})")
    more = f"\n  ... and {total - len(examples)} more" if total > len(examples) else ""
    msg = f"{total} bad {kind} row(s) in {path}:\n  " + "\n  ".join(examples) + more
    return InputValidationError(msg, examples=examples, total=total)


def _layout_of(spark: SparkSession, file: str, kind: str) -> Layout:
    header = _first_line(spark, file)
    if header is None:
        raise InputValidationError(f"{_basename(file)}: empty file, expected a header row")
    names = header.split("\t")
    layout = layout_for(kind, len(names))
    if layout is None:
        raise InputValidationError(
            f"{_basename(file)} line 1: header has {len(names)} fields; "
            f"known {kind} layouts have {known_widths(kind)}"
        )
    mismatches = layout.header_mismatches(names)
    if mismatches:  # the reference names columns by position, and so do we; but say so
        log.warning(
            "%s: header differs from %s layout %r, columns taken by position: %s",
            file, kind, layout.name, "; ".join(mismatches[:5]),
        )
    log.info("%s: %s layout %r (%d fields)", file, kind, layout.name, layout.width)
    return layout


def read_input(spark: SparkSession, path: str, kind: str, *, bad_rows: str = "fail") -> ReadResult:
    """Read one input (a file or a directory of `*.tsv` shards) into `INPUT_SCHEMAS[kind]`.

    Args:
        spark: the session.
        path: a TSV file with a header row, or a directory of them (any Hadoop URI).
        kind: "notes", "ratings", "noteStatusHistory" or "userEnrollment".
        bad_rows: "fail" raises on any bad row; "quarantine" moves bad rows to
            `ReadResult.quarantine` and keeps the rest.

    Raises:
        InputValidationError: bad rows in "fail" mode; or, in either mode, an empty file or
            a header whose field count matches no known layout (nothing can be placed).
        FileNotFoundError: `path` is missing, or is a directory without `*.tsv` files.
    """
    if kind not in INPUT_SCHEMAS:
        raise ValueError(f"unknown input kind {kind!r}; expected one of {sorted(INPUT_SCHEMAS)}")
    if bad_rows not in BAD_ROWS_MODES:
        raise ValueError(f"bad_rows must be one of {BAD_ROWS_MODES}, not {bad_rows!r}")
    files = list_input_files(spark, path)
    layouts = {file: _layout_of(spark, file, kind) for file in files}
    parts = [_parse_file(spark, file, kind, layout) for file, layout in layouts.items()]
    parsed = reduce(DataFrame.union, parts)
    classified = _flag_duplicates(parsed, kind).persist(StorageLevel.MEMORY_AND_DISK)
    counts = _counts(classified, len(files))
    log.info("read %s from %s: %s", kind, path, counts)
    for key in ("blank_lines_skipped", "exact_duplicates_dropped", "rows_quarantined"):
        if counts[key]:
            log.warning("%s %s: %s = %d", kind, path, key, counts[key])

    bad = classified.where("_problem IS NOT NULL")
    if counts["rows_quarantined"] and bad_rows == "fail":
        error = _error(kind, path, bad, counts["rows_quarantined"])
        classified.unpersist()
        raise error

    kept = classified.where("_problem IS NULL AND NOT _blank AND NOT _exact_dup")
    # coalesce with a literal makes required columns non-nullable as in the canonical schema;
    # the fallback never fires because an empty required value makes the row bad.
    schema = INPUT_SCHEMAS[kind]
    zero = {f.name: "''" if isinstance(f.dataType, T.StringType)
            else f"CAST(0 AS {f.dataType.simpleString()})" for f in schema.fields}
    df = kept.selectExpr(
        *[f"`{f.name}`" if f.nullable else f"coalesce(`{f.name}`, {zero[f.name]}) AS `{f.name}`"
          for f in schema.fields]
    ).to(schema)  # `to` fails loudly if order, types or nullability drifted
    quarantine = None
    if bad_rows == "quarantine":
        quarantine = bad.selectExpr(
            "_file AS sourceFile",
            "CASE WHEN _line > 0 THEN _line END AS lineNumber",  # CASE: nullable, as QUARANTINE
            "_problem.column AS column",
            "concat_ws(': ', _problem.kind, _problem.detail) AS reason",
            "_raw AS rawLine",
        ).to(QUARANTINE)
    used = {f: lay.name for f, lay in layouts.items()}
    return ReadResult(df=df, quarantine=quarantine, counts=counts, layouts=used, _cached=classified)
