from decimal import Decimal

import pytest

from billing.models import Package

pytestmark = pytest.mark.django_db


def test_it_loads_the_five_packages_exactly_as_the_product_sheet():
    rows = {
        p.code: (p.monthly_fee, p.installation_fee, p.order_quota) for p in Package.objects.all()
    }
    assert rows == {
        "100": (Decimal("295"), Decimal("2200"), 100),
        "200": (Decimal("495"), Decimal("4200"), 200),
        "400": (Decimal("795"), Decimal("6400"), 400),
        "800": (Decimal("1195"), Decimal("8500"), 800),
        "premium": (None, None, None),
    }


@pytest.mark.parametrize(
    "feature, codes_with_it",
    [
        ("order_status", {"200", "400", "800", "premium"}),
        ("stock", {"200", "400", "800", "premium"}),
        ("price_lists", {"400", "800", "premium"}),
        ("multishop", {"400", "800", "premium"}),
        ("plugins", {"800", "premium"}),
        ("key_account_manager", {"premium"}),
    ],
)
def test_it_gives_each_feature_to_the_packages_that_include_it(feature, codes_with_it):
    assert {p.code for p in Package.objects.all() if getattr(p, feature)} == codes_with_it
