"""First contact resolution: repeats on any channel within N days, pending windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from callcenter.reports import ContactFact, FcrFigures, Period, first_contact_resolution

DAY = Period(datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))


def on(day: int, hour: int, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, 0, second, tzinfo=UTC)


CONTACTS = [
    # customer 1 calls, then writes an e-mail 3 days later: repeated
    ContactFact(1, on(2, 10), "call", queue="support", agent_id=5),
    ContactFact(1, on(5, 10), "email"),
    # customer 2's next contact is 7 days and 1 second later: resolved
    ContactFact(2, on(2, 11), "call", queue="sales", agent_id=5),
    ContactFact(2, on(9, 11, 1), "chat"),
    # customer 3 comes back exactly 7 days later: still a repeat
    ContactFact(3, on(2, 12), "call", queue="support", agent_id=6),
    ContactFact(3, on(9, 12), "call", queue="support"),
    # customer 4 never comes back: resolved
    ContactFact(4, on(2, 13), "chat"),
]


def test_repeats_on_any_channel_within_the_window() -> None:
    report = first_contact_resolution(CONTACTS, DAY, days=7, as_of=on(20, 0))
    # in the period: c1 repeated, c2 resolved, c3 repeated, c4 resolved
    assert report.overall == FcrFigures(contacts=4, resolved=2, repeated=2, pending=0, rate=0.5)
    assert report.by_queue == {
        "sales": FcrFigures(1, 1, 0, 0, 1.0),
        "support": FcrFigures(2, 0, 2, 0, 0.0),
    }
    assert report.by_agent == {
        5: FcrFigures(2, 1, 1, 0, 0.5),
        6: FcrFigures(1, 0, 1, 0, 0.0),
    }


def test_open_windows_are_pending_and_out_of_the_rate() -> None:
    report = first_contact_resolution(CONTACTS, DAY, days=7, as_of=on(6, 0))
    # c1's e-mail (5 March) is already known: repeated. The others have no
    # repeat by 6 March (c3's comes on the 9th) and their windows are open.
    assert report.overall == FcrFigures(contacts=4, resolved=0, repeated=1, pending=3, rate=0.0)


def test_a_shorter_window_resolves_sooner() -> None:
    report = first_contact_resolution(CONTACTS, DAY, days=2, as_of=on(6, 0))
    # with 2 days, c1's e-mail after 3 days is no repeat; every window has closed
    assert report.overall == FcrFigures(contacts=4, resolved=4, repeated=0, pending=0, rate=1.0)


def test_no_contacts_no_rate() -> None:
    report = first_contact_resolution([], DAY, as_of=on(20, 0))
    assert report.overall == FcrFigures()
    assert report.as_json()["overall"]["rate"] is None


def test_window_closing_exactly_at_as_of_is_resolved() -> None:
    contacts = [ContactFact(9, on(2, 8), "call")]
    closed = first_contact_resolution(contacts, DAY, days=1, as_of=on(3, 8))
    still_open = first_contact_resolution(
        contacts, DAY, days=1, as_of=on(3, 8) - timedelta(seconds=1)
    )
    assert (closed.overall.resolved, still_open.overall.pending) == (1, 1)
