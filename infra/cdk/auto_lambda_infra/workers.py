"""The worker Auto Scaling group: scales on AutoLambda/BacklogPerSlot, drains on scale-in,
and optionally keeps a warm pool.

Target tracking follows the checker's high-resolution metric (namespace AutoLambda, metric
BacklogPerSlot, dimension QueueName=<prefix>-jobs) at a 10 s period. With
``scaling_control=direct`` (the default) the checker also sets the desired capacity itself
each tick, and this policy stays as the scale-out fallback (DisableScaleIn). A
termination lifecycle hook holds a terminating instance until its worker has finished or
handed back its jobs (the worker completes the hook; the heartbeat timeout is the
ceiling).

With ``warm_pool_size`` > 0: a warm pool of exactly that many stopped, pre-initialised
instances (MinSize = MaxGroupPreparedCapacity), and a launch lifecycle hook the instance
completes once initialised (entering the pool) and once booted again (leaving it); an
instance that does not within the timeout is abandoned and replaced. Permissions live
in iam.py.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from .fleet import FleetSpec, create_fleet, machine_image
from .names import BACKLOG_METRIC, METRIC_NAMESPACE, Names
from .params import Params

# Accepted periods for high-resolution target tracking are 10, 30 and 60 seconds.
METRIC_PERIOD_SECONDS = 10
WARMUP_SECONDS = 60
# A first boot without the baked AMI installs Python runtimes and may wait for the
# package (install_auto_lambda retries for 30 minutes).
LAUNCH_HOOK_TIMEOUT = Duration.minutes(45)


class Workers(Construct):
    """The worker fleet, its scaling policy and its drain hook."""

    def __init__(
        self, scope: Construct, construct_id: str, *, names: Names, params: Params,
        role: iam.IRole, vpc: ec2.IVpc, security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        spec = FleetSpec(
            name="worker",
            group_name=names.worker_group,
            command="worker",
            instance_type=params.worker_instance_type,
            min_capacity=params.worker_min,
            max_capacity=params.worker_max,
            stop_timeout_seconds=params.drain_timeout_seconds,
            image=machine_image(params),
            with_runtimes=True,
            launch_hook=names.launch_hook if params.warm_pool_size else None,
        )
        self.group = create_fleet(
            self, spec, names, params, role=role, vpc=vpc, security_group=security_group
        )
        self.launch_hook: autoscaling.LifecycleHook | None = None
        self.warm_pool: autoscaling.WarmPool | None = None
        if params.warm_pool_size:
            self.launch_hook = self.group.add_lifecycle_hook(
                "LaunchHook",
                lifecycle_hook_name=names.launch_hook,
                lifecycle_transition=autoscaling.LifecycleTransition.INSTANCE_LAUNCHING,
                heartbeat_timeout=LAUNCH_HOOK_TIMEOUT,
                default_result=autoscaling.DefaultResult.ABANDON,
            )
            self.warm_pool = self.group.add_warm_pool(
                min_size=params.warm_pool_size,
                max_group_prepared_capacity=params.warm_pool_size,
                pool_state=autoscaling.PoolState.STOPPED,
                # Scale-in terminates through the drain hook; a reused instance would
                # be stopped without it.
                reuse_on_scale_in=False,
            )
        cfn_group = self.group.node.default_child
        assert isinstance(cfn_group, autoscaling.CfnAutoScalingGroup)
        cfn_group.default_instance_warmup = WARMUP_SECONDS
        self.drain_hook = self.group.add_lifecycle_hook(
            "DrainHook",
            lifecycle_hook_name=names.drain_hook,
            lifecycle_transition=autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
            heartbeat_timeout=Duration.seconds(params.drain_timeout_seconds),
            default_result=autoscaling.DefaultResult.CONTINUE,
        )
        self.scaling_policy = autoscaling.CfnScalingPolicy(
            self,
            "BacklogTracking",
            auto_scaling_group_name=self.group.auto_scaling_group_name,
            policy_type="TargetTrackingScaling",
            estimated_instance_warmup=WARMUP_SECONDS,
            target_tracking_configuration=autoscaling.CfnScalingPolicy.TargetTrackingConfigurationProperty(
                target_value=float(params.slot_backlog_target),
                # Beside direct control, tracking only adds capacity: scaling in is the
                # controller's (with its window); tracking would undercut it.
                disable_scale_in=params.scaling_control == "direct",
                customized_metric_specification=autoscaling.CfnScalingPolicy.CustomizedMetricSpecificationProperty(
                    metrics=[
                        autoscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty(
                            id="backlog",
                            label="Jobs waiting or running per job slot in service",
                            return_data=True,
                            metric_stat=autoscaling.CfnScalingPolicy.TargetTrackingMetricStatProperty(
                                metric=autoscaling.CfnScalingPolicy.MetricProperty(
                                    namespace=METRIC_NAMESPACE,
                                    metric_name=BACKLOG_METRIC,
                                    dimensions=[
                                        autoscaling.CfnScalingPolicy.MetricDimensionProperty(
                                            name="QueueName", value=names.queue
                                        )
                                    ],
                                ),
                                stat="Average",
                                period=METRIC_PERIOD_SECONDS,
                            ),
                        )
                    ]
                ),
            ),
        )
