"""Connecting the dots: the themes that run through members' answers.

Each answer becomes a vector of TF-IDF weights over its stems (single words and pairs,
stop words removed; see :mod:`bot.engine.services.text_model`) and over character
n-grams of its words, which copes with spelling, plurals and the odd typo. Non-negative
matrix factorisation (scikit-learn's NMF, fixed ``random_state``) finds the themes; each
answer joins the theme it weighs most on. The number of themes is read from the
answers themselves, where their singular values drop the most (see :func:`_count`).

Everything runs on the machine, offline and deterministically: the same answers give
the same themes. A theme is a label (its top terms), the answers in it, quoted exactly,
and who wrote them.
"""

from __future__ import annotations

import importlib
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.engine.services.text_model import TextModel

if TYPE_CHECKING:
    from scipy import sparse

# Fewer answers than this make no themes; a theme needs this many answers.
MIN_ANSWERS = 4
MIN_SIZE = 2
MAX_THEMES = 12
# Past this many answers, the themes are learnt from a sample and every answer placed.
SAMPLE = 2000
LABEL_TERMS = 3
TERMS = 5
# The share of the answers' weight given to character n-grams against words.
CHARACTER_WEIGHT = 0.6
# What the themes are found with, imported on first use.
LIBRARY = (
    "sklearn.decomposition",
    "sklearn.feature_extraction.text",
    "sklearn.preprocessing",
    "sklearn.utils.extmath",
    "threadpoolctl",
)


@dataclass(frozen=True, slots=True)
class Answer:
    """One member's answer, as stored, with what it takes to cite it."""

    member: str
    text: str
    question: int
    member_id: int | None = None
    meeting_id: int | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Theme:
    label: str
    terms: list[str]
    answers: list[Answer]
    # The terms' stems ("water point" is "water point"), to compare with other texts.
    stems: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.answers)

    @property
    def members(self) -> int:
        """How many members wrote in this theme (each anonymous answer counts once)."""
        named = {a.member_id for a in self.answers if a.member_id is not None}
        return len(named) + sum(1 for a in self.answers if a.member_id is None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "terms": list(self.terms),
            "answers": [
                {"member": a.member, "text": a.text, "question": a.question} for a in self.answers
            ],
        }


@dataclass(slots=True)
class _Documents:
    # How members wrote each stem, and how often.
    forms: dict[str, Counter[str]]
    # Per answer, the column of each of its terms (stems, then pairs of stems).
    terms: sparse.csr_matrix
    vocabulary: list[str]
    # How many of the first columns are single stems (the rest are pairs).
    singles: int


def _read(model: TextModel, answers: Sequence[Answer], language: str) -> _Documents:
    """Every answer's words and the counts of its terms, in one pass."""
    from scipy import sparse

    forms: dict[str, Counter[str]] = {}
    stems: dict[str, int] = {}
    pairs: dict[str, int] = {}
    # Compact arrays of machine integers: a list of Python ints costs nine times more.
    rows = array("i")
    columns = array("i")
    for row, answer in enumerate(answers):
        tokens, roots = model.analyse(answer.text, default=language)
        previous = ""
        for surface, stem in zip(tokens, roots, strict=True):
            if not stem:
                previous = ""
                continue
            written = forms.get(stem)
            if written is None:
                written = forms[stem] = Counter()
            written[surface.lower()] += 1
            rows.append(row)
            columns.append(stems.setdefault(stem, len(stems)))
            if previous:
                rows.append(row)
                columns.append(-1 - pairs.setdefault(f"{previous} {stem}", len(pairs)))
            previous = stem
    # Pairs go after the stems.
    at = np.frombuffer(columns, dtype=np.int32).copy()
    at[at < 0] = len(stems) - 1 - at[at < 0]
    counts = sparse.csr_matrix(
        (np.ones(len(at), dtype=np.float32), (np.frombuffer(rows, dtype=np.int32), at)),
        shape=(len(answers), len(stems) + len(pairs)),
    )
    counts.sum_duplicates()
    return _Documents(forms, counts, [*stems, *pairs], len(stems))


def _weigh(counts: sparse.csr_matrix, min_df: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    """TF-IDF rows of unit length (float32, computed in place), keeping the columns found
    in ``min_df`` answers or more and in at most half of them; and which were kept."""
    from sklearn.feature_extraction.text import TfidfTransformer

    frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    kept = np.flatnonzero((frequency >= min_df) & (frequency <= max(counts.shape[0] // 2, 1)))
    chosen = counts[:, kept]
    if kept.size == 0:
        return chosen, kept
    tfidf = TfidfTransformer(sublinear_tf=True).fit(chosen)
    return tfidf.transform(chosen, copy=False), kept


def _character_ngrams(stems: Sequence[str]) -> sparse.csr_matrix:
    """Each stem's character 3- to 5-grams (with its word boundaries), as counts."""
    from scipy import sparse

    grams: dict[str, int] = {}
    rows = array("i")
    columns = array("i")
    for row, stem in enumerate(stems):
        padded = f" {stem} "
        for size in (3, 4, 5):
            for start in range(len(padded) - size + 1):
                rows.append(row)
                columns.append(grams.setdefault(padded[start : start + size], len(grams)))
    matrix = sparse.csr_matrix(
        (
            np.ones(len(rows), dtype=np.float32),
            (np.frombuffer(rows, dtype=np.int32), np.frombuffer(columns, dtype=np.int32)),
        ),
        shape=(len(stems), len(grams)),
    )
    matrix.sum_duplicates()
    return matrix


def _matrix(documents: _Documents) -> tuple[sparse.csr_matrix, list[str]]:
    """Rows of unit length: word and pair weights, then character n-gram weights; and
    the words' and pairs' names, in column order."""
    from scipy import sparse
    from sklearn.preprocessing import normalize

    n = documents.terms.shape[0]
    min_df = 1 if n < 200 else 2
    by_word, kept = _weigh(documents.terms, min_df)
    by_word.data *= 1 - CHARACTER_WEIGHT
    vocabulary = [documents.vocabulary[i] for i in kept]
    # Characters are counted per distinct stem, then summed per answer: far fewer
    # strings to cut than the answers' own text.
    grams = _character_ngrams(documents.vocabulary[: documents.singles])
    letters = (documents.terms[:, : documents.singles] @ grams).tocsr()
    del grams
    by_character, _ = _weigh(letters, 2)
    del letters
    by_character.data *= CHARACTER_WEIGHT
    combined = sparse.hstack([by_word, by_character], format="csr", dtype=np.float32)
    del by_word, by_character
    if combined.shape[1] == 0:
        return combined, vocabulary
    return normalize(combined, copy=False), vocabulary


def _sample(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Many answers teach no more themes than a fair sample of them (rows kept in order)."""
    if matrix.shape[0] <= SAMPLE:
        return matrix
    picked = np.random.default_rng(0).choice(matrix.shape[0], SAMPLE, replace=False)
    return matrix[np.sort(picked)]


def _factorise(matrix: sparse.csr_matrix, count: int) -> np.ndarray:
    """Each row's theme (-1 for a row with no weight on any)."""
    from sklearn.decomposition import NMF

    nmf = NMF(n_components=count, init="nndsvda", random_state=0, max_iter=300, tol=1e-3)
    sample = _sample(matrix)
    weights = nmf.fit_transform(sample)
    if sample.shape[0] < matrix.shape[0]:
        weights = nmf.transform(matrix)
    chosen = weights.argmax(axis=1)
    chosen[weights.max(axis=1) <= 0] = -1
    return np.asarray(chosen)


def _count(matrix: sparse.csr_matrix) -> int:
    """How many themes: where the singular values of the answers drop the most.

    Each theme adds one strong direction to the answers' matrix; past the last theme
    the singular values level off (the "eigengap"). The first value, the direction all
    answers share, is left out.
    """
    from sklearn.utils.extmath import randomized_svd

    n, columns = matrix.shape
    most = min(MAX_THEMES, n // MIN_SIZE, columns - 1)
    if most < 2:
        return 1
    _, values, _ = randomized_svd(_sample(matrix), most + 1, n_iter=7, random_state=0)
    gaps = values[1:-1] - values[2:]
    return int(np.argmax(gaps)) + 2


def _label(
    forms: dict[str, Counter[str]], vocabulary: Sequence[str], weights: np.ndarray
) -> tuple[list[str], list[str]]:
    """The theme's top terms as members wrote them most often, and their stems."""
    order = np.argsort(-weights, kind="stable")
    stems: list[str] = []
    for index in order[: TERMS * 4]:
        if weights[index] <= 0 or len(stems) == TERMS:
            break
        term = vocabulary[index]
        parts = term.split()
        # A word already said in a chosen pair (or a pair of chosen words) adds nothing.
        if any(set(parts) <= set(chosen.split()) for chosen in stems):
            continue
        stems = [s for s in stems if not set(s.split()) <= set(parts)] + [term]
    terms = [
        " ".join(forms[p].most_common(1)[0][0] if p in forms else p for p in s.split())
        for s in stems
    ]
    return terms, stems


def load_library() -> None:
    """Import what the themes are found with: scikit-learn, with the SciPy it loads, takes
    most of a second of CPU on first use, which a caller can spend in a thread while it
    waits on the database instead of before the first theme."""
    for name in LIBRARY:
        importlib.import_module(name)


def find_themes(model: TextModel, answers: Sequence[Answer], language: str = "en") -> list[Theme]:
    """The themes of ``answers``, largest first; answers in no theme are left out."""
    if len(answers) < MIN_ANSWERS:
        return []
    from threadpoolctl import threadpool_limits

    documents = _read(model, answers, language)
    matrix, vocabulary = _matrix(documents)
    if matrix.shape[1] == 0 or not vocabulary:
        return []
    # These matrices are small: BLAS threads cost far more to start than they save.
    with threadpool_limits(1):
        count = _count(matrix)
        if count < 2:
            return []
        chosen = _factorise(matrix, count)
    words = matrix[:, : len(vocabulary)]
    total = np.asarray(words.sum(axis=0)).ravel()
    themes = []
    for theme in range(count):
        rows = [int(i) for i in np.flatnonzero(chosen == theme)]
        if len(rows) < MIN_SIZE:
            continue
        # Terms that set the theme apart: heavier in its answers than in the others.
        inside = np.asarray(words[rows].mean(axis=0)).ravel()
        outside = (total - inside * len(rows)) / max(len(answers) - len(rows), 1)
        # ... and shared by many of its answers, not one answer's own words.
        coverage = np.asarray((words[rows] > 0).sum(axis=0)).ravel() / len(rows)
        weights = (inside - outside) * coverage
        terms, stems = _label(documents.forms, vocabulary, weights)
        if not terms:
            continue
        themes.append(
            Theme(
                label=" · ".join(terms[:LABEL_TERMS]),
                terms=terms,
                answers=[answers[i] for i in rows],
                stems=stems,
            )
        )
    themes.sort(key=lambda t: (-t.size, t.label))
    return themes
