"""The admin as support staff and account managers use it: every page renders, a failed job tells
what went wrong, retry and cancel work, credentials never show, and the UI speaks Swedish."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse
from stdnum.se import orgnr

from billing.models import Customer, Package, Subscription
from integrator.models import Cursor, Integration, Link, SyncItem, SyncJob
from ledger.models import Payout, PayoutLine, Row, Voucher
from shops.models import Connection
from shops.redaction import redact
from tests import factories

pytestmark = pytest.mark.django_db

ORGANISATION_NUMBER = "556036-0793"
SHOP_SECRETS = {
    "client_id": "shop-client-7Qx",
    "client_secret": "shop-secret-Zk93hQ",
    "refresh_token": "shop-refresh-Ab12Cd",
}
ERP_SECRETS = {"client_id": "visma-client-4Lm", "client_secret": "visma-secret-Pp77"}
BEARER = "eyJhbGciOi.visma-access-token.Xy9"
STOCKHOLM_START = "2026-03-02 09:15:00"  # 08:15 UTC in winter time


@pytest.fixture
def world():
    assert orgnr.is_valid(ORGANISATION_NUMBER)
    customer = factories.customer(
        name="Kaffebönan AB", package_code="400", organisation_number=ORGANISATION_NUMBER
    )
    shop = factories.connection(
        customer, "jetshop", "https://shop.example", credentials=SHOP_SECRETS
    )
    erp = factories.connection(customer, "visma", "https://visma.example", credentials=ERP_SECRETS)
    gateway = factories.connection(customer, "klarna", "https://klarna.example")
    integration = factories.integration(customer, erp, [shop], name="Jetshop → Visma")
    started = datetime.datetime(2026, 3, 2, 8, 15, tzinfo=datetime.UTC)
    failed = SyncJob.objects.create(
        integration=integration,
        kind=SyncJob.Kind.ORDERS,
        status=SyncJob.Status.FAILED,
        trigger=SyncJob.Trigger.SCHEDULE,
        progress_done=2,
        progress_total=3,
        transferred=1,
        failed=1,
        attempts=1,
        started_at=started,
        finished_at=started + datetime.timedelta(seconds=83),
        error="Visma eEkonomi answered 400: the article ART-9 does not exist.",
        error_detail=redact(
            {
                "request": {
                    "method": "POST",
                    "url": "https://visma.example/v2/customerinvoicedrafts",
                    "headers": {"Authorization": f"Bearer {BEARER}"},
                    "body": {"YourReference": "WEB-1-100234"},
                },
                "response": {
                    "status": 400,
                    "body": {"ErrorCode": 4000, "DeveloperErrorMessage": "Article ART-9 missing"},
                },
            }
        ),
    )
    SyncItem.objects.create(
        job=failed, object_type="order", key="100233", outcome="transferred", remote_id="inv-1"
    )
    SyncItem.objects.create(
        job=failed,
        object_type="order",
        key="100234",
        outcome="failed",
        message="Article ART-9 does not exist in the accounting system.",
        detail={"response": {"status": 400, "body": {"ErrorCode": 4000}}},
    )
    Link.objects.create(
        integration=integration,
        entity="order",
        source_connection=shop,
        source_id="100233",
        target_connection=erp,
        target_id="inv-1",
        natural_key="WEB-1-100233",
        state=Link.State.DONE,
    )
    Cursor.objects.create(integration=integration, connection=shop, entity="order", value="100234")
    payout = Payout.objects.create(
        connection=gateway,
        reference="KLARNA-2026-03-01",
        payout_date=datetime.date(2026, 3, 1),
        gross=Decimal("1000.00"),
        fees=Decimal("23.50"),
        net=Decimal("976.50"),
    )
    PayoutLine.objects.create(
        payout=payout,
        line_no=1,
        type=PayoutLine.Type.SALE,
        order_reference="100233",
        currency="SEK",
        gross=Decimal("1000.00"),
        fee=Decimal("23.50"),
        net=Decimal("976.50"),
        raw={"capture_id": "cap-77", "amount": 100000, "purchase_currency": "SEK"},
    )
    voucher = Voucher.objects.create_balanced(
        customer=customer,
        date=datetime.date(2026, 3, 1),
        text="KLARNA-2026-03-01 utbetalning",
        payout=payout,
        rows=[
            Row("1930", Decimal("976.50")),
            Row("6570", Decimal("23.50")),
            Row("1510", Decimal("-1000.00"), "Order 100233"),
        ],
    )
    return {
        "customer": customer,
        "shop": shop,
        "erp": erp,
        "integration": integration,
        "failed": failed,
        "payout": payout,
        "voucher": voucher,
    }


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


OUR_MODELS = [
    Package,
    Customer,
    Subscription,
    Connection,
    Integration,
    SyncJob,
    SyncItem,
    Link,
    Cursor,
    Payout,
    PayoutLine,
    Voucher,
]


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda m: m.__name__)
def test_it_renders_the_list_search_and_every_change_page(admin_client, world, model):
    assert model in admin.site._registry
    assert admin_client.get(_url(model, "changelist")).status_code == 200
    # The search fields are real lookups (a typo there is a 500 only when somebody searches).
    assert admin_client.get(_url(model, "changelist"), {"q": "100233"}).status_code == 200
    objects = list(model.objects.all()[:5])
    assert objects
    for obj in objects:
        assert admin_client.get(_url(model, "change", obj.pk)).status_code == 200
    model_admin = admin.site._registry[model]
    request = admin_client.get(_url(model, "changelist")).wsgi_request
    if model_admin.has_add_permission(request):
        assert admin_client.get(_url(model, "add")).status_code == 200


def test_it_shows_the_error_and_the_redacted_exchange_on_the_failed_job(admin_client, world):
    job = world["failed"]
    html = admin_client.get(
        _url(SyncJob, "change", job.pk), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "the article ART-9 does not exist" in html
    assert "DeveloperErrorMessage" in html and "customerinvoicedrafts" in html
    assert "[redacted]" in html
    assert BEARER not in html and "visma-access-token" not in html
    assert STOCKHOLM_START in html
    assert "0:01:23" in html  # the duration
    # The failed item is on the page with its message; the link to all items of the job too.
    assert "Article ART-9 does not exist in the accounting system." in html
    assert f"?job__id__exact={job.pk}" in html
    assert "Retry this job" in html


def test_it_never_shows_credential_values_only_their_names(admin_client, world):
    shop = world["shop"]
    pages = [
        admin_client.get(_url(Connection, "change", shop.pk)).content.decode(),
        admin_client.get(_url(Connection, "changelist")).content.decode(),
    ]
    for html in pages:
        for value in [*SHOP_SECRETS.values(), *ERP_SECRETS.values(), shop.credentials_encrypted]:
            assert value not in html
    assert "client_id, client_secret, refresh_token" in pages[0]


def _connection_post(shop: Connection, **changes) -> dict:
    return {
        "customer": shop.customer_id,
        "name": shop.name,
        "platform": shop.platform,
        "base_url": shop.base_url,
        "enabled": "on",
        "new_credentials": "",
        **changes,
    }


def test_it_replaces_credentials_from_the_write_only_field(admin_client, world):
    shop = world["shop"]
    new = {"client_id": "new-id-1", "client_secret": "new-secret-2"}

    response = admin_client.post(
        _url(Connection, "change", shop.pk), _connection_post(shop, new_credentials=json.dumps(new))
    )
    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.credentials == new
    assert "new-secret-2" not in LogEntry.objects.get().change_message

    # Saving with the field left empty keeps what is stored.
    admin_client.post(_url(Connection, "change", shop.pk), _connection_post(shop, name="Butiken"))
    shop.refresh_from_db()
    assert shop.name == "Butiken" and shop.credentials == new


def test_it_rejects_credentials_that_are_no_json_object_without_echoing_them(admin_client, world):
    shop = world["shop"]
    for bad in ['{"client_secret": "typed-secret-9"', '["typed-secret-9"]']:
        response = admin_client.post(
            _url(Connection, "change", shop.pk),
            _connection_post(shop, new_credentials=bad),
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "errorlist" in html and "typed-secret-9" not in html
    shop.refresh_from_db()
    assert shop.credentials == SHOP_SECRETS


def test_it_retries_a_failed_job_as_a_new_queued_job_and_skips_a_succeeded_one(
    admin_client, world, admin_user
):
    failed = world["failed"]
    succeeded = SyncJob.objects.create(
        integration=world["integration"], kind="stock", status="succeeded", trigger="schedule"
    )
    response = admin_client.post(
        _url(SyncJob, "changelist"),
        {"action": "retry_selected", "_selected_action": [failed.pk, succeeded.pk]},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )

    retry = SyncJob.objects.get(retry_of=failed)
    assert retry.status == SyncJob.Status.QUEUED
    assert retry.trigger == SyncJob.Trigger.RETRY and retry.started_by == admin_user
    assert not SyncJob.objects.filter(retry_of=succeeded).exists()
    shown = [str(m) for m in response.context["messages"]]
    assert f"Job #{failed.pk} retried as job #{retry.pk}." in shown
    assert any(f"Skipped #{succeeded.pk}" in m for m in shown)

    # Both jobs point at each other on their pages.
    old_page = admin_client.get(_url(SyncJob, "change", failed.pk)).content.decode()
    assert _url(SyncJob, "change", retry.pk) in old_page
    new_page = admin_client.get(_url(SyncJob, "change", retry.pk)).content.decode()
    assert _url(SyncJob, "change", failed.pk) in new_page


def test_it_retries_from_the_button_on_the_job_page(admin_client, world):
    failed = world["failed"]
    assert admin_client.get(_url(SyncJob, "retry", failed.pk)).status_code == 405

    response = admin_client.post(_url(SyncJob, "retry", failed.pk))

    retry = SyncJob.objects.get(retry_of=failed)
    assert response.status_code == 302 and response.url == _url(SyncJob, "change", retry.pk)


def test_it_cancels_a_queued_job_and_leaves_a_finished_one(admin_client, world):
    queued = SyncJob.objects.create(
        integration=world["integration"], kind="stock", trigger="manual"
    )
    failed = world["failed"]

    admin_client.post(
        _url(SyncJob, "changelist"),
        {"action": "cancel_selected", "_selected_action": [queued.pk, failed.pk]},
    )

    queued.refresh_from_db()
    failed.refresh_from_db()
    assert queued.status == SyncJob.Status.CANCELLED and "admin" in queued.error
    assert failed.status == SyncJob.Status.FAILED


def test_it_transfers_orders_now_from_the_integration_list(admin_client, world, admin_user):
    integration = world["integration"]
    data = {"action": "transfer_orders_now", "_selected_action": [integration.pk]}

    admin_client.post(_url(Integration, "changelist"), data)
    response = admin_client.post(_url(Integration, "changelist"), data, follow=True)

    job = SyncJob.objects.get(integration=integration, status=SyncJob.Status.QUEUED)
    assert job.kind == "orders" and job.trigger == "manual" and job.started_by == admin_user
    assert any(f"#{job.pk}" in str(m) for m in response.context["messages"])


def test_it_shows_which_way_each_entity_moves_for_the_flow(admin_client, world):
    html = admin_client.get(
        _url(Integration, "change", world["integration"].pk), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "accounting system → shop" in html and "Stock" in html and "Price lists" in html
    assert "Runs with this package?" in html


def test_it_keeps_the_item_inline_bounded_with_the_failed_ones_first(admin_client, world):
    job = world["failed"]
    SyncItem.objects.bulk_create(
        SyncItem(job=job, object_type="order", key=f"BULK-{n:04d}", outcome="transferred")
        for n in range(250)
    )
    html = admin_client.get(_url(SyncJob, "change", job.pk)).content.decode()
    assert "100234" in html  # the failed one, created after the first transferred one
    assert "BULK-0150" in html and "BULK-0240" not in html


def test_it_finds_a_customer_by_org_number_without_the_dash(admin_client, world):
    html = admin_client.get(_url(Customer, "changelist"), {"q": "5560360793"}).content.decode()
    assert "Kaffebönan AB" in html and "Paket 400" in html


def test_it_shows_money_with_two_decimals_and_the_voucher_balanced(admin_client, world):
    payouts = admin_client.get(_url(Payout, "changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert "976.50" in payouts.content.decode()
    vouchers = admin_client.get(_url(Voucher, "changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert 'alt="True"' in vouchers.content.decode() and "1000.00" in vouchers.content.decode()
    page = admin_client.get(_url(Voucher, "change", world["voucher"].pk), HTTP_ACCEPT_LANGUAGE="sv")
    assert "976,50" in page.content.decode() and "1000,00" in page.content.decode()


def test_it_speaks_swedish_and_english(admin_client, world):
    swedish = admin_client.get(_url(SyncJob, "changelist"), HTTP_ACCEPT_LANGUAGE="sv")
    english = admin_client.get(_url(SyncJob, "changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Synkjobb" in swedish.content.decode() and "Misslyckades" in swedish.content.decode()
    assert "Sync jobs" in english.content.decode() and "Failed" in english.content.decode()
    index = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Kopplingar" in index and "Utbetalningar" in index and "Verifikationer" in index


def test_it_lists_thirty_jobs_in_a_bounded_number_of_queries(
    admin_client, world, admin_user, django_assert_max_num_queries
):
    integrations = [world["integration"]]
    for n in range(2):
        owner = factories.customer(
            name=f"Kund {n} AB", organisation_number=factories.ORGANISATION_NUMBERS[n + 3]
        )
        erp = factories.connection(owner, "visma")
        integrations.append(
            factories.integration(owner, erp, [factories.connection(owner, "shopify")])
        )
    SyncJob.objects.bulk_create(
        SyncJob(
            integration=integrations[n % 3],
            kind="orders",
            status="succeeded",
            trigger="manual",
            started_by=admin_user,
            progress_done=n,
            progress_total=30,
        )
        for n in range(30)
    )
    with django_assert_max_num_queries(10):
        response = admin_client.get(_url(SyncJob, "changelist"))
    assert response.status_code == 200
    assert response.content.decode().count('class="action-select"') == 31


def test_it_lets_staff_with_view_permission_read_jobs_but_not_retry_them(
    client, world, django_user_model
):
    viewer = django_user_model.objects.create_user("tittare", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_syncjob"))
    client.force_login(viewer)
    failed = world["failed"]

    page = client.get(_url(SyncJob, "change", failed.pk), HTTP_ACCEPT_LANGUAGE="en")
    changelist = client.get(_url(SyncJob, "changelist"), HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200 and "the article ART-9" in page.content.decode()
    assert "Retry this job" not in page.content.decode()
    assert "retry_selected" not in changelist.content.decode()
    assert client.post(_url(SyncJob, "retry", failed.pk)).status_code == 403
    assert not SyncJob.objects.filter(retry_of=failed).exists()


def test_it_refuses_a_shop_of_another_customer_in_an_integration(admin_client, world):
    integration, shop = world["integration"], world["shop"]
    other = factories.customer(
        name="Annan Kund AB", organisation_number=factories.ORGANISATION_NUMBERS[4]
    )
    foreign_shop = factories.connection(other, "shopify")
    data = {
        "customer": integration.customer_id,
        "name": integration.name,
        "enabled": "on",
        "flow": integration.flow,
        "order_target": integration.order_target,
        "trigger_statuses": "[]",
        "erp": integration.erp_id,
        "shops": [shop.pk, foreign_shop.pk],
        "options": "{}",
    }

    response = admin_client.post(_url(Integration, "change", integration.pk), data)

    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert list(integration.shops.all()) == [shop]
    data["shops"] = [shop.pk]
    assert admin_client.post(_url(Integration, "change", integration.pk), data).status_code == 302
