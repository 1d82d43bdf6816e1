"""One PNG per experiment of the QS-MF harness (matplotlib, Agg backend: no display needed).

Each `plot_<experiment>(tables, path)` takes the experiment's tables (as returned by
cnscore.qs.experiments.run_experiment) and writes one figure.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window (the harness runs headless)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullLocator

BASE, QS = "#7f7f7f", "#1f77b4"  # baseline grey, QS-MF blue, in every figure
AUC_GOAL = 0.94


def _mean_and_points(ax, table: pd.DataFrame, x: str, y: str, color: str, label: str,
                     marker: str = "o", style: str = "-") -> None:
    """The mean over seeds as a line, each seed as a faint point."""
    means = table.groupby(x)[y].mean()
    ax.plot(means.index, means.values, style, marker=marker, color=color, label=label)
    ax.scatter(table[x], table[y], color=color, alpha=0.25, s=12)


def _ticks(ax, values, percent: bool = False) -> None:
    """Ticks at the experiment's own x values (there are only a few)."""
    values = sorted({float(v) for v in values})
    ax.set_xticks(values, [f"{v:.0%}" if percent else f"{v:g}" for v in values])


def _save(fig, path: Path, title: str) -> None:
    fig.suptitle(title, fontsize=12)
    fig.tight_layout(rect=(0, 0.03, 1, 1))  # room for a footnote
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_ground_truth(tables: dict[str, pd.DataFrame], path: Path) -> None:
    table = tables["ground_truth"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13.5, 4.2))
    _mean_and_points(left, table, "badFraction", "baselineMse", BASE, "baseline MF")
    _mean_and_points(left, table, "badFraction", "qsmfMse", QS, "QS-MF")
    _ticks(left, table["badFraction"], percent=True)
    left.set(xlabel="fraction of bad raters", ylabel="z-scored MSE of note quality",
             title="note quality error (lower is better)")
    left.legend()
    bad = table[table["badFraction"] > 0]
    aucs = [c for c in table.columns if c.startswith("auc")]
    for col, marker, color in zip(aucs, "os^v", (QS, "#ff7f0e", "#2ca02c", "#9467bd")):
        _mean_and_points(right, bad, "badFraction", col, color,
                         f"gamma, raters >= {col[3:]} ratings", marker=marker)
        _mean_and_points(right, bad, "badFraction", "slopeA" + col[1:], color,
                         f"baseline slope (diagnostic), >= {col[3:]}", marker=marker, style=":")
    _ticks(right, bad["badFraction"], percent=True)
    right.axhline(AUC_GOAL, color="red", lw=1, ls=":", label=f"goal {AUC_GOAL}")
    right.set(xlabel="fraction of bad raters", ylabel="AUC (good vs bad raters)",
              title="bad-rater detection: QS-MF gamma (solid)")
    right.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # lines fill the axes
    _save(fig, path, "a. Synthetic ground truth (planted bad raters)")


def plot_untargeted(tables: dict[str, pd.DataFrame], path: Path) -> None:
    table = tables["untargeted"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for mode, marker in zip(sorted(table["mode"].unique()), "os"):
        part = table[table["mode"] == mode]
        _mean_and_points(axes[0], part, "attackerFraction", "auc", QS, f"{mode}: all honest",
                         marker)
        _mean_and_points(axes[0], part, "attackerFraction", "auc20", "#ff7f0e",
                         f"{mode}: honest >= 20 ratings", marker, "--")
        _mean_and_points(axes[1], part, "attackerFraction", "meanGammaAttackers", "#d62728",
                         f"{mode}: attackers", marker)
        _mean_and_points(axes[1], part, "attackerFraction", "meanGammaHonest", "#2ca02c",
                         f"{mode}: honest", marker, "--")
        _mean_and_points(axes[2], part, "attackerFraction", "baselineShift", BASE,
                         f"{mode}: baseline", marker)
        _mean_and_points(axes[2], part, "attackerFraction", "qsmfShift", QS, f"{mode}: QS-MF",
                         marker, "--")
    axes[0].axhline(AUC_GOAL, color="red", lw=1, ls=":")
    axes[0].set(xlabel="attackers / honest raters", ylabel="AUC of gamma", title="detection")
    axes[1].set(xlabel="attackers / honest raters", ylabel="mean gamma (QS-MF)", title="mean gamma")
    axes[2].set(xlabel="attackers / honest raters", ylabel="z-scored MSE vs clean fit",
                title="note intercepts moved by the attack")
    for ax in axes:
        ax.legend(fontsize=7)
        _ticks(ax, table["attackerFraction"], percent=True)
    _save(fig, path, "b. Untargeted corruption (random notes, random or inverted labels)")


def plot_suppression(tables: dict[str, pd.DataFrame], path: Path) -> None:
    table = tables["suppression"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    _mean_and_points(left, table, "attackSize", "baselineDisplacement", BASE, "baseline MF")
    _mean_and_points(left, table, "attackSize", "qsmfDisplacement", QS, "QS-MF")
    _ticks(left, table["attackSize"])
    _ticks(right, table["attackSize"])
    left.set(xlabel="raters in the attacking group", ylabel="fall of target intercepts (z units)",
             title="displacement of the attacked notes")
    left.legend()
    _mean_and_points(right, table, "attackSize", "protection", QS, "protection = 1 - QS/baseline")
    right.axhline(0, color="red", lw=1, ls=":")
    right.set(xlabel="raters in the attacking group", ylabel="protection",
              title="protection by QS-MF")
    right.legend()
    _save(fig, path, "c. Coordinated suppression of the other side's best notes")


def plot_efficiency(tables: dict[str, pd.DataFrame], path: Path) -> None:
    table = tables["efficiency"]
    fractions = sorted(table["badFraction"].unique())
    fig, axes = plt.subplots(1, len(fractions), figsize=(5.5 * len(fractions), 4.2), squeeze=False)
    for ax, fraction in zip(axes[0], fractions):
        part = table[table["badFraction"] == fraction]
        _mean_and_points(ax, part, "n", "baselineError", BASE, "baseline vs its full fit")
        _mean_and_points(ax, part, "n", "qsmfError", QS, "QS-MF vs its full fit")
        _mean_and_points(ax, part, "n", "baselineTruthError", BASE, "baseline vs truth", "s", "--")
        _mean_and_points(ax, part, "n", "qsmfTruthError", QS, "QS-MF vs truth", "s", "--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_locator(NullLocator())  # only the sampled n as x ticks
        _ticks(ax, part["n"])
        ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 3.0, 5.0)))  # few, readable labels
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
        ax.set(xlabel="first n ratings per note", ylabel="z-scored MSE (high-traffic notes)",
               title=f"bad raters: {fraction:.0%}")
        ax.legend(fontsize=7)
    _save(fig, path, "d. Sample efficiency")


def plot_buterin(tables: dict[str, pd.DataFrame], path: Path) -> None:
    table = tables["buterin"]
    shares = sorted(table["majorityShare"].unique())
    fig, axes = plt.subplots(1, len(shares), figsize=(6 * len(shares), 4.2), squeeze=False)
    for ax, share in zip(axes[0], shares):
        part = table[table["majorityShare"] == share]
        groups = part[["kind", "noteSide"]].drop_duplicates().sort_values(["kind", "noteSide"])
        x = np.arange(len(groups))
        for offset, (model, color) in zip((-0.2, 0.2), (("baseline", BASE), ("qsmf", QS))):
            rows = groups.merge(part[part["model"] == model], on=["kind", "noteSide"])
            ax.bar(x + offset, rows["meanIntercept"], 0.4, yerr=rows["sdIntercept"], color=color,
                   label="baseline MF" if model == "baseline" else "QS-MF", capsize=3)
        ax.set_xticks(x, [f"{k}\n({s} side)" for k, s in zip(groups["kind"], groups["noteSide"])])
        seeds = int(part["numSeeds"].max())
        ax.set(ylabel="mean note intercept (helpfulNum scale)",
               title=f"camp A share {share:.0%}, {seeds} seeds (bars: sd over seeds)")
        low = float((part["meanIntercept"] - part["sdIntercept"].fillna(0)).min())
        high = float((part["meanIntercept"] + part["sdIntercept"].fillna(0)).max())
        pad = 0.15 * (high - low) + 1e-3
        ax.set_ylim(low - pad, high + pad)  # the differences are small: zoom on them
        ax.legend(fontsize=8)
    fig.text(0.5, 0.005, "y axis zoomed; compare kinds within a model (the two models place "
             "the common level between mu and the note intercepts differently)",
             ha="center", fontsize=8, style="italic")
    _save(fig, path, "e. Buterin essay: good (+2/0) vs extreme (+4/-2) notes")


def plot_diagnostics(tables: dict[str, pd.DataFrame], path: Path) -> None:
    slopes = tables["diagnostics_slopes"]
    reliability = tables["diagnostics_reliability"]
    test = tables["diagnostics_dispersion"].iloc[0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    active = slopes[(slopes["numRatings"] >= 20) & slopes["slope"].notna()]
    low, high = np.percentile(active["slope"], [0.5, 99.5])
    bins = np.linspace(low, high, 40)
    left.hist(active.loc[active["kind"] == "good", "slope"], bins=bins, alpha=0.6, color=QS,
              label="good")
    left.hist(active.loc[active["kind"] != "good", "slope"], bins=bins, alpha=0.6, color="#d62728",
              label="bad (planted)")
    left.set(xlabel="baseline slope of z on i_n", ylabel="raters (>= 20 ratings)",
             title=f"rater slopes; dispersion test p = {test['pValue']:.3g}")
    left.legend()
    shown = reliability.fillna({"reliability": 0.0})
    right.bar(shown["activityBin"], shown["reliability"], color=QS)
    for i, row in shown.iterrows():
        right.text(i, max(row["reliability"], 0) + 0.02, f"n={row['numRaters']}", ha="center",
                   fontsize=8)
    right.set(xlabel="ratings per rater", ylabel="split-half reliability (Spearman-Brown)",
              ylim=(min(0.0, float(shown["reliability"].min())), 1.1),
              title="slope reliability by activity")
    _save(fig, path, "Rater diagnostics on planted data (baseline fit)")


PLOTS = {
    "ground_truth": plot_ground_truth,
    "untargeted": plot_untargeted,
    "suppression": plot_suppression,
    "efficiency": plot_efficiency,
    "buterin": plot_buterin,
    "diagnostics": plot_diagnostics,
}
