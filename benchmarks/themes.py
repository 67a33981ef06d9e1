"""Themes of 10,000 answers: how long it takes and how much memory it needs.

The answers are made from the labelled answers of ``tests/fixtures/themes/`` (English
and French, five topics each): each new answer joins two clauses from answers of one
topic and adds a place and a figure, so no two are alike. Prints the time taken by
:func:`bot.engine.services.themes.find_themes`, the process's peak resident memory, and
the purity of the themes against the subjects (a theme joining
English and French answers on one subject is pure). The goal: under 2 s and 200 MB. Wall
and CPU time are both printed: on a busy machine the two differ.

    .venv/bin/python -m benchmarks.themes [--answers 10000]
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from bot.engine.services.text_model import default
from bot.engine.services.themes import Answer, find_themes

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "themes"
PLACES = ["Kisumu", "Tamale", "Dosso", "Kaya", "Mombasa", "Thiès", "Bouaké", "Gulu", "Kano"]


def peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# The French topics are the English ones: a theme may join both languages.
SUBJECT = {"eau": "water", "marches": "procurement", "budget": "budgets", "donnees": "privacy"}
SUBJECT["cartographie"] = "mapping"


def labelled() -> list[tuple[str, str]]:
    rows = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        for topic, texts in yaml.safe_load(path.read_text(encoding="utf-8")).items():
            rows.extend((f"{path.stem}:{topic}", text) for text in texts)
    return rows


def answers(count: int) -> tuple[list[Answer], list[str]]:
    rng = random.Random(0)
    by_topic: dict[str, list[list[str]]] = {}
    for topic, text in labelled():
        clauses = [c.strip() for c in re.split(r"[.;:,!?]", text) if len(c.strip()) > 12]
        by_topic.setdefault(topic, []).append(clauses or [text])
    topics = sorted(by_topic)
    made, labels = [], []
    for i in range(count):
        topic = topics[i % len(topics)]
        first, second = rng.sample(by_topic[topic], 2)
        text = (
            f"{rng.choice(first)}; {rng.choice(second).lower()} "
            f"({rng.choice(PLACES)}, {rng.randint(2, 900)})."
        )
        made.append(Answer(member=f"Member {i % 400}", text=text, question=1 + i % 3))
        labels.append(topic)
    return made, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=10_000)
    args = parser.parse_args()
    made, labels = answers(args.answers)
    model = default()
    # Loading scikit-learn once is part of a process's start, not of a brief.
    find_themes(model, made[:50], "en")
    before = peak_mb()
    started, cpu = time.perf_counter(), time.process_time()
    themes = find_themes(model, made, "en")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    placed = sum(t.size for t in themes)
    label_of = {id(a): label for a, label in zip(made, labels, strict=True)}
    subject_of = {key: SUBJECT.get(label.split(":")[1], label.split(":")[1])
                  for key, label in label_of.items()}  # fmt: skip

    def purity(of: dict[int, str]) -> float:
        pure = sum(Counter(of[id(a)] for a in t.answers).most_common(1)[0][1] for t in themes)
        return pure / max(placed, 1)

    print(f"answers: {len(made)} (five subjects, each in English and in French)")
    print(f"themes: {len(themes)}, largest: {themes[0].label if themes else '-'}")
    # Wall time counts other processes' turns on a shared machine; CPU time does not.
    print(f"time: {elapsed:.2f} s wall, {cpu:.2f} s CPU (goal < 2 s)")
    print(f"peak RSS: {peak_mb():.0f} MB (goal < 200 MB; {before:.0f} MB before the run)")
    print(
        f"purity: {purity(subject_of):.2f} by subject, {purity(label_of):.2f} by subject and"
        f" language; answers in a theme: {placed / len(made):.0%}"
    )


if __name__ == "__main__":
    main()
