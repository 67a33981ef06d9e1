"""A French community gets its features in French (key parity: tests/test_languages.py)."""

from __future__ import annotations

from tests.harness import Harness, to


async def test_a_french_community_gets_its_features_in_french(harness: Harness) -> None:
    h = harness
    setup, _ = await h.create_community("Dakar Données", "Africa/Dakar", "fr")
    await h.say("fatima", f"/setup {setup}", "#cop")
    sent = await h.say("awa", "Bonjour", "#cop")
    assert any("Le mur des passions de Dakar Données" in t for t in to(sent, "awa"))
    await h.say("fatima", "/meeting add 2026-11-20 14:00 Rencontre de novembre", "#cop")
    opened = await h.say("fatima", "/agenda open", "#cop")
    assert any("ouvert aux propositions" in t for t in to(opened, "#cop"))
    added = await h.say("awa", "/agenda add Données ouvertes", "#cop")
    assert to(added, "awa") == ["Ajouté comme sujet 1 : Données ouvertes. Merci !"]
    # Wednesday 10:00 in Dakar: the weekly question invitation, in French.
    sent = await h.advance(days=2, hours=4, minutes=5)
    invitation = [s for s in sent if s.message.choices]
    assert len(invitation) == 1
    assert "c'est à vous de poser une question" in invitation[0].message.text
    assert [c.label for c in invitation[0].message.choices] == [
        "Oui, je pose une question",
        "Pas cette semaine",
    ]
