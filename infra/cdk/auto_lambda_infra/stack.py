"""The auto-lambda stack: composes the modules of this package, in dependency order.

Holds no resource definitions of its own beyond wiring; each concern lives in its module.
cdk-nag acknowledgements are applied by nag.py, not here.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from . import iam as roles
from .boundaries import create_boundaries
from .checker import Checker
from .config_params import configuration_values, publish_configuration
from .feedback import create_feedback
from .image_builder import WorkerImagePipeline
from .instance_logs import create_instance_logs
from .lifecycle import grant_lifecycle
from .names import Names
from .network import create_network
from .params import Params
from .queue import create_queues, notify_on_zip_upload
from .rollouts import grant_rollout_alarms
from .storage import create_buckets
from .table import create_history_table, create_table
from .triggers import create_trigger_roles
from .uploads import create_upload_roles
from .workers import Workers


class AutoLambdaStack(Stack):
    """Everything auto-lambda needs in one account and region."""

    def __init__(
        self, scope: Construct, construct_id: str, *, params: Params, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.params = params
        names = self.names = Names(params.prefix)

        self.buckets = create_buckets(self, names)
        self.queues = create_queues(self, names, params)
        notify_on_zip_upload(self.buckets.incoming, self.queues.jobs)
        self.table = create_table(self, names)
        self.history_table = create_history_table(self, names)
        self.upload_roles = create_upload_roles(self, names, self.buckets.incoming, params.teams)

        self.boundaries = create_boundaries(self, names, params.teams, params.team_services)
        self.worker_role = roles.create_worker_role(
            self, names, self.buckets, self.queues, (self.table, self.history_table),
            [b.managed_policy_arn for b in self.boundaries.values()],
        )
        self.feedback = create_feedback(self, names, self.buckets.logs, self.upload_roles,
                                        self.worker_role, params.event_topic_teams,
                                        params.webhook_teams)
        grant_lifecycle(self.worker_role, names)
        grant_rollout_alarms(self.worker_role, names.prefix)
        self.triggers = create_trigger_roles(self, names, self.worker_role)
        self.checker_role = roles.create_checker_role(
            self, names, self.queues, self.table,
            direct_control=params.scaling_control == "direct",
        )

        self.instance_logs = create_instance_logs(
            self, names, params, (self.worker_role, self.checker_role))
        self.vpc, self.security_group = create_network(self, params, self.buckets.logs)
        self.workers = Workers(
            self, "Workers", names=names, params=params, role=self.worker_role, vpc=self.vpc,
            security_group=self.security_group,
        )
        self.checker = Checker(
            self, "Checker", names=names, params=params, role=self.checker_role, vpc=self.vpc,
            security_group=self.security_group,
        )
        self.image_pipeline = WorkerImagePipeline(
            self, "WorkerImage", names=names, params=params,
            subnet=self.vpc.public_subnets[0], security_group=self.security_group,
            artifacts=self.buckets.artifacts,
        )
        CfnOutput(
            self, "WorkerImagePipelineArn", value=self.image_pipeline.pipeline.attr_arn,
            description="Run it to bake the worker AMI, then deploy with -c worker_ami_id=...",
        )
        CfnOutput(self, "WorkerGroupName", value=self.workers.group.auto_scaling_group_name)
        publish_configuration(
            self,
            names,
            configuration_values(
                names,
                queue_url=self.queues.jobs.queue_url,
                dlq_url=self.queues.dlq.queue_url,
                table=self.table.table_name,
                history_table=self.history_table.table_name,
                incoming_bucket=self.buckets.incoming.bucket_name,
                artifacts_bucket=self.buckets.artifacts.bucket_name,
                scheduler_role_arn=self.triggers.scheduler.role_arn,
                visibility_timeout_seconds=params.visibility_timeout_minutes * 60,
                max_receive_count=params.max_receive_count,
                worker_concurrency=params.worker_concurrency,
            ),
        )
