import logging
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db

from integrator.models import StatusPage
from shops.models import Connection
from tests import factories

pytestmark = pytest.mark.django_db

SECRET = "refresh-token-very-secret-4711"


def _stored_column(pk: int) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials_encrypted FROM shops_connection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_it_never_stores_credentials_in_clear():
    owner = factories.customer()
    conn = factories.connection(owner, "visma", credentials={"refresh_token": SECRET})
    stored = _stored_column(conn.pk)
    assert SECRET not in stored
    assert Connection.objects.get(pk=conn.pk).credentials == {"refresh_token": SECRET}


def test_it_rotates_to_a_new_key_and_still_reads_the_credentials(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIALS_KEYS = [old_key]
    owner = factories.customer()
    conn = factories.connection(owner, "visma", credentials={"refresh_token": SECRET})

    _page, link_token = StatusPage.issue(owner)

    settings.CREDENTIALS_KEYS = [new_key, old_key]
    out = StringIO()
    call_command("rotate_credentials", stdout=out)
    assert "1 connection(s) and 1 status-page link(s)" in out.getvalue()

    settings.CREDENTIALS_KEYS = [new_key]  # the old key is gone: only the rotation saved us
    assert Connection.objects.get(pk=conn.pk).credentials == {"refresh_token": SECRET}
    # status_url can still print the merchant's link, and the link still opens their page.
    printed = StringIO()
    call_command("status_url", customer=owner.pk, stdout=printed)
    assert link_token in printed.getvalue()
    assert StatusPage.objects.find(link_token).customer == owner


def test_it_redacts_secrets_in_log_lines(caplog):
    from shops.redaction import RedactingFilter

    logger = logging.getLogger("tests.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="tests.redaction"):
        logger.info("POST /token refresh_token=%s", SECRET)
        logger.info("Authorization: Bearer abc.def.ghi and %s", {"client_secret": "s3cr3t"})
        logger.info("token response %s %s", 200, {"access_token": "tok-123"})
        logger.info("raw body %s", '{"refresh_token": "raw-456"}')
    text = caplog.text
    for secret in (SECRET, "abc.def.ghi", "s3cr3t", "tok-123", "raw-456"):
        assert secret not in text
    assert "[redacted]" in text
