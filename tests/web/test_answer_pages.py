"""A harvest with more answers than a light page holds shows each question's first
answers and links to the rest, one question and one page at a time; nothing is lost."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app.web.views import (
    ANSWERS_PER_PAGE,
    HarvestView,
    MeetingHead,
    QuestionView,
    Quote,
    answer_page,
)


def crowded(members: int, chars: int) -> HarvestView:
    head = MeetingHead(
        1, "M", "meeting", "CoP", "en", datetime(2026, 1, 1, tzinfo=UTC), "UTC", False
    )
    questions = [
        QuestionView(
            n, f"Q{n}", [Quote(f"member {i}", f"{n}:{i}:" + "x" * chars) for i in range(members)]
        )
        for n in (1, 2, 3)
    ]
    return HarvestView(head, questions, [], [], [], [], [], members, members, 100, [], [], [])


def test_a_light_harvest_shows_everything_on_one_page() -> None:
    page = answer_page(crowded(10, 300))
    assert page.more == {} and [len(q.answers) for q in page.questions] == [10, 10, 10]


def test_a_heavy_harvest_is_cut_and_every_answer_is_a_link_away() -> None:
    view = crowded(300, 4000)
    first = answer_page(view)
    assert (
        sum(len(a.text) for q in first.questions for a in q.answers) <= ANSWERS_PER_PAGE + 3 * 4010
    )
    assert first.more == {1: 300, 2: 300, 3: 300}
    seen = []
    one = answer_page(view, 2)
    for number in range(1, one.pages + 1):
        page = answer_page(view, 2, number)
        assert page.page == number
        assert sum(len(a.text) for a in page.questions[0].answers) <= ANSWERS_PER_PAGE + 4010
        seen += page.questions[0].answers
    assert seen == view.questions[1].answers
    assert answer_page(view, 9).questions == []
    assert answer_page(view, 2, 10_000).page == one.pages
