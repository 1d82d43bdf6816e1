"""The short text report of the QS-MF harness: the headline numbers of every table and the
issue's goals (met or NOT met), computed from the tables alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

AUC_GOAL = 0.94


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def ground_truth_lines(table: pd.DataFrame) -> list[str]:
    aucs = [c for c in table.columns if c.startswith("auc")]  # gamma; slopeAuc<m>: diagnostic
    lines = ["a. synthetic ground truth (means over seeds; min over seeds in brackets)"]
    for fraction, part in table.groupby("badFraction"):
        text = (f"  bad {fraction:.0%}: MSE baseline {part.baselineMse.mean():.4f}, "
                f"QS-MF {part.qsmfMse.mean():.4f} (reduction {part.mseReduction.mean():+.1%})")
        for col in aucs:
            if part[col].notna().any():
                text += (f"; AUC>={col[3:]} {part[col].mean():.3f} [{part[col].min():.3f}]"
                         f" (baseline slope {part['slopeA' + col[1:]].mean():.3f})")
        lines.append(text)
    bad = table[table.badFraction > 0]
    for col in aucs:
        by_fraction = bad.groupby("badFraction")[col]
        lines.append(f"  goal AUC >= {AUC_GOAL} at every bad fraction "
                     f"(raters >= {col[3:]} ratings): "
                     f"mean {_verdict(bool((by_fraction.mean() >= AUC_GOAL).all()))}, "
                     f"every seed {_verdict(bool((bad[col] >= AUC_GOAL).all()))}")
    lower = bad.qsmfMse < bad.baselineMse
    lines.append(f"  goal lower MSE than baseline at every bad fraction > 0: "
                 f"{_verdict(bool(lower.all()))} ({int(lower.sum())}/{len(bad)} fits)")
    return lines


def untargeted_lines(table: pd.DataFrame) -> list[str]:
    lines = ["b. untargeted corruption (means over datasets)"]
    for (mode, fraction), part in table.groupby(["mode", "attackerFraction"]):
        lines.append(
            f"  {mode:8s} attackers {fraction:.0%}: AUC {part.auc.mean():.3f} "
            f"(honest >= 20 ratings: {part.auc20.mean():.3f}); mean gamma attackers "
            f"{part.meanGammaAttackers.mean():.3f}, honest {part.meanGammaHonest.mean():.3f}; "
            f"note shift baseline {part.baselineShift.mean():.4f}, "
            f"QS-MF {part.qsmfShift.mean():.4f}")
    return lines


def suppression_lines(table: pd.DataFrame) -> list[str]:
    lines = ["c. coordinated suppression (means over datasets; min protection in brackets)"]
    for size, part in table.groupby("attackSize"):
        lines.append(
            f"  {size:4d} attackers: displacement baseline {part.baselineDisplacement.mean():.3f}, "
            f"QS-MF {part.qsmfDisplacement.mean():.3f}; protection {part.protection.mean():+.1%} "
            f"[{part.protection.min():+.1%}]; "
            f"attackers' gamma {part.meanGammaAttackers.mean():.2f}")
    ok = bool((table.protection > 0).all())
    lines.append(f"  goal protection > 0 at every attack size: {_verdict(ok)} "
                 f"({int((table.protection > 0).sum())}/{len(table)} attacks)")
    return lines


def efficiency_lines(table: pd.DataFrame) -> list[str]:
    lines = ["d. sample efficiency (z-scored MSE vs each model's full-data estimate; means)"]
    for (fraction, n), part in table.groupby(["badFraction", "n"]):
        saved = part.ratingsSaved.dropna()
        saved_text = f"{saved.mean():+.0%} over {len(saved)} seeds" if len(saved) else "n/a"
        lines.append(
            f"  bad {fraction:.0%}, n={n:3d}: baseline {part.baselineError.mean():.4f}, "
            f"QS-MF {part.qsmfError.mean():.4f} "
            f"(QS-MF error {part.qsmfError.mean() / part.baselineError.mean() - 1:+.1%}; "
            f"vs truth {part.baselineTruthError.mean():.4f} / "
            f"{part.qsmfTruthError.mean():.4f}); ratings saved {saved_text}")
    return lines


def buterin_lines(table: pd.DataFrame) -> list[str]:
    lines = ["e. Buterin essay (mean note intercept over seeds, helpfulNum scale; raw x6)"]
    for (share, model), part in table.groupby(["majorityShare", "model"]):
        cells = [f"{r.kind}/{r.noteSide} {r.meanIntercept:.4f} ({r.meanInterceptRaw:+.3f})"
                 for r in part.itertuples()]
        means = part.groupby("kind").meanIntercept.mean()
        gap = means.get("extreme", np.nan) - means.get("good", np.nan)
        lines.append(f"  camp A {share:.0%}, {model:8s}: " + "; ".join(cells)
                     + f"; extreme - good {gap:+.4f}")
    return lines


def diagnostics_lines(tables: dict[str, pd.DataFrame]) -> list[str]:
    slopes = tables["diagnostics_slopes"]
    active = slopes[slopes.numRatings >= 20]
    by_kind = active.groupby("kind").slope.median()
    rel = tables["diagnostics_reliability"]
    test = tables["diagnostics_dispersion"].iloc[0]
    return [
        "diagnostics (baseline slopes, raters >= 20 ratings, median by planted kind): "
        + ", ".join(f"{k} {v:.2f}" for k, v in by_kind.items()),
        "  split-half reliability: " + ", ".join(
            f"{r.activityBin} {r.reliability:.2f} (n={r.numRaters})" for r in rel.itertuples()),
        (f"  dispersion test: variance {test.observedVariance:.4f} vs permuted "
         f"{test.nullMeanVariance:.4f}, p = {test.pValue:.3g}"),
    ]


def report(tables: dict[str, pd.DataFrame]) -> str:
    """The report over whichever experiments' tables are present."""
    lines: list[str] = []
    sections = (("ground_truth", ground_truth_lines), ("untargeted", untargeted_lines),
                ("suppression", suppression_lines), ("efficiency", efficiency_lines),
                ("buterin", buterin_lines))
    for name, make in sections:
        if name in tables:
            lines += make(tables[name])
    if "diagnostics_slopes" in tables:
        lines += diagnostics_lines(tables)
    return "\n".join(lines)
