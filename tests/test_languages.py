"""Every language of prompts/ is complete, and members get Indaba in theirs.

The parity tests walk every file and every key of English and require the same in each
language folder: the same placeholders (Jinja variables), the same commands, the same
neutral markup. A key someone adds in English fails here until it is translated.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from jinja2 import meta

from bot.engine import i18n
from bot.engine.texts import Texts
from tests.harness import Harness, to

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
TEXTS = PROMPTS / "texts"
LANGUAGES = sorted(path.name for path in TEXTS.iterdir() if path.is_dir())
TRANSLATIONS = [language for language in LANGUAGES if language != "en"]
ENGLISH_FILES = sorted(path.name for path in (TEXTS / "en").glob("*.yaml"))
COMMAND = re.compile(r"(?<![\w/.:])/[a-z][a-z_]*")
MARKER = re.compile(r"^\s*(#|-|>) ", re.MULTILINE)
_ENV = Texts(PROMPTS).environment


def load(path: Path) -> dict[str, str]:
    return {str(k): str(v) for k, v in (yaml.safe_load(path.read_text("utf-8")) or {}).items()}


def variables(source: str) -> set[str]:
    return set(meta.find_undeclared_variables(_ENV.parse(source)))


def commands(source: str) -> set[str]:
    # Jinja tags hold filter arguments and comparisons, not commands members type.
    text = re.sub(r"\{[{%#].*?[}%#]\}", " ", source, flags=re.DOTALL)
    return set(COMMAND.findall(text))


def markup(source: str) -> tuple[bool, set[str]]:
    return "**" in source, set(MARKER.findall(source))


def test_the_languages_are_the_four_of_the_cops() -> None:
    assert {"en", "fr", "pt", "sw"} <= set(LANGUAGES)
    assert Texts(PROMPTS).languages == LANGUAGES
    assert Texts(PROMPTS).language_names()[:4] == [
        "en (English)",
        "fr (Français)",
        "pt (Português)",
        "sw (Kiswahili)",
    ]


@pytest.mark.parametrize("language", TRANSLATIONS)
@pytest.mark.parametrize("name", ENGLISH_FILES)
def test_every_text_file_has_every_english_key(language: str, name: str) -> None:
    english = load(TEXTS / "en" / name)
    path = TEXTS / language / name
    assert path.exists(), f"{language}/{name} is missing"
    translated = load(path)
    assert sorted(set(english) - set(translated)) == [], f"{language}/{name} lacks these keys"
    assert sorted(set(translated) - set(english)) == [], f"{language}/{name} has keys en lacks"


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_no_text_file_exists_only_in_a_translation(language: str) -> None:
    assert sorted(p.name for p in (TEXTS / language).glob("*.yaml")) == ENGLISH_FILES


@pytest.mark.parametrize("language", TRANSLATIONS)
@pytest.mark.parametrize("name", ENGLISH_FILES)
def test_every_translation_keeps_the_placeholders_commands_and_markup(
    language: str, name: str
) -> None:
    english = load(TEXTS / "en" / name)
    path = TEXTS / language / name
    if not path.exists():
        pytest.skip("reported by the key test")
    wrong: list[str] = []
    for key, source in load(path).items():
        if key not in english:
            continue
        if variables(source) != variables(english[key]):
            wrong.append(
                f"{key}: placeholders {sorted(variables(source))} != {sorted(variables(english[key]))}"
            )
        if commands(source) != commands(english[key]):
            wrong.append(
                f"{key}: commands {sorted(commands(source))} != {sorted(commands(english[key]))}"
            )
        if markup(source) != markup(english[key]):
            wrong.append(f"{key}: markup {markup(source)} != {markup(english[key])}")
    assert wrong == [], f"{language}/{name}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("library", ["questions", "provocations"])
@pytest.mark.parametrize("language", TRANSLATIONS)
def test_every_library_question_is_translated(library: str, language: str) -> None:
    def keys(data: object) -> object:
        if isinstance(data, dict):  # questions: per meeting kind
            return {kind: [entry["key"] for entry in entries] for kind, entries in data.items()}
        assert isinstance(data, list)
        return [entry["key"] for entry in data]

    english = yaml.safe_load((PROMPTS / library / "en.yaml").read_text("utf-8"))
    path = PROMPTS / library / f"{language}.yaml"
    assert path.exists(), f"{library}/{language}.yaml is missing"
    translated = yaml.safe_load(path.read_text("utf-8"))
    assert keys(translated) == keys(english)
    entries = (
        translated
        if isinstance(translated, list)
        else [entry for entries in translated.values() for entry in entries]
    )
    assert all(str(entry["text"]).strip() for entry in entries)


# -- dates, numbers and plurals --------------------------------------------------------

THURSDAY = datetime(2027, 3, 18, 15, 0, tzinfo=ZoneInfo("Africa/Nairobi"))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Thursday 18 March, 15:00"),
        ("fr", "jeudi 18 mars, 15:00"),
        ("pt", "quinta-feira, 18 de março, 15:00"),
        ("sw", "Alhamisi, 18 Machi, 15:00"),
    ],
)
def test_dates_are_written_in_the_language(language: str, expected: str) -> None:
    assert i18n.format_datetime(THURSDAY, language, zone=False) == expected
    assert i18n.format_datetime(THURSDAY, language) == f"{expected} (Nairobi)"


def test_a_date_with_its_year_and_zone() -> None:
    lisbon = THURSDAY.astimezone(ZoneInfo("Europe/Lisbon"))
    assert i18n.format_datetime(lisbon, "pt", year=True) == (
        "quinta-feira, 18 de março de 2027, 12:00 (Lisboa)"
    )
    assert (
        i18n.format_datetime(THURSDAY, "sw", year=True)
        == "Alhamisi, 18 Machi 2027, 15:00 (Nairobi)"
    )


def test_plurals_follow_each_languages_rule() -> None:
    def questions(n: int, language: str) -> str:
        return i18n.plural(n, language, "# question", "# questions")

    # French counts 0 and 1 as singular; English and Portuguese (Mozambique) only 1.
    assert [questions(n, "fr") for n in (0, 1, 2)] == ["0 question", "1 question", "2 questions"]
    assert [questions(n, "en") for n in (0, 1, 2)] == ["0 questions", "1 question", "2 questions"]
    assert questions(0, "pt") == "0 questions"
    assert questions(1500, "fr") == "1\u202f500 questions"
    # Swahili puts the number after the noun: swali 1, maswali 3.
    assert [i18n.plural(n, "sw", "swali #", "maswali #") for n in (1, 3)] == [
        "swali 1",
        "maswali 3",
    ]


def test_templates_format_in_the_language_they_are_rendered_in(tmp_path: Path) -> None:
    for language, text in {
        "en": "{{ when|datetime }} · {{ n|plural('# day', '# days') }}",
        "fr": "{{ when|datetime }} · {{ n|plural('# jour', '# jours') }}",
    }.items():
        (tmp_path / "texts" / language).mkdir(parents=True)
        (tmp_path / "texts" / language / "t.yaml").write_text(f'k: "{text}"\n', "utf-8")
    texts = Texts(tmp_path)
    assert texts.render("k", "fr", when=THURSDAY, n=1) == "jeudi 18 mars, 15:00 (Nairobi) · 1 jour"
    assert texts.render("k", "en", when=THURSDAY, n=0) == (
        "Thursday 18 March, 15:00 (Nairobi) · 0 days"
    )


def test_a_misspelt_timezone_gets_close_names() -> None:
    assert i18n.find_zone("africa/nairobi") == ("Africa/Nairobi", [])
    assert i18n.find_zone("Lisbon") == ("Europe/Lisbon", [])
    found, close = i18n.find_zone("Africa/Nairobbi")
    assert found is None and close[0] == "Africa/Nairobi"


# -- members choosing their language ---------------------------------------------------


@pytest.mark.parametrize(
    ("language", "done"),
    [
        ("pt", "Feito: passo a escrever-lhe em português."),
        ("sw", "Sawa: nitakuandikia kwa Kiswahili."),
        ("fr", "C'est fait : je vous écrirai en français."),
    ],
)
async def test_lang_switches_a_member_to_any_language_of_prompts(
    harness: Harness, language: str, done: str
) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    assert to(await h.say("amina", f"/lang {language}"), "amina") == [done]
    answer = to(await h.say("amina", "/frobnicate"), "amina")[0]
    assert "/frobnicate" in answer and "I don't know" not in answer


async def test_lang_takes_a_languages_own_name_and_names_them_all(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    assert to(await h.say("amina", "/lang Kiswahili"), "amina") == [
        "Sawa: nitakuandikia kwa Kiswahili."
    ]
    wrong = to(await h.say("amina", "/lang de"), "amina")[0]
    for named in ("en (English)", "fr (Français)", "pt (Português)", "sw (Kiswahili)"):
        assert named in wrong
    assert "Kiswahili" in wrong.split(".")[0]  # the current language, named in Swahili


async def test_a_portuguese_member_gets_the_questions_in_portuguese(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    await h.say("amina", "/lang pt")
    await h.say("kwame", "/lang sw")
    await h.say("fatima", "/meeting add 2026-11-19 14:00 Reunião de novembro", "#cop")
    sent = await h.advance(days=10, hours=3)
    # The first question, then whether they will come.
    amina, amina_coming = to(sent, "amina")
    assert "quinta-feira, 19 de novembro, 14:00 (Lagos)" in amina
    assert "3 perguntas curtas" in amina and "**Pergunta 1 de 3**" in amina
    assert "Vai participar" in amina_coming and "1. Sim, vou" in amina_coming
    kwame, kwame_coming = to(sent, "kwame")
    assert "Alhamisi, 19 Novemba, 14:00 (Lagos)" in kwame
    assert "maswali mafupi 3" in kwame and "**Swali 1 kati ya 3**" in kwame
    assert "Je, utahudhuria" in kwame_coming and "3. Labda" in kwame_coming


def test_community_create_takes_exactly_the_languages_of_prompts(
    tmp_path: Path, database_url: str
) -> None:
    from tests.test_cli import db_env, indaba

    env = db_env(tmp_path, database_url)
    assert indaba("db", "upgrade", env=env).returncode == 0
    refused = indaba("community", "create", "X", "-t", "Africa/Maputo", "--language", "de", env=env)
    assert refused.returncode == 2
    assert "en (English), fr (Français), pt (Português), sw (Kiswahili)" in refused.stderr
    made = indaba("community", "create", "Maputo Dados", "-t", "Africa/Maputo", "-l", "pt", env=env)
    assert made.returncode == 0, made.stderr
    assert "Maputo Dados\tAfrica/Maputo\tpt" in indaba("community", "list", env=env).stdout
    wrong = indaba("community", "configure", "Maputo Dados", "--language", "xx", env=env)
    assert wrong.returncode == 2 and "sw (Kiswahili)" in wrong.stderr
