"""The AWS rules of common/aws_rules.py (recorded on real SQS), through this suite's client."""
import pytest

import aws_rules
from conftest import assert_error


@pytest.mark.parametrize("rule", aws_rules.RULES, ids=lambda r: r.__name__)
def test_aws_rule(sqs, make_queue, rule):
    rule(sqs, make_queue, assert_error)
