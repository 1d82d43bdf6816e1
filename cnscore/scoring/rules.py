"""Per-model status rules (shared docs/reference.md §4.6), as ordered Spark column updates.

Each rule reads the note's statistics and the status so far, may overwrite the status, and is
recorded in the active-rules list with a sentence giving the numbers it compared. Rules run
in the reference's order; later ones see earlier results. A null comparison never fires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.scoring.pseudo_bootstrap import INTERCEPT_LCB, INTERCEPT_UCB
from cnscore.scoring.settings import ScoringConfig
from cnscore.scoring.status import CRH, CRNH, FIRM_REJECT, NMR, NOT_MISLEADING, NYH, rule_label

STATUS, RULES, WHY = "ratingStatus", "activeRules", "explanation"
_FIRES = "_fires"  # the current rule's verdict, dropped after each rule
INTERCEPT, FACTOR = "internalNoteIntercept", "internalNoteFactor1"
EXTREME_UCB = "internalNoteIntercept_max"  # the extreme pseudo-raters' bound (pseudo_raters.py)


@dataclass(frozen=True)
class Rule:
    """name; when it fires (given the current status column); the status it sets; why."""

    name: str
    fires: Callable[[Column], Column]
    status: str
    why: Column


def _num(name: str, digits: int = 3) -> Column:
    return F.coalesce(F.format_number(F.col(name), digits), F.lit("null"))


def _pct(quantile: float) -> str:
    return f"{quantile * 100:g}% quantile"


def _misleading() -> Column:
    # Deleted notes have no classification and count as misleading.
    return F.coalesce(F.col("classification") != NOT_MISLEADING, F.lit(True))


def _enough(cfg: ScoringConfig) -> Column:
    return F.col("numRatings") >= cfg.min_ratings_for_status


def _crnh_bound(cfg: ScoringConfig) -> Column:
    return F.lit(cfg.crnh_intercept) - cfg.crnh_factor_multiplier * F.abs(F.col(FACTOR))


def first_round_rules(cfg: ScoringConfig, *, with_ucb: bool) -> list[Rule]:
    """Rules of every round: initial NMR, CRH, CRNH (diamond, UCB), NOT_MISLEADING CRNH."""
    rules = [
        Rule("InitialNMR", lambda s: F.lit(True), NMR, F.lit("starts as NEEDS_MORE_RATINGS")),
        Rule("GeneralCRH", lambda s: _enough(cfg) & (F.col(INTERCEPT) >= cfg.crh_threshold) & _misleading(), CRH,
             F.concat(F.lit("intercept "), _num(INTERCEPT), F.lit(f" >= {cfg.crh_threshold}"))),
        Rule("GeneralCRNH", lambda s: _enough(cfg) & (F.col(INTERCEPT) <= _crnh_bound(cfg)), CRNH,
             F.concat(F.lit("intercept "), _num(INTERCEPT), F.lit(f" <= {cfg.crnh_intercept} - "
                      f"{cfg.crnh_factor_multiplier}*|factor {''}"), _num(FACTOR), F.lit("|"))),
    ]
    if with_ucb:
        # Bootstrap mode reads the UCB of its runs instead of the extreme pseudo-raters' max.
        boot = cfg.pseudo_bootstrap
        ucb, what = ((INTERCEPT_UCB, f"bootstrap upper bound ({_pct(boot.ucb_quantile)} of {boot.runs} runs) ")
                     if cfg.uses_bootstrap else (EXTREME_UCB, "pseudo-rater upper bound "))
        rules.append(Rule(
            "UcbCRNH", lambda s: _enough(cfg) & (F.col(ucb) < cfg.ucb_crnh_threshold), CRNH,
            F.concat(F.lit(what), _num(ucb), F.lit(f" < {cfg.ucb_crnh_threshold}"))))
    return rules


def lcb_crh_rule(cfg: ScoringConfig) -> Rule:
    """LcbCRH (bootstrap mode): a CRH note whose bootstrap intercept LCB is below the threshold is NMR."""
    boot = cfg.pseudo_bootstrap
    return Rule("LcbCRH", lambda s: (s == CRH) & (F.col(INTERCEPT_LCB) < boot.crh_lcb_threshold), NMR,
                F.concat(F.lit(f"bootstrap lower bound ({_pct(boot.lcb_quantile)} of {boot.runs} runs) "),
                         _num(INTERCEPT_LCB), F.lit(f" < {boot.crh_lcb_threshold}")))


def ratio_crnh_rule(cfg: ScoringConfig) -> Rule:
    neg, pos = F.col("negFactorMeanHelpfulNum"), F.col("posFactorMeanHelpfulNum")
    return Rule(
        "RatioCRNH",
        lambda s: _enough(cfg) & (F.col("minSignCount") >= cfg.ratio_crnh_min_side_count)
        & (neg <= cfg.ratio_crnh_max_side_mean) & (pos <= cfg.ratio_crnh_max_side_mean)
        & ((neg + pos) / 2 <= cfg.ratio_crnh_max_mean),
        CRNH,
        F.concat(F.lit("mean helpfulness by factor side "), _num("negFactorMeanHelpfulNum"), F.lit(" / "),
                 _num("posFactorMeanHelpfulNum"), F.lit(f" <= {cfg.ratio_crnh_max_side_mean} each, "
                 f"average <= {cfg.ratio_crnh_max_mean}, smaller side "), F.col("minSignCount").cast("string"),
                 F.lit(f" >= {cfg.ratio_crnh_min_side_count} raters")))


def nm_crnh_rule(cfg: ScoringConfig) -> Rule:
    return Rule("NmCRNH", lambda s: ~_misleading() & (F.col(INTERCEPT) < cfg.nm_crnh_threshold), CRNH,
                F.concat(F.lit("NOT_MISLEADING note with intercept "), _num(INTERCEPT),
                         F.lit(f" < {cfg.nm_crnh_threshold}")))


def final_round_rules(cfg: ScoringConfig, *, with_lcb: bool = False) -> list[Rule]:
    """The guards that run only in final scoring, in the reference's order.

    with_lcb: add LcbCRH (bootstrap pseudo-raters) right after GeneralCRHInertia, so that a note
    kept CRH by inertia must also pass the lower bound.
    """
    reject = FIRM_REJECT if cfg.firm_reject_threshold is not None else NMR
    inertia = cfg.crh_threshold - cfg.crh_inertia_delta
    rules = [
        Rule("GeneralCRHInertia",
             lambda s: (s != CRH) & _enough(cfg) & (F.col(INTERCEPT) >= inertia)
             & (F.col("currentStatus") == CRH) & _misleading(), CRH,
             F.concat(F.lit("was CRH and intercept "), _num(INTERCEPT), F.lit(f" >= {inertia:.2f}"))),
        *([lcb_crh_rule(cfg)] if with_lcb else []),
        Rule("TagFilter", lambda s: (s != CRNH) & F.col("tagFilterFires"), reject, F.col("tagFilterDetail")),
        Rule("FilterIncorrect", lambda s: (s != CRNH) & F.col("incorrectFilterFires"), reject,
             F.col("incorrectFilterDetail")),
        Rule("FilterLowDiligence",
             lambda s: (s != CRNH) & (F.col("lowDiligenceNoteIntercept") > cfg.low_diligence_threshold), reject,
             F.concat(F.lit("low-diligence intercept "), _num("lowDiligenceNoteIntercept"),
                      F.lit(f" > {cfg.low_diligence_threshold}"))),
        Rule("FilterLargeFactor", lambda s: (s == CRH) & (F.abs(F.col(FACTOR)) > cfg.max_crh_factor), reject,
             F.concat(F.lit("|factor| "), F.format_number(F.abs(F.col(FACTOR)), 3),
                      F.lit(f" > {cfg.max_crh_factor}"))),
    ]
    if cfg.firm_reject_threshold is not None:
        rules.append(Rule("RejectLowIntercept",
                          lambda s: (s != CRNH) & (F.col(INTERCEPT) < cfg.firm_reject_threshold), FIRM_REJECT,
                          F.concat(F.lit("intercept "), _num(INTERCEPT), F.lit(f" < {cfg.firm_reject_threshold}"))))
    if cfg.min_net_helpful is not None:
        rules.append(Rule("MinMinorityRaters", lambda s: (s == CRH) & (F.col("netMinHelpful") < cfg.min_net_helpful),
                          NYH, F.concat(F.lit("net helpful ratings on the smaller factor side "),
                                        F.col("netMinHelpful").cast("string"), F.lit(f" < {cfg.min_net_helpful}"))))
    if cfg.min_net_helpful_ratio is not None:
        net = F.col("netMinHelpful")
        rules.append(Rule(
            "RaterBalance",
            lambda s: (s == CRH) & (net >= (cfg.min_net_helpful or 0)) & (net < cfg.net_helpful_ratio_exempt_at)
            & (F.col("netMinHelpfulRatio") < cfg.min_net_helpful_ratio),
            NYH, F.concat(F.lit("net helpful on the smaller side "), net.cast("string"), F.lit(" with ratio "),
                          _num("netMinHelpfulRatio"), F.lit(f" < {cfg.min_net_helpful_ratio}"))))
    for col, threshold, name in (("internalNoteInterceptNoHighVol", cfg.no_high_vol_threshold, "NoHighVolIntercept"),
                                 ("internalNoteInterceptNoCorrelated", cfg.no_correlated_threshold,
                                  "NoCorrelatedIntercept")):
        rules.append(Rule(name, lambda s, c=col, t=threshold: (s == CRH) & (F.col(c) < t), NYH,
                          F.concat(F.lit(f"{col} "), _num(col), F.lit(f" < {threshold}"))))
    return rules


def apply_rules(note_stats: DataFrame, rules: list[Rule]) -> DataFrame:
    """Add ratingStatus, activeRules (the reference's comma-joined labels) and explanation."""
    df = note_stats.withColumn(STATUS, F.lit(None).cast("string"))
    df = df.withColumn(RULES, F.array().cast("array<string>")).withColumn(WHY, F.array().cast("array<string>"))
    for rule in rules:
        # One projection per rule: the status column is referenced by the next rule, and
        # nesting the expressions instead would double the plan with every rule. withColumns
        # replaces the three columns in place, where a select naming every other column cost
        # one py4j call per column and rule (about 80 note-stats columns).
        fires = F.coalesce(rule.fires(F.col(STATUS)), F.lit(False))
        why = F.concat(F.lit(f"{rule.name}: "), F.coalesce(rule.why, F.lit("")), F.lit(f" -> {rule.status}"))
        df = df.withColumn(_FIRES, fires).withColumns({
            STATUS: F.when(F.col(_FIRES), F.lit(rule.status)).otherwise(F.col(STATUS)),
            RULES: F.when(F.col(_FIRES), F.array_append(RULES, F.lit(rule_label(rule.name)))).otherwise(F.col(RULES)),
            WHY: F.when(F.col(_FIRES), F.array_append(WHY, why)).otherwise(F.col(WHY)),
        }).drop(_FIRES)
    return df.withColumn(RULES, F.array_join(RULES, ",")).withColumn(WHY, F.array_join(WHY, "; "))
