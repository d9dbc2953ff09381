"""Where an MO goes when sessions are involved (inbound.store.decide), without a
database: the subscriber's session first, then a session keyword, then keywords."""

from __future__ import annotations

from typing import Any

from rcs_core.inbound.store import Route, Step, decide, session_key


def route(name: str, keyword: str = "", **session: Any) -> Route:
    return Route(name, "4444", keyword, 1, name, 1, "", **session)


SHOP = route("shop")
BANK = route("bank", "balance")
QUIZ = route(
    "quiz", "quiz", session_keyword="play", session_close_keyword="stop", session_seconds=60
)
VOTE = route("vote", "vote", session_keyword="play|vote", session_seconds=60)
ROUTES = [SHOP, BANK, QUIZ, VOTE]
KEY = session_key("+4444", "+79161234567")


def test_a_session_keyword_opens_on_the_first_route_by_name_before_keywords() -> None:
    sessions: dict[tuple[str, str], Route] = {}
    d = decide(ROUTES, sessions, "+4444", "+79161234567", " PLAY balance")
    assert (d.route, d.step, d.forwarded) == (QUIZ, Step.OPENED, True)
    assert sessions == {("4444", "79161234567"): QUIZ}
    assert KEY == ("4444", "79161234567")


def test_in_a_session_any_text_goes_to_it_and_its_close_keyword_ends_it() -> None:
    sessions = {KEY: QUIZ}
    for text in ("balance", "vote", "play", "anything"):
        d = decide(ROUTES, sessions, "4444", "79161234567", text)
        assert (d.route, d.step, d.forwarded) == (QUIZ, Step.IN_SESSION, True)
    closed = decide(ROUTES, sessions, "4444", "79161234567", "Stop!")
    assert (closed.route, closed.step, closed.forwarded) == (QUIZ, Step.CLOSED, False)
    assert sessions == {}
    after = decide(ROUTES, sessions, "4444", "79161234567", "stop")
    assert (after.route, after.step) == (SHOP, Step.NONE)  # outside a session: plain text


def test_a_session_without_a_close_keyword_only_expires() -> None:
    sessions = {KEY: VOTE}
    d = decide(ROUTES, sessions, "4444", "79161234567", "stop")
    assert (d.route, d.step) == (VOTE, Step.IN_SESSION)


def test_without_sessions_keywords_route_as_before() -> None:
    sessions: dict[tuple[str, str], Route] = {}
    assert decide(ROUTES, sessions, "4444", "1", "balance?").route == BANK
    assert decide(ROUTES, sessions, "4444", "1", "quiz").route == QUIZ
    assert decide(ROUTES, sessions, "4444", "1", "hi").route == SHOP
    assert decide(ROUTES, sessions, "5555", "1", "play").route is None
    assert sessions == {}
