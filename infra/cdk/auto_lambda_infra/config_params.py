"""SSM parameters under ``/<prefix>/`` that configure auto-lambda on the instances, and the
matching stack outputs.

The instances' config script (scripts.py) turns ``/<prefix>/<name>`` into
``AUTO_LAMBDA_<NAME>`` (``queue-url`` -> ``AUTO_LAMBDA_QUEUE_URL``), the variables
``orchestrator/config.py`` reads. Standard-tier String parameters cost nothing at rest.
Grants nothing: iam.py lets the instance roles read this path.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .names import Names


def publish_configuration(scope: Construct, names: Names, values: dict[str, str]) -> None:
    """One parameter and one output per value; keys are lowercase-hyphenated names."""
    group = Construct(scope, "Config")
    for key, value in values.items():
        construct_id = "".join(part.capitalize() for part in key.split("-"))
        ssm.StringParameter(
            group,
            construct_id,
            parameter_name=f"{names.ssm_path}/{key}",
            string_value=value,
            description=f"auto-lambda configuration: AUTO_LAMBDA_{key.upper().replace('-', '_')}",
        )
        output_id = construct_id
        if scope.node.try_find_child(output_id) is not None:  # e.g. the IncomingBucket itself
            output_id += "Name"
        CfnOutput(scope, output_id, value=value, description=f"{names.ssm_path}/{key}")


def configuration_values(
    names: Names, *, queue_url: str, dlq_url: str, table: str, history_table: str,
    incoming_bucket: str, artifacts_bucket: str, scheduler_role_arn: str,
    visibility_timeout_seconds: int, max_receive_count: int, worker_concurrency: int,
) -> dict[str, str]:
    # The queue's own visibility timeout outlasts any job, for consumers that do not
    # heartbeat; the worker hides each message for a short time and extends it while it
    # works (AUTO_LAMBDA_VISIBILITY_TIMEOUT, left at its default), so a message whose
    # worker died comes back within seconds.
    return {
        "prefix": names.prefix,
        "account": Aws.ACCOUNT_ID,  # the bucket-name suffix
        "queue-url": queue_url,
        "dlq-url": dlq_url,
        "table": table,
        "history-table": history_table,
        "incoming-bucket": incoming_bucket,
        "artifacts-bucket": artifacts_bucket,
        "scheduler-role-arn": scheduler_role_arn,  # schedule triggers invoke live as it
        "queue-visibility-timeout": str(visibility_timeout_seconds),
        "max-receive-count": str(max_receive_count),
        # Jobs each worker runs at once; the checker counts the same job slots.
        "worker-concurrency": str(worker_concurrency),
        "worker-group": names.worker_group,
        "drain-hook": names.drain_hook,
    }
