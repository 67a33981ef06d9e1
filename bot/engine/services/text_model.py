"""Words that carry meaning in a member's text: stop words removed, stems for matching.

Stop words are data, one file per language under ``prompts/<language>/stopwords``
(a translator can change them without touching code); stems come from the Snowball
stemmers of ``snowballstemmer``. A language without a Snowball stemmer (Swahili) keeps
its words whole. Stems are compared without accents, since members typing on phones
often drop them: words are folded before they are stemmed ("donnees" and "données"
are one word).

The language of a text is the one whose stop words it uses most, so an English answer
in a French-speaking community is still read as English.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple

import snowballstemmer

PROMPTS_DIR = Path(__file__).resolve().parents[3] / "prompts"
# Snowball's names for the languages Indaba speaks that it has a stemmer for.
SNOWBALL = {"en": "english", "fr": "french", "pt": "portuguese", "es": "spanish"}
DEFAULT_LANGUAGE = "en"
# Words kept folded and stemmed, per language, before the memory is started afresh.
CACHE = 200_000

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """``word`` lower-cased and without accents."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Word(NamedTuple):
    """One word of a text: as written, its stem (the matching key), where it stands,
    and whether it is a stop word (a tuple: texts have many words)."""

    surface: str
    stem: str
    position: int
    stop: bool


class TextModel:
    """Stop words and stemmers for every language with a ``stopwords`` file."""

    def __init__(self, prompts_dir: Path = PROMPTS_DIR) -> None:
        self.stop_words: dict[str, frozenset[str]] = {}
        for path in sorted(prompts_dir.glob("*/stopwords")):
            words: set[str] = set()
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.split("#", 1)[0]
                words.update(fold(w) for w in line.split())
            self.stop_words[path.parent.name] = frozenset(words)
        self._stemmers = {
            language: snowballstemmer.stemmer(SNOWBALL[language])
            for language in self.stop_words
            if language in SNOWBALL
        }
        # Members use the same words again and again: each is folded and stemmed once.
        self._keys: dict[str, str] = {}
        self._stems: dict[str, dict[str, str]] = {}

    @property
    def languages(self) -> list[str]:
        return sorted(self.stop_words)

    def language_of(self, text: str, default: str = DEFAULT_LANGUAGE) -> str:
        """The language whose stop words ``text`` uses most; ``default`` on a tie."""
        return self._language([fold(w) for w in _WORD.findall(text)], default)

    def _language(self, folded: list[str], default: str) -> str:
        best = default if default in self.stop_words else DEFAULT_LANGUAGE
        hits = sum(map(self.stop_words.get(best, frozenset()).__contains__, folded))
        for language, stop in self.stop_words.items():
            count = sum(map(stop.__contains__, folded))
            if count > hits:
                best, hits = language, count
        return best

    def stem(self, word: str, language: str) -> str:
        known = self._stems.setdefault(language, {})
        found = known.get(word)
        if found is None:
            if len(known) > CACHE:
                known.clear()
            stemmer = self._stemmers.get(language)
            folded = fold(word)
            found = stemmer.stemWord(folded) if stemmer else folded
            known[word] = found
        return found

    def analyse(
        self, text: str | None, language: str | None = None, *, default: str = DEFAULT_LANGUAGE
    ) -> tuple[list[str], list[str]]:
        """The tokens of ``text`` and, for each, its stem ("" for a stop word or a single
        letter). Without ``language``, the text's own (:meth:`language_of`, ``default``
        on a tie)."""
        tokens = _WORD.findall(text or "")
        keys = self._keys
        if len(keys) > CACHE:
            keys.clear()
        folded = [keys.get(t) or keys.setdefault(t, fold(t)) for t in tokens]
        language = language or self._language(folded, default)
        stop = self.stop_words.get(language, frozenset())
        stems = self._stems.setdefault(language, {})
        roots = []
        for surface, key in zip(tokens, folded, strict=True):
            if len(surface) < 2 or key in stop:
                roots.append("")
                continue
            root = stems.get(surface) or self.stem(surface, language)
            roots.append(root if len(root) >= 2 else "")
        return tokens, roots

    def words(
        self, text: str | None, language: str | None = None, *, default: str = DEFAULT_LANGUAGE
    ) -> list[Word]:
        """Every word of ``text`` (letters only, two or more), in order."""
        tokens, roots = self.analyse(text, language, default=default)
        return [
            Word(surface, root, position, not root)
            for position, (surface, root) in enumerate(zip(tokens, roots, strict=True))
            if len(surface) >= 2
        ]

    def stems(
        self, text: str | None, language: str | None = None, *, default: str = DEFAULT_LANGUAGE
    ) -> list[str]:
        """The stems of the words that carry meaning, in order (repeats kept)."""
        return [root for root in self.analyse(text, language, default=default)[1] if root]

    def keywords(
        self, text: str | None, language: str | None = None, *, default: str = DEFAULT_LANGUAGE
    ) -> set[str]:
        return set(self.stems(text, language, default=default))

    def shared(
        self,
        text: str | None,
        other: str | None,
        language: str | None = None,
        *,
        default: str = DEFAULT_LANGUAGE,
    ) -> list[str]:
        """What ``text`` and ``other`` have in common, as phrases of ``text``'s own words.

        Consecutive shared words stay together ("water point maps"), so a reason reads
        like the members wrote it; each phrase is lower-cased and given once.
        """
        common = self.keywords(other, language, default=default)
        text = text or ""
        _, roots = self.analyse(text, language, default=default)
        phrases: list[str] = []
        run: list[str] = []
        end = 0
        for match, root in zip(_WORD.finditer(text), roots, strict=True):
            # A comma or a full stop ends a phrase, as a stop word does.
            if run and (text[end : match.start()].strip() or root not in common):
                phrases.append(" ".join(run).lower())
                run = []
            if root and root in common:
                run.append(match.group())
            end = match.end()
        if run:
            phrases.append(" ".join(run).lower())
        return list(dict.fromkeys(phrases))


@cache
def default() -> TextModel:
    """The model of Indaba's own ``prompts/``, loaded once per process."""
    return TextModel(PROMPTS_DIR)
