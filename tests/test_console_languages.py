"""The console scenario of issue 16: one community, members in four languages and three
timezones; each gets the same step in their language at 09:00 their time."""

from __future__ import annotations

from pathlib import Path

from tests.test_console_scenario import ROOT, run_console

SCRIPT = ROOT / "tests" / "scenarios" / "languages_and_timezones.txt"


def moved(transcript: str, line: str) -> str:
    """What the console printed while ``/clock ...`` moved the clock: up to its ``clock:`` line
    (what is sent on the way is printed before it)."""
    start = transcript.index(f": {line}\n")
    end = transcript.index("  clock: ", start)
    return transcript[start : transcript.index("\n", end)]


def test_four_languages_three_timezones_each_at_their_own_nine(
    tmp_path: Path, database_url: str
) -> None:
    out = run_console(tmp_path, database_url, SCRIPT)
    # /lang and /tz answer in the member's language; a wrong timezone gets close names.
    assert "Sawa: nitakuandikia kwa Kiswahili." in out
    assert "Feito: passo a escrever-lhe em português." in out
    awa = out
    assert "« Africa/Dakkar ». Vouliez-vous dire Africa/Dakar" in awa
    assert "le jeudi 18 mars 2027, 11:00 (Africa/Dakar), dans 17 jours." in awa

    nairobi = moved(out, "/clock 2027-03-11 06:00")
    assert {"@amina", "@baraka"} == {
        w for w in ("@amina", "@baraka", "@joao", "@awa") if f"DM {w}" in nairobi
    }
    assert "is on Thursday 18 March, 14:00 (Nairobi). Your answers to 3 short questions" in nairobi
    assert "Alhamisi, 18 Machi, 14:00 (Nairobi). Majibu yako kwa maswali mafupi 3" in nairobi
    assert "Swali 1 kati ya 3" in nairobi

    maputo = moved(out, "/clock +1h")
    assert "DM @joao" in maputo and "DM @awa" not in maputo
    assert (
        "é quinta-feira, 18 de março, 13:00 (Maputo). As suas respostas a 3 perguntas curtas"
        in maputo
    )
    assert "clock: Thu 11 Mar 2027 07:00 UTC" in maputo

    dakar = moved(out, "/clock +2h")
    assert "DM @awa" in dakar and "DM @joao" not in dakar
    assert "aura lieu le jeudi 18 mars, 11:00 (Dakar). Vos réponses à 3 courtes questions" in dakar
    assert "clock: Thu 11 Mar 2027 09:00 UTC" in dakar
    # Her answer is hers, in French.
    assert "│ Nous avons ouvert nos données budgétaires" in awa
    assert "(pas encore de réponse)" in awa
