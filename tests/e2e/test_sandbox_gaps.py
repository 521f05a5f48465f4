"""Where the sandbox itself falls short of AWS, found by the end-to-end suite.

Each failed when it was written and now guards the sandbox's fix.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.conftest import Deployed
from tests.e2e.flows import new_domain, recreate, seed, wait_restore


def test_describe_execution_of_a_succeeded_restore_answers(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    """AWS describes every execution; the admin CLI's `--wait` relies on it.

    The workflow state holds DescribeTaskExecution's reply; moto's aws-sdk task kept its
    timestamps as datetime objects, so DescribeExecution failed to JSON-encode the output
    and the sandbox answered HTTP 500 (fixed in sandbox/stepfunctions.py).
    """
    domain = unique("describe")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "lena")
    recreate(deployed, seeded)
    item = wait_restore(deployed, domain, "user", "lena", 2)
    assert item["status"] == "SUCCEEDED", item

    reply = deployed.client("stepfunctions").describe_execution(
        executionArn=item["execution_arn"]
    )

    assert reply["status"] == "SUCCEEDED"
    assert "output" in reply
