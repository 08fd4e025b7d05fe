"""Which notes on a Visma order give a parcel number, and what carrier and page go with it."""

from __future__ import annotations

import pytest

from integrator.flows.tracking import TrackingSettingInvalid, find_tracking, settings
from shops.clients.types import ErpNote


def _note(subject: str, text: str) -> ErpNote:
    return ErpNote("n1", "order-1", 6, subject, text)


@pytest.mark.parametrize(
    ("subject", "text", "method", "expected"),
    [
        ("Spårning", "00370712345678901234", "PostNord", ("00370712345678901234", "PostNord")),
        ("Lager", "Spårningsnummer: RR123456789SE", "", ("RR123456789SE", "PostNord")),
        ("", "Tracking number JJD00123456789012", "", ("JJD00123456789012", "DHL")),
        ("Kolli", "370438101015432113", "Bring Hemleverans", ("370438101015432113", "Bring")),
        ("", "Sändningsnummer 1234567890 (DB Schenker)", "", ("1234567890", "DB Schenker")),
        ("Kolli", "Via PostNord nr 00370712345678901234", "", ("00370712345678901234", "PostNord")),
    ],
)  # fmt: skip
def test_the_swedish_carriers_numbers_are_found_after_a_keyword(subject, text, method, expected):
    found = find_tracking([_note(subject, text)], method, settings({}))

    assert (found.number, found.carrier) == expected
    assert expected[0] in found.url


def test_a_number_without_a_keyword_is_not_taken_for_a_parcel_number():
    notes = [_note("Kund ringde", "Ring tillbaka på 0701234567, order 100234")]

    assert find_tracking(notes, "PostNord", settings({})) is None


def test_the_newest_note_wins_and_the_pattern_and_pages_can_be_changed():
    notes = [_note("Spårning", "00370700000000000001"), _note("Spårning", "00370700000000000002")]
    custom = settings(
        {
            "tracking": {
                "pattern": r"Paket (?P<number>\d{6})",
                "urls": {"Budbee": "https://example.se/spara/{number}"},
            }
        }
    )

    assert find_tracking(notes, "", settings({})).number == "00370700000000000002"
    found = find_tracking([_note("", "Paket 123456 med Budbee")], "", custom)
    assert (found.number, found.carrier, found.url) == (
        "123456",
        "Budbee",
        "https://example.se/spara/123456",
    )
    with pytest.raises(TrackingSettingInvalid, match="not a valid expression"):
        settings({"tracking": {"pattern": "(unclosed"}})
