"""Public prices and the per-restore cost model of ours and of the original sample.

Prices: AWS public pricing pages, us-east-1, on-demand, as quoted in issue 8 on
2026-11-28 (Step Functions Standard, Lambda x86, DataSync, DynamoDB on-demand; S3 for the
backups of issue 9). Not re-checked online from here (no network); update them and the
date together.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

PRICES_AS_OF = "2026-11-28"
SFN_STANDARD_PER_TRANSITION = 0.025 / 1_000
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PER_GB_SECOND = 0.0000166667
DATASYNC_EFS_TO_EFS_PER_GB = 0.0125
DYNAMODB_PER_WRITE = 1.25 / 1_000_000
DYNAMODB_PER_READ = 0.25 / 1_000_000
# SageMaker, DataSync and EFS control-plane API calls are not billed per call.

# Backups to S3 (issue 9), same page date. DataSync Basic mode bills every GB it copies
# between AWS storage services alike (EFS to S3 as EFS to EFS); no per-execution fee.
DATASYNC_PER_GB = DATASYNC_EFS_TO_EFS_PER_GB
S3_STORAGE_PER_GB_MONTH = {
    "STANDARD": 0.023,  # first 50 TB
    "STANDARD_IA": 0.0125,  # 30-day minimum, 128 KB minimum billable object size
    "ONEZONE_IA": 0.01,
    "INTELLIGENT_TIERING": 0.023,  # frequent tier; plus $0.0025 per 1,000 objects monitored
    "GLACIER_IR": 0.004,  # 90-day minimum
}
S3_PUT_PER_REQUEST = 0.005 / 1_000
"""PUT, COPY, POST and LIST into S3 Standard (DataSync writes STANDARD)."""
S3_GET_PER_REQUEST = {
    "STANDARD": 0.0004 / 1_000,  # GET, SELECT and all other requests (HEAD included)
    "INTELLIGENT_TIERING": 0.0004 / 1_000,
    "STANDARD_IA": 0.001 / 1_000,
    "ONEZONE_IA": 0.001 / 1_000,
    "GLACIER_IR": 0.01 / 1_000,
}
S3_TRANSITION_PER_REQUEST = {
    "STANDARD_IA": 0.01 / 1_000,  # lifecycle transition requests into the class
    "ONEZONE_IA": 0.01 / 1_000,
    "INTELLIGENT_TIERING": 0.01 / 1_000,
    "GLACIER_IR": 0.02 / 1_000,
}

# The original sample (DESIGN.md section 5), per restore:
SAMPLE_LISTAPPS_INTERVAL_S = 300  # ListApps polled until the user opens Studio
SAMPLE_DATASYNC_POLL_S = 30  # DescribeTaskExecution every 30 s, no timeout
SAMPLE_LAMBDA_MEMORY_MB = 128


@dataclass(frozen=True)
class RestoreCost:
    """What one restore costs, in calls and billed units."""

    transitions: int
    lambda_invocations: int
    lambda_gb_seconds: float
    datasync_calls: int
    sagemaker_calls: int
    dynamodb_writes: int
    dynamodb_reads: int
    gb_copied: float

    def dollars(self) -> float:
        return (
            self.transitions * SFN_STANDARD_PER_TRANSITION
            + self.lambda_invocations * LAMBDA_PER_REQUEST
            + self.lambda_gb_seconds * LAMBDA_PER_GB_SECOND
            + self.gb_copied * DATASYNC_EFS_TO_EFS_PER_GB
            + self.dynamodb_writes * DYNAMODB_PER_WRITE
            + self.dynamodb_reads * DYNAMODB_PER_READ
        )

    def workflow_dollars(self) -> float:
        """Everything but the copy: Step Functions, Lambda and DynamoDB."""
        return self.dollars() - self.gb_copied * DATASYNC_EFS_TO_EFS_PER_GB

    def as_dict(self) -> dict[str, float]:
        return {
            **asdict(self),
            "dollars": self.dollars(),
            "workflow_dollars": self.workflow_dollars(),
        }


def original_sample_cost(
    *,
    transfer_s: float,
    gb: float,
    user_opens_after_s: float = 3600,
    lambda_seconds_per_invocation: float = 0.2,
) -> RestoreCost:
    """The sample's workflow for one restore, counted from its structure.

    Event Lambda (DescribeDomain, DescribeUserProfile, PutItem on the profile and history
    tables) and stream Lambda start the execution; the workflow polls ListApps
    (Task + Choice + Wait) every 300 s until the user opens Studio, creates two EFS
    locations and a task, starts it, polls DescribeTaskExecution (Task + Choice + Wait)
    every 30 s, writes the result back (profile and history tables) and succeeds.
    """
    listapps_polls = max(1, math.ceil(user_opens_after_s / SAMPLE_LISTAPPS_INTERVAL_S))
    describe_polls = max(1, math.ceil(transfer_s / SAMPLE_DATASYNC_POLL_S))
    transitions = 3 * listapps_polls + 4 + 3 * describe_polls + 2 + 1
    invocations = 2
    return RestoreCost(
        transitions=transitions,
        lambda_invocations=invocations,
        lambda_gb_seconds=invocations
        * lambda_seconds_per_invocation
        * SAMPLE_LAMBDA_MEMORY_MB
        / 1024,
        datasync_calls=4 + describe_polls,
        sagemaker_calls=2 + listapps_polls,
        dynamodb_writes=4,
        dynamodb_reads=0,
        gb_copied=gb,
    )


DYNAMODB_WRITE_OPS = {
    "PutItem": 1,
    "UpdateItem": 1,
    "DeleteItem": 1,
    "TransactWriteItems": 4,
}
"""Write units per request. A transaction bills 2 units per item; ours write 2 items."""
DYNAMODB_READ_OPS = {"GetItem": 1, "Query": 1, "Scan": 1, "BatchGetItem": 1}


def dynamodb_units(by_operation: dict[str, int]) -> tuple[int, int]:
    """(write units, read units) from `dynamodb:<Operation>` request counts."""
    writes = reads = 0
    for key, count in by_operation.items():
        service, _, operation = key.partition(":")
        if service != "dynamodb":
            continue
        writes += DYNAMODB_WRITE_OPS.get(operation, 0) * count
        reads += DYNAMODB_READ_OPS.get(operation, 0) * count
    return writes, reads
