"""The note-topic classifier (shared docs/reference.md §4.3, second step), in Spark ML.

Seed terms label some posts (`cnscore.scoring.topics`); a bag-of-words logistic regression
trained on those labels (Unassigned included) then labels the rest, as the reference's
TopicModel does with scikit-learn:
- tokens: lower-cased, accents stripped, the seed terms written with periods (help.x.com)
  kept whole, else words of >= 2 characters; every token containing a seed term is dropped,
  so the model cannot learn the labelling rule itself;
- counts over a vocabulary with min_df 1 (fewer than 2,000 posts) or 25, max_df
  max(1000, 25% of the posts); TF-IDF with scikit-learn's smoothed idf, ln((1+n)/(1+df)) + 1,
  and L2-normalised rows; multinomial logistic regression with scikit-learn's C = 1 (Spark's
  regParam = 1 / training posts, no standardisation), trained on posts without conflicting
  seed terms;
- a post keeps its seed topic unless the model gives that topic less than 1 - threshold
  (0.99; InDimensionTwo 0.98); a post matching several topics takes the likeliest of them
  under the same test; every other post takes the model's most likely class.
- The model's balanced accuracy against the seed labels should exceed 0.35. The reference's
  production path stops the run below that; its exitOnLowAccuracy=False path logs and goes on.
  Both are here (`on_low_accuracy`); the default goes on with a warning, since a scoring run
  should not fail on a side model (the 2021 snapshot, whose notes barely use the seed terms,
  stops the reference there).

Spark ML rather than scikit-learn in a UDF: no new dependency, and training and prediction are
distributed over posts, of which there are millions. The optimiser differs from
scikit-learn's lbfgs, so probabilities agree to the optimiser's tolerance, not exactly.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import CountVectorizer, ElementwiseProduct, IDF, Normalizer
from pyspark.ml.functions import vector_to_array
from pyspark.ml.linalg import Vectors
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import NoteCols

log = logging.getLogger(__name__)
POST_ID = NoteCols.TWEET_ID
TEXT, SEED, CONFLICTED, TOKENS, TOPIC = "_text", "_seed", "_conflicted", "_tokens", "_topic"
UNASSIGNED = "Unassigned"
ON_LOW_ACCURACY = ("fail", "warn")


class TopicAccuracyError(RuntimeError):
    """The classifier agrees too little with the seed labels to be trusted."""


@dataclass(frozen=True)
class TopicClassifierConfig:
    """The topic classifier's settings (reference defaults, topic_model.py)."""

    enabled: bool = True  # false: seed-term topics only
    unassigned_threshold: float = 0.99  # keep a seed topic while its probability >= 1 - this
    in_dimension_two_threshold: float = 0.98  # the same for InDimensionTwo
    small_corpus_posts: int = 2000  # below this many posts min_df is 1, else min_df_large
    min_df_large: int = 25
    max_df_min: int = 1000  # max_df = max(this, max_df_share x posts)
    max_df_share: float = 0.25
    inverse_regularization: float = 1.0  # scikit-learn's C
    max_iter: int = 1000
    min_balanced_accuracy: float = 0.35
    # "warn" (default): log and go on, the reference's exitOnLowAccuracy=False path; "fail": stop
    # the run, as its production default does (TopicAccuracyError).
    on_low_accuracy: str = "warn"

    def __post_init__(self) -> None:
        if self.on_low_accuracy not in ON_LOW_ACCURACY:
            raise ValueError(f"on_low_accuracy must be one of {ON_LOW_ACCURACY}, got {self.on_low_accuracy!r}")
        for name in ("unassigned_threshold", "in_dimension_two_threshold", "max_df_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"TopicClassifierConfig.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.inverse_regularization <= 0 or self.max_iter < 1:
            raise ValueError("TopicClassifierConfig: inverse_regularization must be > 0 and max_iter >= 1")


def _token_pattern(period_terms: list[str]) -> re.Pattern:
    seeds = "".join(rf"(?:https?://)?({t})(?:/[^\s]+)?|" for t in period_terms)
    return re.compile("(?i)" + seeds + r"\b\w\w+\b")


def _blocked(terms: list[str]) -> set[str]:
    """Substrings that make a token a stop word: each seed term without \\s / \\b, and with
    escaped characters as '.' (the reference's two spellings)."""
    out: set[str] = set()
    for t in terms:
        out |= {re.sub(r"\\[sb]", "", t.strip()), re.sub(r"\\.", ".", t.strip())}
    return out


def _normalise(text: str) -> str:
    lowered = text.lower()
    return "".join(ch for ch in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(ch))


class Tokenizer:
    """The reference's custom_tokenizer plus its stop-word rule, as one function."""

    def __init__(self, seed_terms: dict[str, tuple[str, ...]]):
        terms = [t for ts in seed_terms.values() for t in ts]
        self._pattern = _token_pattern([t for t in terms if r"\." in t])
        self._blocked = sorted(_blocked(terms))

    def __call__(self, text: str) -> list[str]:
        tokens = []
        for match in self._pattern.finditer(_normalise(text)):
            seed = next((g for g in match.groups() if g is not None), None)
            tokens.append(seed if seed is not None else match.group(0))
        return [t for t in tokens if not any(b in t for b in self._blocked)]


def _tokenize(seed_terms: dict[str, tuple[str, ...]]):
    tokenizer = Tokenizer(seed_terms)

    def body(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield batch.assign(**{TOKENS: [tokenizer(t) for t in batch[TEXT]]})

    return body


def _thresholds(topics: list[str], cfg: TopicClassifierConfig) -> np.ndarray:
    return np.array([cfg.in_dimension_two_threshold if t == "InDimensionTwo" else cfg.unassigned_threshold
                     for t in topics])


def merge_predictions(probs: np.ndarray, seed: np.ndarray, conflicted: list, thresholds: np.ndarray) -> np.ndarray:
    """Class index per post (0 = Unassigned) from probabilities and seed labels (see module doc).

    probs: posts x classes; seed: class index per post (0: none or conflicting);
    conflicted: per post, the class indices of its conflicting seed topics (empty if none).
    """
    chosen = probs.argmax(axis=1)
    rows = np.arange(len(seed))
    keep = (seed > 0) & (1.0 - probs[rows, seed] <= thresholds[seed])
    chosen[keep] = seed[keep]
    for i, candidates in enumerate(conflicted):
        if len(candidates):
            best = max(candidates, key=lambda c: probs[i, c])
            if 1.0 - probs[i, best] <= thresholds[best]:
                chosen[i] = best
    return chosen


def _class_column(topics: list[str]) -> F.Column:
    """The seed topic's index in `topics` (0 = Unassigned: no seed topic, or several)."""
    expr = F.lit(0)
    for i, topic in enumerate(topics[1:], start=1):
        expr = F.when(F.col(SEED) == topic, F.lit(i)).otherwise(expr)
    return expr


def _assign(topics: list[str], present: list[int], cfg: TopicClassifierConfig):
    thresholds = _thresholds(topics, cfg)
    index = {t: i for i, t in enumerate(topics)}

    def body(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            probs = np.zeros((len(batch), len(topics)))
            if len(batch):  # the model's classes are the seed classes it saw, in order
                probs[:, present] = np.stack(batch["_probs"].to_numpy())
            seed = batch["_class"].to_numpy(np.int64)
            conflicted = [[index[t] for t in ts] for ts in batch[CONFLICTED]]
            chosen = merge_predictions(probs, seed, conflicted, thresholds)
            yield pd.DataFrame({POST_ID: batch[POST_ID], TOPIC: [topics[c] for c in chosen],
                                "_argmax": probs.argmax(axis=1) if len(batch) else [], "_class": seed,
                                "_isConflicted": [len(c) > 0 for c in conflicted]})

    return body


def classify_posts(posts: DataFrame, seed_terms: dict[str, tuple[str, ...]], cfg: TopicClassifierConfig) -> DataFrame:
    """tweetId, noteTopic for every post the classifier (with the seed labels) assigns a topic.

    posts: tweetId, _text (the post's text), _seed (its single seed topic or null),
    _conflicted (the seed topics of a post matching several; empty otherwise).

    Raises:
        TopicAccuracyError: balanced accuracy against the seed labels at or below
            cfg.min_balanced_accuracy, when cfg.on_low_accuracy is "fail".
    """
    topics = [UNASSIGNED, *seed_terms]
    schema = f"{POST_ID} bigint, {TEXT} string, {SEED} string, {CONFLICTED} array<string>, {TOKENS} array<string>"
    tokenized = (posts.select(POST_ID, TEXT, SEED, CONFLICTED).mapInPandas(_tokenize(seed_terms), schema)
                 .withColumn("_class", _class_column(topics)).persist())
    num_posts = tokenized.count()
    train = tokenized.where(F.size(CONFLICTED) == 0)
    present = sorted(r[0] for r in train.select("_class").distinct().collect())
    if len(present) < 2:
        log.warning("topic classifier: seed labels of %d class(es) only; seed-term topics alone", len(present))
        tokenized.unpersist()
        return posts.where(F.col(SEED).isNotNull()).select(POST_ID, F.col(SEED).alias(TOPIC))
    min_df = 1 if num_posts < cfg.small_corpus_posts else cfg.min_df_large
    max_df = max(cfg.max_df_min, int(cfg.max_df_share * num_posts))
    vocabulary = CountVectorizer(inputCol=TOKENS, outputCol="_counts", minDF=float(min_df), maxDF=float(max_df)).fit(train)
    counted = vocabulary.transform(train)
    spark_idf = IDF(inputCol="_counts", outputCol="_unused").fit(counted).idf.toArray()
    # Spark's idf is ln((n+1)/(df+1)); scikit-learn's smoothed idf adds 1 to it.
    tfidf = ElementwiseProduct(scalingVec=Vectors.dense(spark_idf + 1.0), inputCol="_counts", outputCol="_tfidf")
    normalise = Normalizer(p=2.0, inputCol="_tfidf", outputCol="_features")

    def features(df: DataFrame) -> DataFrame:
        return normalise.transform(tfidf.transform(vocabulary.transform(df)))

    relabel = F.lit(0)
    for j, c in enumerate(present):
        relabel = F.when(F.col("_class") == c, F.lit(float(j))).otherwise(relabel)
    training = features(train).withColumn("_label", relabel)
    num_train = training.count()
    model = LogisticRegression(featuresCol="_features", labelCol="_label", family="multinomial",
                               regParam=1.0 / (cfg.inverse_regularization * num_train), elasticNetParam=0.0,
                               standardization=False, maxIter=cfg.max_iter).fit(training)
    scored = model.transform(features(tokenized)).select(POST_ID, CONFLICTED, "_class",
                                                         vector_to_array("probability").alias("_probs"))
    out = f"{POST_ID} bigint, {TOPIC} string, _argmax int, _class int, _isConflicted boolean"
    assigned = scored.mapInPandas(_assign(topics, present, cfg), out).localCheckpoint(eager=True)
    tokenized.unpersist()
    _check_accuracy(assigned, cfg, len(vocabulary.vocabulary))
    return assigned.where(F.col(TOPIC) != UNASSIGNED).select(POST_ID, TOPIC)


def _check_accuracy(assigned: DataFrame, cfg: TopicClassifierConfig, vocabulary_size: int) -> None:
    rows = (assigned.where(~F.col("_isConflicted")).groupBy("_class")
            .agg(F.avg((F.col("_argmax") == F.col("_class")).cast("double")).alias("recall")).collect())
    accuracy = float(np.mean([r["recall"] for r in rows])) if rows else 0.0
    counts = {r[TOPIC]: r["count"] for r in assigned.groupBy(TOPIC).count().collect()}
    log.info("topic classifier: vocabulary %d, balanced accuracy on seed labels %.3f, posts per topic %s",
             vocabulary_size, accuracy, counts)
    if accuracy <= cfg.min_balanced_accuracy:
        message = (f"topic classifier: balanced accuracy {accuracy:.3f} on the seed labels is not above "
                   f"{cfg.min_balanced_accuracy} (scoring.topic_classifier.on_low_accuracy: {cfg.on_low_accuracy})")
        if cfg.on_low_accuracy == "fail":
            raise TopicAccuracyError(message)
        log.warning(message)
