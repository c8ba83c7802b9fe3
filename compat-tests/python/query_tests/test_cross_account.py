"""Cross-account access through queue policies (common/cross_account.py), with this suite's
client against the strict server: refusals arrive as the client's AccessDenied error."""
import pytest

import cross_account
from conftest import assert_error, make_client


@pytest.mark.parametrize("check", cross_account.CHECKS, ids=lambda c: c.__name__)
def test_cross_account(strict_endpoint, check):
    check(make_client, strict_endpoint, assert_error)
