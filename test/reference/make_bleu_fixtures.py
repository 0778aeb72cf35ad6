"""Write the BLEU / Self-BLEU reference fixture with NLTK.

Run with Debian's NLTK (apt-get install -y python3-nltk):
    /usr/bin/python3 test/reference/make_bleu_fixtures.py
Writes test/reference/fixtures/bleu/nltk-bleu.json (in a subfolder so the
engine's parity loader, which reads every fixtures/*.json, does not see it).

Settings are NLTK's `sentence_bleu` with uniform weights (1/maxN, ...) and,
unless a case says "none", `SmoothingFunction().method1` (Chen & Cherry 2014,
epsilon 0.1: a zero n-gram match count becomes 0.1 / (number of hypothesis
n-grams, at least 1)). "none" is NLTK's method0 (a zero count becomes the
smallest normal double, so the score is ~0 but not 0).

Self-BLEU (Zhu et al. 2018, Texygen) of a set = the mean over hypotheses i of
sentence_bleu(references = every other sequence j != i, hypothesis = i).
The fixture stores every per-hypothesis score so a mismatch points at one case.
"""
import json
import os
import random

import nltk
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "bleu", "nltk-bleu.json")


def words(s):
    return s.split()


def random_corpus(seed, size, vocab, min_len, max_len):
    """Sentences from a small vocabulary, so many n-grams repeat."""
    rnd = random.Random(seed)
    return [[rnd.choice(vocab) for _ in range(rnd.randint(min_len, max_len))] for _ in range(size)]


CORPORA = [
    # Ordinary short sentences with partial overlap.
    dict(name="sentences", seqs=[words(s) for s in [
        "the cat sat on the mat",
        "the cat lay on the rug",
        "a dog sat on the mat today",
        "the bird flew over the house",
        "my cat sat quietly on a mat",
    ]]),
    # Sentences shorter than maxN (orders with no n-grams at all), one token long too.
    dict(name="short", seqs=[words(s) for s in ["hello", "hello world", "world", "hello there world", "there"]]),
    # Shared unigrams and bigrams but no shared 3-gram.
    dict(name="no-trigram-match", seqs=[words(s) for s in ["a b c d", "b c a d", "c d b a", "d a c b"]]),
    # Exact duplicates: a duplicated hypothesis scores 1 against the rest.
    dict(name="duplicates", seqs=[words(s) for s in [
        "one two three four five", "one two three four five", "one two three four five",
        "five four three two one", "one three five two four",
    ]]),
    # A hypothesis sharing no token with the others (BLEU 0), and an empty sequence.
    dict(name="disjoint-and-empty", seqs=[words(s) for s in ["x y z", "a b c", "a b d e", ""]]),
    # Brevity-penalty ties: references 4 and 6 tokens around a 5-token hypothesis (NLTK takes the shorter).
    dict(name="length-ties", seqs=[words(s) for s in ["a b c d", "a b c d e f", "a b c x y", "b c d"]]),
    # Integer token ids (as a tokenizer would give).
    dict(name="ids", seqs=[[3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8], [1, 4, 1, 4, 2, 1], [3, 1, 4, 1, 5], [1, 1, 2, 3, 5, 8, 13]]),
    # A larger random corpus over 8 words, lengths 1-12.
    dict(name="random-40", seqs=random_corpus(7, 40, ["a", "b", "c", "d", "e", "f", "g", "h"], 1, 12)),
]

MAX_NS = [2, 3, 4]

# Plain sentence_bleu with given references: NLTK's docstring examples (Papineni et al. 2002
# sentences; 0.5045... for BLEU-4) and the clipping example ("the the the ...").
REFS_PARTY = [words(s) for s in [
    "It is a guide to action that ensures that the military will forever heed Party commands",
    "It is the guiding principle which guarantees the military forces always being under the command of the Party",
    "It is the practical guide for the army always to heed the directions of the party",
]]
SENTENCES = [
    dict(name="party-1", references=REFS_PARTY, hypothesis=words(
        "It is a guide to action which ensures that the military always obeys the commands of the party")),
    dict(name="party-2", references=REFS_PARTY, hypothesis=words(
        "It is to insure the troops forever hearing the activity guidebook that party direct")),
    dict(name="clipping", references=[words("the cat is on the mat"), words("there is a cat on the mat")],
         hypothesis=words("the the the the the the the")),
    dict(name="brevity", references=[words("a b c d e f g h i j k l m"), words("a b")],
         hypothesis=words("a b c d e f g h i j k l")),
]


def self_bleu(seqs, max_n, smoothing):
    w = tuple([1.0 / max_n] * max_n)
    fn = SmoothingFunction().method1 if smoothing == "method1" else SmoothingFunction().method0
    scores = []
    for i, hyp in enumerate(seqs):
        refs = [s for j, s in enumerate(seqs) if j != i]
        scores.append(float(sentence_bleu(refs, hyp, weights=w, smoothing_function=fn)))
    return scores


def main():
    cases = []
    for corpus in CORPORA:
        for max_n in MAX_NS:
            for smoothing in (["method1", "none"] if corpus["name"] in ("sentences", "short") else ["method1"]):
                scores = self_bleu(corpus["seqs"], max_n, smoothing)
                cases.append(dict(corpus=corpus["name"], maxN=max_n, smoothing=smoothing,
                                  perHypothesis=scores, selfBleu=sum(scores) / len(scores)))
    sentences = []
    for sent in SENTENCES:
        for max_n in MAX_NS:
            for smoothing in ["method1", "none"]:
                w = tuple([1.0 / max_n] * max_n)
                fn = SmoothingFunction().method1 if smoothing == "method1" else SmoothingFunction().method0
                bleu = float(sentence_bleu(sent["references"], sent["hypothesis"], weights=w, smoothing_function=fn))
                sentences.append(dict(sent, maxN=max_n, smoothing=smoothing, bleu=bleu))
    out = {
        "source": "test/reference/make_bleu_fixtures.py, NLTK " + nltk.__version__
        + " sentence_bleu, uniform weights 1/maxN, SmoothingFunction(epsilon=0.1).method1 or method0 ('none')",
        "corpora": {c["name"]: c["seqs"] for c in CORPORA},
        "cases": cases,
        "sentences": sentences,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
