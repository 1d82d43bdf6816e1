"""The note-topic classifier (§4.3): tokens, the merge of seed labels with the model's
probabilities, and on planted posts, the topics it adds to the seed-term ones."""

from __future__ import annotations

import numpy as np
import pytest

from cnscore.scoring.topic_classifier import Tokenizer, TopicAccuracyError, TopicClassifierConfig, merge_predictions
from cnscore.scoring.topics import NOTE_TOPIC, SEED_TERMS, note_topics

TOPICS = ["Unassigned", *SEED_TERMS]  # class indices: Ukraine 1, Gaza 2, MessiRonaldo 3, Scams 4, InDimensionTwo 5


def test_tokens_are_folded_words_without_seed_terms():
    tokenize = Tokenizer(SEED_TERMS)
    text = "Café RÉSUMÉ: Ukraine's tanks; see help.x.com, a b discuss x2"
    # Accents folded, one-letter words gone, and every token containing a seed term dropped:
    # "ukraine" (ukrain), "help.x.com" (kept whole, then dropped) and "discuss" (the \bsc\b term).
    assert tokenize(text) == ["cafe", "resume", "tanks", "see", "x2"]


def test_seed_labels_stand_unless_the_model_all_but_rules_them_out():
    probs = np.array([
        [0.50, 0.02, 0.48, 0, 0, 0],   # seed Ukraine at 2%: kept (1 - 0.02 <= 0.99)
        [0.995, 0.005, 0, 0, 0, 0],    # seed Ukraine at 0.5%: the model's argmax wins
        [0.10, 0.70, 0.20, 0, 0, 0],   # no seed label: argmax
        [0.50, 0.30, 0.20, 0, 0, 0],   # conflicting Ukraine and Gaza: the likelier, Ukraine
        [0.985, 0, 0, 0, 0, 0.015],    # seed InDimensionTwo at 1.5%: below its 2% bar
    ])
    seed = np.array([1, 1, 0, 0, 5])
    conflicted = [[], [], [], [1, 2], []]
    thresholds = np.array([0.99, 0.99, 0.99, 0.99, 0.99, 0.98])
    assert merge_predictions(probs, seed, conflicted, thresholds).tolist() == [1, 0, 1, 1, 0]


def _notes(spark, posts: list[tuple[int, str]]):
    rows = [(1000 + i, post, text) for i, (post, text) in enumerate(posts)]
    return spark.createDataFrame(rows, "noteId bigint, tweetId bigint, summary string")


def _planted(spark):
    """Seed-labelled posts whose other words are topical, and unlabelled posts with only those
    words: the classifier should carry the topic over."""
    rng = np.random.default_rng(3)
    vocab = {
        "UkraineConflict": ("kyiv", ["tanks", "artillery", "shelling", "frontline", "drones"]),
        "GazaConflict": ("gaza", ["ceasefire", "hostages", "aid", "convoy", "border"]),
        "Scams": ("scam", ["crypto", "giveaway", "wallet", "airdrop", "phishing"]),
    }
    filler = ["recipe", "pasta", "weather", "football", "garden", "music", "movie", "traffic"]
    posts, post_id = [], 1
    for seed, words in vocab.values():
        for _ in range(30):
            posts.append((post_id, f"{seed} " + " ".join(rng.choice(words, 4))))
            post_id += 1
    for _ in range(60):
        posts.append((post_id, " ".join(rng.choice(filler, 5))))
        post_id += 1
    unlabelled = {post_id: "UkraineConflict", post_id + 1: "GazaConflict", post_id + 2: "Scams", post_id + 3: None}
    posts += [(post_id, "tanks artillery drones shelling"), (post_id + 1, "hostages ceasefire convoy aid"),
              (post_id + 2, "crypto wallet giveaway airdrop"), (post_id + 3, "pasta recipe garden weather")]
    return _notes(spark, posts), unlabelled


def _topics_by_post(notes, topics):
    joined = notes.join(topics, "noteId", "left").select("tweetId", NOTE_TOPIC).collect()
    return {r["tweetId"]: r[NOTE_TOPIC] for r in joined}


def test_the_classifier_assigns_unlabelled_posts_the_topic_of_their_words(spark):
    notes, unlabelled = _planted(spark)
    with_model = _topics_by_post(notes, note_topics(notes, TopicClassifierConfig()))
    for post, topic in unlabelled.items():
        assert with_model[post] == topic, (post, with_model[post])
    seeds_only = _topics_by_post(notes, note_topics(notes, TopicClassifierConfig(enabled=False)))
    assert all(seeds_only[post] is None for post in unlabelled)
    # Seed-labelled posts keep their seed topic either way.
    labelled = {p: t for p, t in seeds_only.items() if t is not None}
    assert len(labelled) == 90 and all(with_model[p] == t for p, t in labelled.items())


def test_a_classifier_that_cannot_learn_the_seed_labels_fails_or_warns(spark):
    # Every post has the same words: nothing but the (dropped) seed term tells the classes apart.
    posts = [(i, f"{seed} same words here".strip()) for i, seed in enumerate(["kyiv", "gaza", "scam", ""] * 10)]
    notes = _notes(spark, posts)
    with pytest.raises(TopicAccuracyError, match="balanced accuracy"):
        note_topics(notes, TopicClassifierConfig(on_low_accuracy="fail"))
    warned = note_topics(notes, TopicClassifierConfig())  # the default warns
    # The run goes on, and the seed labels (uncontradicted by a model that knows nothing) stand.
    by_post = _topics_by_post(notes, warned)
    seeds = {"kyiv": "UkraineConflict", "gaza": "GazaConflict", "scam": "Scams"}
    assert all(by_post[i] == seeds[text.split()[0]] for i, text in posts if text.split()[0] in seeds)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="on_low_accuracy"):
        TopicClassifierConfig(on_low_accuracy="ignore")
    with pytest.raises(ValueError, match="unassigned_threshold"):
        TopicClassifierConfig(unassigned_threshold=1.5)
