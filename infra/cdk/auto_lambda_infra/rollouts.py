"""What a canary or linear rollout needs of the worker's role: reading the team alarms
that gate it and creating, reading and deleting auto-lambda's own alarms on the new
version, all named ``<prefix>-*`` (a team's alarms must be ``<prefix>-<team>-...``, which
unpack checks). Traffic hooks need nothing more: they are functions auto-lambda manages,
which the worker may invoke already (iam.py).
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam

ALARM_ACTIONS = ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms",
                 "cloudwatch:DeleteAlarms", "cloudwatch:TagResource"]


def alarm_arn_pattern(prefix: str) -> str:
    return f"arn:aws:cloudwatch:*:*:alarm:{prefix}-*"


def grant_rollout_alarms(role: iam.Role, prefix: str) -> None:
    role.add_to_policy(iam.PolicyStatement(sid="RolloutAlarms", actions=ALARM_ACTIONS,
                                           resources=[alarm_arn_pattern(prefix)]))
