"""The fitted answerability model: P(sentence answers the question) and the policy that turns it into an answer.

The weights live in `rag/answering/models/answerability.json`, written by `govqa eval fit` (eval/fit.py) from the
training questions only: a logistic regression over the named features of `rag.answering.evidence`, one for
indexes with sentence vectors ("dense") and one for BM25-only indexes ("lexical"); a small character
n-gram model for "does the question want a figure"; a logistic regression over the group features (is this group's evidence an answer at all),
and a calibrated one over the same features (does the first quoted sentence hold the answer: below 0.5, the answer is framed as
"the most relevant text"); the thresholds
of the answer policy, chosen by
leave-one-report-out cross-validation; and the word associations learned from the training answers (which
report words answer which question words: 经济 -> 生产总值). Nothing in it is set by hand.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.errors import ConfigError
from rag.answering.evidence import DENSE, FEATURES, GROUP_FEATURES

DEFAULT_PATH = Path(__file__).parent / "models" / "answerability.json"


@dataclass
class Policy:
    """How scores become an answer: refuse below, frame as "most relevant text" below, how many to quote."""

    refuse_below: float  # a group whose answerability (P that its evidence answers) is below this gets no answer
    frame_below: float  # below this calibrated P(the group's first quote answers), its answer is framed "most relevant"
    keep_ratio: float  # further sentences are quoted while their probability is at least this share of the best
    max_sentences: int
    other_paragraphs: bool = True  # whether further sentences may come from other paragraphs than the best's
    skip_conflicts: bool = False  # whether sentences about another year or period than the one asked are never quoted


@dataclass
class LinearModel:
    """A standardised logistic regression over some of FEATURES."""

    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    names: tuple[str, ...] = FEATURES  # the full feature vector the rows hold

    def __post_init__(self) -> None:
        self._cols = np.array([self.names.index(f) for f in self.features])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for rows of full feature vectors (FEATURES order)."""
        if len(x) == 0:
            return np.zeros(0)
        z = ((x[:, self._cols] - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict:
        return {
            "features": self.features,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, d: dict, names: tuple[str, ...] = FEATURES) -> LinearModel:
        return cls(
            list(d["features"]),
            np.array(d["mean"]),
            np.array(d["scale"]),
            np.array(d["coef"]),
            float(d["intercept"]),
            names,
        )


def mode_features(mode: str) -> list[str]:
    """The features a mode uses: every one with sentence vectors, all but the dense ones without."""
    return [f for f in FEATURES if mode == "dense" or f not in DENSE]


@dataclass
class Scorer:
    """The sentence model of one mode, the figure-question model and the policy."""

    model: LinearModel
    answerable: LinearModel  # over GROUP_FEATURES: P(the group's evidence answers the question)
    confident: LinearModel  # over GROUP_FEATURES, calibrated: P(the first sentence the policy quotes holds the answer)
    policy: Policy
    figure_ngrams: dict[str, float]
    figure_intercept: float
    mode: str
    associations: dict[str, dict[str, float]]  # question word -> report words that answered it in training

    def figure_wanted(self, question: str) -> float:
        return figure_probability(question, self.figure_ngrams, self.figure_intercept)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(x)


def figure_probability(question: str, ngrams: dict[str, float], intercept: float) -> float:
    """P(the question wants a figure) from the character 1-2-gram logistic regression's weights."""
    grams = {question[i : i + n] for n in (1, 2) for i in range(len(question) - n + 1)}
    return 1.0 / (1.0 + math.exp(-(intercept + sum(ngrams.get(g, 0.0) for g in grams))))


def load_scorer(mode: str | None = None, path: Path | None = None) -> Scorer:
    """The scorer for 'dense' (needs sentence vectors) or 'lexical' answering; None: the mode the fit prefers on
    the training questions (the file's "preferred": the lexical one unless the dense one cross-validates better
    beyond one standard error, eval.fit.prefer)."""
    path = Path(path or DEFAULT_PATH)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        mode = mode or data["preferred"]
        m = data["models"][mode]
        return Scorer(
            LinearModel.from_dict(m["sentence"]),
            LinearModel.from_dict(m["answerable"], GROUP_FEATURES),
            LinearModel.from_dict(m["confident"], GROUP_FEATURES),
            Policy(**m["policy"]),
            dict(data["figure_question"]["ngrams"]),
            float(data["figure_question"]["intercept"]),
            mode,
            data["associations"],
        )
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(
            f"answerability model {path} is missing or unreadable ({e})",
            fix="re-fit it from the training questions: govqa eval fit",
            path=str(path),
        ) from e
