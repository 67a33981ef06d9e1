"""What reading a member's text costs before it is kept (``filing.classify``).

Every plain text a member sends in a DM is read once: a command-like "/", a skip word,
a greeting or a short question back. This times that reading over a mix of texts as
members send them (short answers, long answers, greetings, questions back, skip words)
in the four languages, and prints the cost per text.

    python benchmarks/filing.py [--texts 200000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.engine.services.filing import classify  # noqa: E402

SAMPLES = (
    "Our budget portal went live in February",
    "We cannot get procurement data from the ministry, and the regional offices say "
    "they need a letter from the minister before they share anything at all",
    "hello?",
    "Is this still on?",
    "Bonjour",
    "Habari za asubuhi",
    "-",
    "passer",
    "/",
    "Formação de técnicos municipais em dados abertos",
    "Mafunzo ya takwimu huria kwa wafanyakazi wa kaunti",
    "42",
    "Funding?",
    "Les données des marchés publics ne sont pas publiées à temps",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=200_000)
    args = parser.parse_args()
    classify("warm up the stemmers and word lists")
    verdicts: Counter[str] = Counter()
    started = time.perf_counter()
    for n in range(args.texts):
        # A distinct text each time, so no cache answers for the model.
        verdicts[
            classify(
                f"{SAMPLES[n % len(SAMPLES)]} {n}" if n % 3 == 0 else SAMPLES[n % len(SAMPLES)]
            )
        ] += 1
    elapsed = time.perf_counter() - started
    print(f"{args.texts:,} texts in {elapsed:.2f} s: {elapsed / args.texts * 1e6:.1f} µs a text")
    print("  " + ", ".join(f"{verdict}: {count:,}" for verdict, count in sorted(verdicts.items())))


if __name__ == "__main__":
    main()
