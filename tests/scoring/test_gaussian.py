"""The Gaussian scorer (cnscore.scoring.gaussian, gaussian_kernel; docs/reference.md §5.5).

The kernel is checked against `loop_scores` below, a deliberately naive re-statement of the
reference's formulas (one rating and one point at a time), then the Spark wrapper against
the kernel, plus planted cases and the special rules. Parity with the reference itself was
measured once with the reference's own functions (see the module's report), not here.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cnscore.config import ConfigError
from cnscore.scoring.gaussian import (
    CRH_SCORE,
    CRNH_SCORE,
    NOTE_FACTOR,
    NOTE_INTERCEPT,
    NUM_RATINGS,
    OUTPUT_COLUMNS,
    GaussianConfig,
    GaussianPass,
    gaussian_scores,
)
from cnscore.scoring.gaussian_kernel import QUANTILE_RANGE, SMOOTHED_RANGE, note_scores

LEVELS = {1.0: "HELPFUL", 0.5: "SOMEWHAT_HELPFUL", 0.0: "NOT_HELPFUL"}
CFG = GaussianConfig()


# --- an independent, loop-by-loop statement of the reference's formulas ---------------------

def loop_pass(ratings: list[tuple[float, float]], p: GaussianPass, cfg: GaussianConfig):
    """(score, m) of one note from [(helpfulNum, rater factor), ...]."""
    n = len(ratings)
    label = [1 - h if p.flip else h for h, _ in ratings]  # what counts as "helpful" in this pass
    value = [(1 - (p.somewhat_value if h == 0.5 else h)) if p.flip else (p.somewhat_value if h == 0.5 else h)
             for h, _ in ratings]
    factors = [f for _, f in ratings]
    m = sum((lab - 0.5) * 2 * f for lab, f in zip(label, factors)) / n
    down = [lab == 0 for lab in label]
    down_f = [f for f, d in zip(factors, down) if d]
    share = 0.0
    if down_f:
        centre = sum(down_f) / len(down_f)
        for f in down_f:
            share += 1 / (1 + math.exp(-cfg.spread_steepness * (abs(f - centre) - cfg.spread_threshold)))
        share /= n
    spread = min(1 + p.spread_k * share, p.spread_cap)
    few = (sum(f < 0 for f in factors) < cfg.min_raters_per_sign
           or sum(f > 0 for f in factors) < cfg.min_raters_per_sign)
    prior_weight = p.prior_weight * math.log(max(n, p.prior_weight_log_base)) / math.log(p.prior_weight_log_base)

    def density(f, x):
        return math.exp(-0.5 * ((f - x) / p.bandwidth) ** 2) / (p.bandwidth * math.sqrt(2 * math.pi))

    logs, insufficient = [], False
    for x in p.points:
        base = weights = values = 0.0
        for f, v, d in zip(factors, value, down):
            w = density(f, x)
            if p.normalize:
                w /= sum(density(f, y) for y in p.points)
            base += w
            if d:
                w *= p.neg_weight * spread
            weights += w
            values += w * v
        insufficient |= base < p.min_total_weight
        prior = 0.1 if few else max(min(m * x / 2 + p.prior_value, p.prior_value), p.prior_floor)
        point = (values + prior_weight * prior) / (weights + prior_weight)
        logs.append(math.log(min(max(point, p.clip_lower), p.clip_upper)))
    return (0.0 if insufficient else math.exp(sum(logs) / len(logs))), m


def loop_scores(ratings, author=None, cfg=CFG):
    """(crh, crnh, intercept, m); author: the factor of an implicit HELPFUL author rating."""
    crh, m = loop_pass(ratings + ([(1.0, author)] if author is not None else []), cfg.crh, cfg)
    crnh, _ = loop_pass(ratings, cfg.crnh, cfg)
    return crh, crnh, (-crnh if abs(crh) < abs(crnh) else crh), m


def run_kernel(notes: dict[int, list[tuple[float, float]]], authors: dict[int, float] | None = None, cfg=CFG):
    rows = [(nid, h, f, False) for nid, rs in notes.items() for h, f in rs]
    rows += [(nid, 1.0, f, True) for nid, f in (authors or {}).items()]
    a = pd.DataFrame(rows, columns=["n", "h", "f", "author"])
    return note_scores(a.n.to_numpy(np.int64), a.h.to_numpy(float), a.f.to_numpy(float),
                       a.author.to_numpy(bool), cfg).set_index("noteId")


def random_notes(seed: int, num_notes: int, max_ratings: int = 25) -> dict[int, list[tuple[float, float]]]:
    rng = np.random.default_rng(seed)
    out = {}
    for nid in range(1, num_notes + 1):
        k = int(rng.integers(2, max_ratings))
        lean = rng.normal(0, 0.8)
        factors = np.clip(rng.normal(0, 0.55, k), -1.1, 1.1)
        helpful = rng.random(k) < 1 / (1 + np.exp(-3 * lean * factors - rng.normal(0, 0.5)))
        somewhat = rng.random(k) < 0.2
        out[nid] = [(0.5 if s else float(h), float(f)) for h, s, f in zip(helpful, somewhat, factors)]
    return out


# --- kernel vs. loop ----------------------------------------------------------------------------

SMALL = {
    1: [(1.0, -0.4), (0.0, 0.5)],  # 2 ratings
    2: [(1.0, -0.6), (0.5, 0.05), (0.0, 0.7)],  # 3 ratings, one of each level
    3: [(1.0, -0.5), (1.0, -0.3), (1.0, -0.2), (0.0, 0.2), (0.5, 0.4), (0.0, 0.6), (0.0, 0.9)],
}


@pytest.mark.parametrize("cfg", [CFG, replace(CFG, crh=replace(CFG.crh, min_total_weight=0.0),
                                               crnh=replace(CFG.crnh, min_total_weight=0.0))])
def test_kernel_matches_loop_on_small_notes(cfg):
    got = run_kernel(SMALL, authors={2: 0.3, 3: -0.8}, cfg=cfg)
    for nid, ratings in SMALL.items():
        want = loop_scores(ratings, {2: 0.3, 3: -0.8}.get(nid), cfg)
        row = got.loc[nid]
        assert [row.crh, row.crnh, row.intercept, row.factor] == pytest.approx(want, rel=1e-10, abs=1e-12)
        assert row.numRatings == len(ratings)  # the author row is not counted


def test_kernel_matches_loop_on_random_notes():
    notes = random_notes(seed=3, num_notes=40)
    authors = {nid: 0.1 * (nid % 17) - 0.8 for nid in notes if nid % 3 == 0}
    got = run_kernel(notes, authors, cfg=replace(CFG, max_chunk_ratings=30))
    for nid, ratings in notes.items():
        assert list(got.loc[nid, ["crh", "crnh", "intercept", "factor"]]) == pytest.approx(
            loop_scores(ratings, authors.get(nid)), rel=1e-9, abs=1e-12)
    assert (got.crh > 0).sum() > 10 and (got.intercept < 0).sum() > 5  # both passes exercised


def test_chunking_and_row_order_do_not_change_results():
    notes = random_notes(seed=5, num_notes=60)
    whole = run_kernel(notes)
    chunked = run_kernel(dict(reversed(list(notes.items()))), cfg=replace(CFG, max_chunk_ratings=7))
    pd.testing.assert_frame_equal(whole, chunked.loc[whole.index], check_exact=True)


# --- planted cases and special rules ------------------------------------------------------------

def test_helpful_across_spectrum_beats_one_sided_helpful():
    spectrum = np.linspace(-0.9, 0.9, 30)
    broad = [(1.0, float(f)) for f in spectrum]
    one_sided = [(1.0 if f > 0 else 0.0, float(f)) for f in spectrum]
    got = run_kernel({1: broad, 2: one_sided})
    assert got.loc[1, "crh"] > 0.6 and got.loc[1, "intercept"] == got.loc[1, "crh"]
    assert got.loc[2, "crh"] < 0.3
    assert got.loc[1, "factor"] == pytest.approx(np.mean(spectrum), abs=1e-12)
    assert got.loc[2, "factor"] == pytest.approx(np.mean(np.abs(spectrum)))  # (2h - 1) f = |f|


def test_insufficient_weight_scores_zero():
    # Every rater at 0.5: the points at -0.92 (and beyond) get no weight in either pass.
    same_side = {1: [(1.0, 0.5), (1.0, 0.52), (0.0, 0.48), (1.0, 0.5), (0.5, 0.55)]}
    got = run_kernel(same_side)
    assert (got.loc[1, "crh"], got.loc[1, "crnh"], got.loc[1, "intercept"]) == (0.0, 0.0, 0.0)
    lax = replace(CFG, crh=replace(CFG.crh, min_total_weight=0.0), crnh=replace(CFG.crnh, min_total_weight=0.0))
    relaxed = run_kernel(same_side, cfg=lax)
    assert relaxed.loc[1, "crh"] > 0 and relaxed.loc[1, "crnh"] > 0


def _prior_only(cfg: GaussianConfig = CFG) -> GaussianConfig:
    """A prior weight so large that every point's value is its prior."""
    return replace(cfg, crh=replace(cfg.crh, prior_weight=1e12), crnh=replace(cfg.crnh, prior_weight=1e12))


def test_fewer_than_three_raters_per_sign_use_the_low_prior():
    balanced = [(0.5, f) for f in (-0.6, -0.3, -0.1, 0.2, 0.4, 0.7)]  # somewhat only: m = 0
    zero_counts_nowhere = [(0.5, f) for f in (-0.6, -0.3, -0.1, 0.0, 0.4, 0.7)]  # 3 neg, 2 pos
    got = run_kernel({1: balanced, 2: zero_counts_nowhere}, cfg=_prior_only())
    assert got.loc[1, "crh"] == pytest.approx(0.35, abs=1e-9)  # prior_value, m = 0
    assert got.loc[1, "crnh"] == pytest.approx(0.35, abs=1e-9)
    assert got.loc[2, "crh"] == pytest.approx(0.1, abs=1e-9)  # few_raters_prior
    assert got.loc[2, "crnh"] == pytest.approx(0.25, abs=1e-9)  # 0.1, clipped up to the CRNH floor


def test_prior_follows_note_factor_and_floor():
    # m = mean(|f|) > 0 for "helpful where f > 0": prior m p / 2 + 0.35 below 0.35 for p < 0,
    # floored at 0.2 (CRH).
    ratings = [(1.0 if f > 0 else 0.0, f) for f in (-0.9, -0.5, -0.1, 0.1, 0.5, 0.9)]
    m = 0.5
    got = run_kernel({1: ratings}, cfg=_prior_only())
    pts = np.array(QUANTILE_RANGE)
    want = np.exp(np.mean(np.log(np.clip(np.maximum(np.minimum(m * pts / 2 + 0.35, 0.35), 0.2), 0.05, 0.8))))
    assert got.loc[1, "crh"] == pytest.approx(want, rel=1e-9)


def test_clipping_bounds():
    spectrum = [float(f) for f in np.linspace(-0.9, 0.9, 40)]
    no_prior = replace(CFG, crh=replace(CFG.crh, prior_weight=0.0), crnh=replace(CFG.crnh, prior_weight=0.0))
    got = run_kernel({1: [(1.0, f) for f in spectrum], 2: [(0.0, f) for f in spectrum]}, cfg=no_prior)
    assert got.loc[1, "crh"] == pytest.approx(0.8) and got.loc[1, "crnh"] == pytest.approx(0.25)
    assert got.loc[1, "intercept"] == pytest.approx(0.8)
    assert got.loc[2, "crh"] == pytest.approx(0.05) and got.loc[2, "crnh"] == pytest.approx(0.65)
    assert got.loc[2, "intercept"] == pytest.approx(-0.65)  # CRNH larger in magnitude: negated


# --- Spark ---------------------------------------------------------------------------------------

def _spark_inputs(spark, notes: dict, authors: dict[int, str], factors: dict[str, float]):
    rows = [(nid, f"r{nid}_{i}", LEVELS[h]) for nid, rs in notes.items() for i, (h, _) in enumerate(rs)]
    rater_rows = [(f"r{nid}_{i}", f) for nid, rs in notes.items() for i, (_, f) in enumerate(rs)]
    rater_rows += list(factors.items())
    ratings = spark.createDataFrame(rows, "noteId bigint, raterParticipantId string, helpfulnessLevel string")
    raters = spark.createDataFrame(rater_rows, "raterParticipantId string, internalRaterFactor1 double")
    note_df = spark.createDataFrame(list(authors.items()), "noteId bigint, noteAuthorParticipantId string")
    return ratings, raters, note_df


def test_spark_scores_with_author_rows(spark):
    notes = random_notes(seed=11, num_notes=6, max_ratings=15)
    # 1: author with a factor -> extra HELPFUL row; 2: author already rated -> no extra row;
    # 3: author without a factor -> none; 4-6: no entry in notes; 99: nobody rated it.
    authors = {1: "a1", 2: "r2_0", 3: "ghost", 99: "a1"}
    ratings, raters, note_df = _spark_inputs(spark, notes, authors, {"a1": -0.45})
    # A rating by a rater without a factor is left out (note 6 keeps its other ratings).
    no_factor = spark.createDataFrame([(6, "nofactor", "NOT_HELPFUL")], ratings.schema)
    raters = raters.unionByName(spark.createDataFrame([("nofactor", None)], raters.schema))
    got = gaussian_scores(ratings.unionByName(no_factor), raters, replace(CFG, num_buckets=3), note_df)
    got = got.toPandas().set_index("noteId")
    assert list(got.reset_index().columns) == list(OUTPUT_COLUMNS)
    assert sorted(got.index) == sorted(notes)
    for nid, rs in notes.items():
        want = loop_scores(rs, -0.45 if nid == 1 else None)
        assert list(got.loc[nid, [CRH_SCORE, CRNH_SCORE, NOTE_INTERCEPT, NOTE_FACTOR]]) == pytest.approx(
            want, rel=1e-9, abs=1e-12)
        assert got.loc[nid, NUM_RATINGS] == len(rs)


def test_spark_results_do_not_depend_on_partitioning(spark):
    notes = random_notes(seed=21, num_notes=150)
    authors = {n: (f"r{n}_1" if n % 2 else "a") for n in notes}
    ratings, raters, note_df = _spark_inputs(spark, notes, authors, {"a": 0.2})
    results = []
    for buckets, parts in ((1, 1), (7, 11)):
        out = gaussian_scores(ratings.repartition(parts), raters, replace(CFG, num_buckets=buckets), note_df)
        results.append(out.toPandas().sort_values("noteId", ignore_index=True))
    pd.testing.assert_frame_equal(results[0], results[1], check_exact=True)
    assert len(results[0]) == len(notes)
    no_author = gaussian_scores(ratings, raters, replace(CFG, add_author_rating=False), note_df)
    crh = no_author.toPandas().set_index("noteId")[CRH_SCORE]
    kernel = run_kernel(notes)["crh"]
    assert np.allclose(crh.loc[kernel.index], kernel, rtol=1e-12, atol=0)


# --- configuration --------------------------------------------------------------------------------

def test_defaults_are_the_reference_constants():
    assert len(QUANTILE_RANGE) == 50 and QUANTILE_RANGE == tuple(-x for x in reversed(QUANTILE_RANGE))
    assert len(SMOOTHED_RANGE) == 26 and SMOOTHED_RANGE[:3] == (-0.92, -0.61, -0.55)
    crh, crnh = CFG.crh, CFG.crnh
    assert (crh.points, crh.bandwidth, crh.normalize, crh.min_total_weight) == (QUANTILE_RANGE, 0.1, True, 1e-9)
    assert (crnh.points, crnh.bandwidth, crnh.normalize, crnh.min_total_weight) == (SMOOTHED_RANGE, 0.2, False, 5e-4)

    def weights(p):
        return p.neg_weight, p.spread_k, p.spread_cap, p.prior_floor, p.prior_weight, p.prior_weight_log_base

    assert weights(crh) == (1.75, 3, 2, 0.2, 0.4, 9) and weights(crnh) == (1.25, 4, 4, 0.3, 5.0, 9)
    assert (crh.clip_lower, crh.clip_upper, crnh.clip_lower, crnh.clip_upper) == (0.05, 0.8, 0.25, 0.65)
    assert (crh.flip, crnh.flip, crh.somewhat_value, crnh.somewhat_value) == (False, True, 0.7, 0.7)
    assert (crh.prior_value, crnh.prior_value) == (0.35, 0.35)
    assert crh.prior_from_factor and crnh.prior_from_factor
    assert (CFG.spread_threshold, CFG.min_raters_per_sign, CFG.few_raters_prior, CFG.add_author_rating) == (
        0.14, 3, 0.1, True)


@pytest.mark.parametrize("bad", [
    dict(crh=GaussianPass(bandwidth=0.0)),
    dict(crh=GaussianPass(points=())),
    dict(crnh=replace(GaussianConfig().crnh, clip_lower=0.0)),
    dict(crnh=replace(GaussianConfig().crnh, clip_lower=0.7)),  # above clip_upper 0.65
    dict(crh=GaussianPass(somewhat_value=1.5)),
    dict(crh=GaussianPass(spread_cap=0.5)),
    dict(crh=GaussianPass(prior_weight_log_base=1.0)),
    dict(crh=GaussianPass(min_total_weight=float("nan"))),
    dict(spread_steepness=0.0),
    dict(min_raters_per_sign=-1),
    dict(few_raters_prior=2.0),
    dict(num_buckets=0),
    dict(max_chunk_ratings=0),
])
def test_bad_config_raises(bad):
    with pytest.raises(ConfigError):
        GaussianConfig(**bad)
