"""The health lights in plain words: what is wrong and what the merchant can do about it, and
never the raw error, its request or response, or a credential."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from integrator.models import SyncJob
from tests.status import builders
from tests.status.builders import page_text

pytestmark = pytest.mark.django_db

RAW = (
    '{"ErrorCode": 4010, "DeveloperErrorMessage": "token=eyJhbGciOi.SECRET", '
    '"Url": "https://eaccountingapi.vismaonline.com/v2/customerinvoicedrafts"}'
)


@pytest.mark.parametrize(
    "message, needs_merchant, light, words",
    [
        (
            "Visma eEkonomi refused the authorisation (invalid_grant): the merchant must "
            "reconnect.",
            True,
            "Needs your action",
            "Reconnect Visma eEkonomi: the authorisation expired",
        ),
        (
            "Visma eEkonomi answered 403: the order module is not active " + RAW,
            True,
            "Needs your action",
            "Visma eEkonomi refuses access: a module or permission is missing",
        ),
        (
            "Visma eEkonomi answered 429: too many requests " + RAW,
            False,
            "Not working right now",
            "Visma eEkonomi is busy right now You need to do nothing: we try again automatically.",
        ),
        (
            "Visma eEkonomi answered 502: Bad Gateway " + RAW,
            False,
            "Not working right now",
            "Visma eEkonomi does not answer right now",
        ),
        (
            "KeyError: 'VatRate' " + RAW,
            False,
            "Not working right now",
            "We are looking at it. You need to do nothing.",
        ),
    ],
)
def test_it_says_what_is_wrong_and_who_fixes_it(client, message, needs_merchant, light, words):
    world = builders.world("Kaffebönan AB", tag="KAFFE")
    world.erp.record_error(message, needs_merchant=needs_merchant)

    text = page_text(client.get(world.status_url + "?lang=en"))

    assert f"Visma eEkonomi KAFFE bokföring · Accounting system {light}" in text
    assert words in text
    for raw in (
        "ErrorCode",
        "SECRET",
        "eyJhbGciOi",
        "vismaonline.com",
        "KeyError",
        "invalid_grant",
    ):
        assert raw not in text


def test_it_tells_the_merchant_only_what_they_can_act_on_at_the_top(client):
    world = builders.world("Kaffebönan AB", tag="KAFFE")
    world.shop.record_error("Jetshop / Norce answered 503: down for maintenance")
    world.erp.record_error(builders.AUTH_EXPIRED, needs_merchant=True)

    text = page_text(client.get(world.status_url + "?lang=en"))

    top = text.split("Integrations and connections")[0]
    assert "What you can do Reconnect Visma eEkonomi: the authorisation expired" in top
    assert "Jetshop / Norce does not answer right now" not in top
    assert "Jetshop / Norce does not answer right now" in text


def test_it_turns_a_failed_run_into_plain_words(client):
    world = builders.world("Kaffebönan AB", tag="KAFFE")
    at = timezone.now() - datetime.timedelta(minutes=5)
    builders.job(
        world,
        SyncJob.Kind.ORDERS,
        status=SyncJob.Status.FAILED,
        at=at,
        error="Could not connect to Jetshop / Norce " + RAW,
    )

    text = page_text(client.get(world.status_url + "?lang=en"))

    assert "KAFFE Jetshop → Visma: Not working right now" in text
    assert "Jetshop / Norce does not answer right now" in text
    assert "SECRET" not in text and "ErrorCode" not in text


def test_it_shows_a_partly_failed_run_as_mostly_working(client):
    world = builders.world("Kaffebönan AB", tag="KAFFE")
    at = timezone.now() - datetime.timedelta(minutes=5)
    builders.job(
        world,
        SyncJob.Kind.ORDERS,
        status=SyncJob.Status.PARTIAL,
        at=at,
        transferred=9,
        failed=1,
        error="1 item(s) failed",
    )

    text = page_text(client.get(world.status_url + "?lang=en"))

    assert "KAFFE Jetshop → Visma: Mostly working" in text
    assert "Done, except 1 we are looking at" in text


def test_it_shows_a_switched_off_integration_as_off(client):
    world = builders.world("Kaffebönan AB", tag="KAFFE")
    world.integration.enabled = False
    world.integration.save()

    assert "KAFFE Jetshop → Visma: Switched off" in page_text(
        client.get(world.status_url + "?lang=en")
    )
