"""Topic assignment of posts (shared docs/reference.md §4.3).

A post's text is the concatenation of its notes' summaries; a post matching the seed terms of
exactly one topic gets that topic. The bag-of-words classifier of
`cnscore.scoring.topic_classifier`, trained on those seed labels, then assigns more posts
(ScoringConfig.topic_classifier; disabled: seed-term topics only). Every note on a post
inherits its topic. The Core model drops ratings on topic notes; topic models score them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cnscore.columns import NoteCols
from cnscore.scoring.topic_classifier import CONFLICTED, SEED, TEXT, TOPIC, TopicClassifierConfig, classify_posts

NOTE_TOPIC = "noteTopic"

# Seed terms per topic (the reference's list; a term is a regular expression). Terms without
# their own boundary must start a word: "(?:\s|^)" is put in front of them.
SEED_TERMS: dict[str, tuple[str, ...]] = {
    "UkraineConflict": ("ukrain", "russia", "kiev", "kyiv", "moscow", "zelensky", "putin"),
    "GazaConflict": ("israel", "palestin", "gaza", "jerusalem", r"\bhamas\b"),
    "MessiRonaldo": (r"messi\b", "ronaldo"),
    "Scams": ("scam", r"undisclosed\sad", r"terms\sof\sservice", r"help\.x\.com", r"x\.com/tos",
              r"engagement\sfarm", "spam", "gambling", "apostas", "apuestas", "dropship",
              r"drop\sship", "promotion"),
    "InDimensionTwo": (r"\bugc\b", r"\bgc\b", r"\bobc\b", r"\bsc\b", r"\bsc[,\s]+st\b",
                       r"\bst[,\s]+sc\b", "आरक्षण"),
}
_URL = re.compile(r"https?://[^\s)\]]+")
_KEPT_URLS = (re.compile(r"help\.x\.com"), re.compile(r"x\.com/tos"))


def _seed_regex() -> re.Pattern:
    groups = []
    for topic, terms in SEED_TERMS.items():
        parts = [t if (r"\." in t or t.startswith((r"\b", r"\s"))) else rf"(?:\s|^){t}" for t in terms]
        groups.append(f"(?P<{topic}>{'|'.join(parts)})")
    return re.compile("|".join(groups), re.IGNORECASE)


SEED_REGEX = _seed_regex()


def _strip_urls(text: str) -> str:
    """URLs become their words of >= 4 letters, so fragments like 'sc' do not match."""

    def replace(match: re.Match) -> str:
        url = match.group(0)
        if any(p.search(url) for p in _KEPT_URLS):
            return url
        return " ".join(t for t in re.findall(r"[a-zA-Z]+", url) if len(t) >= 4)

    return _URL.sub(replace, text)


def post_text(summaries: list[str]) -> str:
    """The matched text of a post: its notes' summaries joined, URLs reduced, _ and / as spaces."""
    text = _strip_urls(" ".join(s or "" for s in summaries))
    return text.replace("_", " ").replace("/", " ")


def seed_matches(text: str) -> set[str]:
    """Every topic whose seed terms occur in `text`."""
    found = set()
    for match in SEED_REGEX.finditer(text.lower()):
        found.update(name for name, value in match.groupdict().items() if value)
    return found


def seed_topic(text: str) -> str | None:
    """The single topic whose seed terms occur in `text`; None for no match or several."""
    found = seed_matches(text)
    return found.pop() if len(found) == 1 else None


def _label_posts(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        texts = [post_text(list(s)) for s in batch["summaries"]]
        found = [sorted(seed_matches(t)) for t in texts]
        yield pd.DataFrame({NoteCols.TWEET_ID: batch[NoteCols.TWEET_ID], TEXT: texts,
                            SEED: [f[0] if len(f) == 1 else None for f in found],
                            CONFLICTED: [f if len(f) > 1 else [] for f in found]})


def seed_labelled_posts(notes: DataFrame) -> DataFrame:
    """tweetId, _text (the post's text), _seed (its single seed topic or null), _conflicted
    (the seed topics of a post matching several, else empty): one row per post."""
    posts = notes.groupBy(NoteCols.TWEET_ID).agg(
        F.sort_array(F.collect_list(F.struct(NoteCols.NOTE_ID, F.coalesce(F.col(NoteCols.SUMMARY), F.lit(""))
                                             .alias("s")))).getField("s").alias("summaries")
    )
    schema = T.StructType([T.StructField(NoteCols.TWEET_ID, T.LongType()), T.StructField(TEXT, T.StringType()),
                           T.StructField(SEED, T.StringType()),
                           T.StructField(CONFLICTED, T.ArrayType(T.StringType()))])
    return posts.mapInPandas(_label_posts, schema)


def note_topics(notes: DataFrame, classifier: TopicClassifierConfig | None = None) -> DataFrame:
    """noteId, noteTopic for notes on posts with a topic (others absent): seed-term topics,
    extended by the classifier when `classifier` is given and enabled."""
    posts = seed_labelled_posts(notes)
    if classifier is not None and classifier.enabled:
        labelled = classify_posts(posts, SEED_TERMS, classifier).withColumnRenamed(TOPIC, NOTE_TOPIC)
    else:
        labelled = posts.where(F.col(SEED).isNotNull()).select(NoteCols.TWEET_ID, F.col(SEED).alias(NOTE_TOPIC))
    return notes.select(NoteCols.NOTE_ID, NoteCols.TWEET_ID).join(labelled, on=NoteCols.TWEET_ID).select(
        NoteCols.NOTE_ID, NOTE_TOPIC)


TOPIC_CONFIDENT = "topicNoteConfident"


def topic_selector(topics: DataFrame, topic: str):
    """A rating selection for a topic model (§4.4.1): every rater's ratings on the notes of
    `topic` (topics: note_topics' table)."""
    notes = topics.where(F.col(NOTE_TOPIC) == F.lit(topic)).select(NoteCols.NOTE_ID)

    def select(ratings: DataFrame) -> DataFrame:
        return ratings.join(notes, NoteCols.NOTE_ID, "left_semi")

    return select


def with_topic_confidence(scored: DataFrame, settings) -> DataFrame:
    """A topic model's scored notes plus noteTopic and topicNoteConfident: at least
    `settings.min_ratings_per_side` final-round ratings from raters with a factor >= 0 and as
    many from raters with a factor < 0 (the reference's "> 4"; settings: models.TopicSettings)."""
    least = F.lit(settings.min_ratings_per_side)
    confident = ((F.coalesce(F.col("posFactorRatingCount"), F.lit(0)) >= least)
                 & (F.coalesce(F.col("negFactorRatingCount"), F.lit(0)) >= least))
    return scored.withColumns({NOTE_TOPIC: F.lit(settings.name), TOPIC_CONFIDENT: confident})
