"""The stack's resources and their key properties, named as docs/architecture.md's contracts
say."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from checker.metric import BACKLOG_PER_SLOT, metric_dimensions
from orchestrator.aws.tables import create_history_table_request, create_table_request
from orchestrator.config import METRIC_NAMESPACE, Settings
from orchestrator.steps.deploy.approle import role_path
from orchestrator.steps.deploy.boundary import boundary_name, boundary_path
from tests.cdk.conftest import Synth
from tests.cdk.helpers import as_list, logical_id, text, user_data

pytestmark = pytest.mark.cdk

PREFIX = "auto-lambda"


def _bucket(synth: Synth, construct: Any) -> dict[str, Any]:
    return synth.resources[logical_id(synth, construct)]["Properties"]


def test_incoming_bucket_is_versioned_encrypted_private_and_logged(synth: Synth) -> None:
    props = _bucket(synth, synth.stack.buckets.incoming)
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True,
        "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    logs = props["LoggingConfiguration"]
    assert logs["DestinationBucketName"] == {"Ref": logical_id(synth, synth.stack.buckets.logs)}
    assert text(props["BucketName"]) == text(
        {"Fn::Join": ["", [f"{PREFIX}-incoming-", {"Ref": "AWS::AccountId"}]]}
    )


def test_artifacts_bucket_is_named_per_account(synth: Synth) -> None:
    props = _bucket(synth, synth.stack.buckets.artifacts)
    assert text(props["BucketName"]) == text(
        {"Fn::Join": ["", [f"{PREFIX}-artifacts-", {"Ref": "AWS::AccountId"}]]}
    )
    assert "BucketEncryption" in props and "LoggingConfiguration" in props


def test_every_bucket_refuses_plain_http(synth: Synth) -> None:
    buckets = synth.of_type("AWS::S3::Bucket")
    tls_only: set[str] = set()
    for policy in synth.of_type("AWS::S3::BucketPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if (statement["Effect"] == "Deny"
                    and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}):
                tls_only.add(policy["Properties"]["Bucket"]["Ref"])
    assert tls_only == set(buckets)


def test_zip_uploads_notify_the_jobs_queue(synth: Synth) -> None:
    queue = logical_id(synth, synth.stack.queues.jobs)
    (notification,) = synth.of_type("Custom::S3BucketNotifications").values()
    props = notification["Properties"]
    assert props["BucketName"] == {"Ref": logical_id(synth, synth.stack.buckets.incoming)}
    configs = props["NotificationConfiguration"]["QueueConfigurations"]
    # an upload deploys; a delete (or a delete marker) starts the app's deletion
    assert sorted(e for c in configs for e in c["Events"]) == [
        "s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    for config in configs:
        assert config["QueueArn"] == {"Fn::GetAtt": [queue, "Arn"]}
        assert config["Filter"]["Key"]["FilterRules"] == [{"Name": "suffix", "Value": ".zip"}]
    # Real S3 (unlike the emulator) needs the queue's permission to send.
    s3_may_send = [
        statement
        for policy in synth.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue} in policy["Properties"]["Queues"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
        and statement.get("Principal") == {"Service": "s3.amazonaws.com"}
    ]
    assert s3_may_send and "sqs:SendMessage" in as_list(s3_may_send[0]["Action"])
    assert "aws:SourceArn" in text(s3_may_send[0]["Condition"])


def test_jobs_queue_outlasts_a_build_and_redrives_to_the_dlq(synth: Synth) -> None:
    jobs = synth.resources[logical_id(synth, synth.stack.queues.jobs)]["Properties"]
    dlq_id = logical_id(synth, synth.stack.queues.dlq)
    dlq = synth.resources[dlq_id]["Properties"]
    assert jobs["QueueName"] == f"{PREFIX}-jobs" and dlq["QueueName"] == f"{PREFIX}-jobs-dlq"
    assert jobs["VisibilityTimeout"] >= 15 * 60 + 60  # a 15-minute build, plus deploy/verify
    assert jobs["ReceiveMessageWaitTimeSeconds"] == 20
    assert jobs["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}, "maxReceiveCount": 100,
    }
    assert jobs["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True


def test_both_queues_refuse_plain_http(synth: Synth) -> None:
    denied: set[str] = set()
    for policy in synth.of_type("AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and "aws:SecureTransport" in text(statement):
                denied.update(q["Ref"] for q in policy["Properties"]["Queues"])
    assert denied == set(synth.of_type("AWS::SQS::Queue"))


def test_jobs_table_is_on_demand_keyed_by_job_id_with_pitr(synth: Synth) -> None:
    # the same layout the job store reads and the local stack creates
    local = create_table_request(f"{PREFIX}-jobs")
    synth.template.has_resource_properties("AWS::DynamoDB::Table", {
        "TableName": local["TableName"],
        "KeySchema": local["KeySchema"],
        "BillingMode": local["BillingMode"],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    })


def test_history_table_is_keyed_by_job_and_event_number_as_the_store_reads_it(
        synth: Synth) -> None:
    local = create_history_table_request(f"{PREFIX}-jobs-history")
    synth.template.has_resource_properties("AWS::DynamoDB::Table", {
        "TableName": local["TableName"],
        "KeySchema": local["KeySchema"],
        "AttributeDefinitions": local["AttributeDefinitions"],
        "BillingMode": local["BillingMode"],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    })


def test_listing_indexes_match_what_the_local_stack_creates(synth: Synth) -> None:
    local = create_table_request(f"{PREFIX}-jobs")
    (table,) = [t for t in synth.of_type("AWS::DynamoDB::Table").values()
                if t["Properties"]["TableName"] == local["TableName"]]
    props = table["Properties"]

    def shape(index: dict) -> tuple:  # type: ignore[type-arg]
        return (index["IndexName"], tuple((k["AttributeName"], k["KeyType"])
                                          for k in index["KeySchema"]),
                index["Projection"]["ProjectionType"],
                tuple(sorted(index["Projection"].get("NonKeyAttributes", []))))

    assert sorted(map(shape, props["GlobalSecondaryIndexes"])) == sorted(
        map(shape, local["GlobalSecondaryIndexes"]))

    def types(definitions: list) -> dict:  # type: ignore[type-arg]
        return {a["AttributeName"]: a["AttributeType"] for a in definitions}

    assert types(props["AttributeDefinitions"]) == types(local["AttributeDefinitions"])


def test_data_outlives_the_stack(synth: Synth) -> None:
    kept = {
        key for key, resource in synth.resources.items()
        if resource.get("DeletionPolicy") == "Retain"
    }
    data = set(synth.of_type("AWS::S3::Bucket")) | set(synth.of_type("AWS::DynamoDB::Table"))
    assert data <= kept


def test_worker_group_scales_on_backlog_per_slot(synth: Synth) -> None:
    group_id = logical_id(synth, synth.stack.workers.group)
    (policy,) = synth.of_type("AWS::AutoScaling::ScalingPolicy").values()
    props = policy["Properties"]
    assert props["AutoScalingGroupName"] == {"Ref": group_id}
    assert props["PolicyType"] == "TargetTrackingScaling"
    tracking = props["TargetTrackingConfiguration"]
    assert tracking["TargetValue"] == 1
    (query,) = tracking["CustomizedMetricSpecification"]["Metrics"]
    stat = query["MetricStat"]
    assert stat["Metric"] == {
        "Namespace": "AutoLambda",
        "MetricName": "BacklogPerSlot",
        "Dimensions": [{"Name": "QueueName", "Value": f"{PREFIX}-jobs"}],
    }
    assert stat["Period"] == 10 and stat["Stat"] == "Average" and query["ReturnData"] is True


def test_scaling_metric_matches_what_the_checker_publishes(synth: Synth) -> None:
    settings = Settings(prefix=PREFIX)
    (policy,) = synth.of_type("AWS::AutoScaling::ScalingPolicy").values()
    spec = policy["Properties"]["TargetTrackingConfiguration"]["CustomizedMetricSpecification"]
    published = spec["Metrics"][0]["MetricStat"]["Metric"]
    assert published["Namespace"] == METRIC_NAMESPACE
    assert published["MetricName"] == BACKLOG_PER_SLOT
    assert published["Dimensions"] == metric_dimensions(settings)


def test_names_match_the_runtime_settings(synth: Synth) -> None:
    settings = Settings(prefix=PREFIX, account_suffix="123456789012")
    names = synth.stack.names
    assert names.queue == settings.queue_name and names.dlq == settings.dlq_name
    assert names.table == settings.table_name
    assert names.history_table == settings.history_table_name
    assert names.app_role_path == role_path(PREFIX)
    assert names.boundary("payments") == boundary_name(PREFIX, "payments")
    assert names.boundary_path == boundary_path(PREFIX)
    assert names.worker_group == settings.worker_group_name
    assert names.incoming_bucket("123456789012") == settings.incoming_bucket
    assert names.artifacts_bucket("123456789012") == settings.artifacts_bucket


def test_worker_group_bounds_warmup_and_drain_hook(synth: Synth) -> None:
    synth.template.has_resource_properties("AWS::AutoScaling::AutoScalingGroup", {
        "AutoScalingGroupName": f"{PREFIX}-workers",
        "MinSize": "1", "MaxSize": "20", "DefaultInstanceWarmup": 60,
    })
    (hook,) = synth.of_type("AWS::AutoScaling::LifecycleHook").values()
    assert hook["Properties"] == {
        "AutoScalingGroupName": {"Ref": logical_id(synth, synth.stack.workers.group)},
        "LifecycleHookName": f"{PREFIX}-worker-drain",
        "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
        "HeartbeatTimeout": 900,
        "DefaultResult": "CONTINUE",
    }


def test_instances_require_imdsv2_have_no_ssh_key_and_encrypted_disks(synth: Synth) -> None:
    templates = synth.of_type("AWS::EC2::LaunchTemplate")
    assert len(templates) == 2
    for template in templates.values():
        data = template["Properties"]["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert "KeyName" not in data
        assert all(m["Ebs"]["Encrypted"] for m in data["BlockDeviceMappings"])
        # Phase one: the latest Amazon Linux 2023 from SSM.
        assert "al2023" in text(data["ImageId"]).lower()
    for group in synth.of_type("AWS::EC2::SecurityGroup").values():
        assert not group["Properties"].get("SecurityGroupIngress")


def test_worker_user_data_installs_configures_and_runs_the_worker(synth: Synth) -> None:
    script = user_data(synth, "Workers")
    assert "pip install" in script and "auto-lambda" in script
    assert "ExecStart=/opt/auto-lambda/bin/auto-lambda worker" in script
    assert "systemctl enable --now auto-lambda-worker.service" in script
    assert "get-parameters-by-path" in script and f"--path /{PREFIX} " in script
    assert "AUTO_LAMBDA_${key}" in script and "AWS_REGION=REF_AWS_Region" in script
    assert "aws-xray-daemon" in script and "systemctl start xray" in script
    assert "python3.14" in script  # every Lambda runtime for local verify


def test_checker_is_one_self_healing_instance_running_the_checker(synth: Synth) -> None:
    group_id = logical_id(synth, synth.stack.checker.group)
    props = synth.resources[group_id]["Properties"]
    assert props["AutoScalingGroupName"] == f"{PREFIX}-checker"
    assert props["MinSize"] == "1" and props["MaxSize"] == "1"
    assert props["HealthCheckType"] == "EC2"
    script = user_data(synth, "Checker")
    assert "ExecStart=/opt/auto-lambda/bin/auto-lambda checker --interval" in script
    assert "Restart=always" in script
    for policy in synth.of_type("AWS::AutoScaling::ScalingPolicy").values():
        assert policy["Properties"]["AutoScalingGroupName"] != {"Ref": group_id}


def test_image_builder_pipeline_bakes_runtimes_xray_and_auto_lambda(synth: Synth) -> None:
    (component,) = synth.of_type("AWS::ImageBuilder::Component").values()
    data = component["Properties"]["Data"]
    for version in ("3.10", "3.11", "3.12", "3.13", "3.14"):
        assert version in data
    assert "aws-xray-daemon" in data and "/opt/auto-lambda/bin/pip install" in data
    (recipe,) = synth.of_type("AWS::ImageBuilder::ImageRecipe").values()
    assert "amazon-linux-2023-x86" in text(recipe["Properties"]["ParentImage"])
    (infra,) = synth.of_type("AWS::ImageBuilder::InfrastructureConfiguration").values()
    assert infra["Properties"]["InstanceMetadataOptions"]["HttpTokens"] == "required"
    (pipeline,) = synth.of_type("AWS::ImageBuilder::ImagePipeline").values()
    refs = text(pipeline["Properties"])
    for kind in ("ImageRecipe", "InfrastructureConfiguration", "DistributionConfiguration"):
        (key,) = synth.of_type(f"AWS::ImageBuilder::{kind}")
        assert key in refs


def test_baked_ami_replaces_the_install_at_boot(baked: Synth) -> None:
    for template in baked.of_type("AWS::EC2::LaunchTemplate").values():
        assert template["Properties"]["LaunchTemplateData"]["ImageId"] == "ami-0123456789abcdef0"
    script = user_data(baked, "Workers")
    # Same user data: each install step is skipped when the AMI already holds its result.
    assert "if [ ! -x /opt/auto-lambda/bin/auto-lambda ]" in script


def test_configuration_is_published_under_the_prefix(synth: Synth) -> None:
    params = {
        p["Properties"]["Name"]: p["Properties"]["Value"]
        for p in synth.of_type("AWS::SSM::Parameter").values()
    }
    for key in ("prefix", "account", "queue-url", "table", "history-table",
                "incoming-bucket", "artifacts-bucket"):
        assert f"/{PREFIX}/{key}" in params
    # the worker's message visibility stays its own short, heartbeat-extended one
    assert f"/{PREFIX}/visibility-timeout" not in params
    assert params[f"/{PREFIX}/prefix"] == PREFIX
    assert params[f"/{PREFIX}/account"] == {"Ref": "AWS::AccountId"}
    # every function runs as its own role: no shared one is published
    assert f"/{PREFIX}/function-role-arn" not in params
    outputs = synth.template.to_json()["Outputs"]
    assert {"QueueUrl", "Table", "IncomingBucketName"} <= set(outputs)


@pytest.mark.parametrize("group", ["Workers", "Checker"])
def test_user_data_is_valid_bash(synth: Synth, group: str) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash to parse with")
    result = subprocess.run(
        [bash, "-n"], input=user_data(synth, group), capture_output=True, text=True,
        check=False, timeout=30,
    )
    assert result.returncode == 0, result.stderr


def test_image_component_commands_are_valid_bash(synth: Synth) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash to parse with")
    (component,) = synth.of_type("AWS::ImageBuilder::Component").values()
    document = json.loads(component["Properties"]["Data"])
    commands = [
        command
        for phase in document["phases"]
        for step in phase["steps"]
        for command in step["inputs"]["commands"]
    ]
    assert len(commands) == 2
    for command in commands:
        result = subprocess.run(
            [bash, "-n"], input=command, capture_output=True, text=True, check=False, timeout=30
        )
        assert result.returncode == 0, result.stderr


def test_the_instances_logs_go_to_a_log_group_with_a_retention(synth: Synth) -> None:
    (group,) = [g for g in synth.of_type("AWS::Logs::LogGroup").values()
                if g["Properties"]["LogGroupName"] == f"/{PREFIX}/instances"]
    assert group["Properties"] == {"LogGroupName": f"/{PREFIX}/instances",
                                   "RetentionInDays": 30}
    assert group["DeletionPolicy"] == "Retain"
    for fleet, service in (("Workers", "worker"), ("Checker", "checker")):
        script = user_data(synth, fleet)
        assert "dnf install -y amazon-cloudwatch-agent" in script
        assert f"StandardOutput=append:/var/log/auto-lambda/{service}.log" in script
        assert f'"file_path": "/var/log/auto-lambda/{service}.log"' in script
        assert f'"log_group_name": "/{PREFIX}/instances"' in script
        assert f'"log_stream_name": "{{instance_id}}/{service}"' in script
        assert "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s" in script
        assert "/etc/logrotate.d/auto-lambda" in script
    (component,) = synth.of_type("AWS::ImageBuilder::Component").values()
    assert "amazon-cloudwatch-agent" in component["Properties"]["Data"]  # baked too


def test_log_retention_is_a_context_value_cloudwatch_accepts() -> None:
    from auto_lambda_infra.params import ContextError, Params

    assert Params.from_context({"log_retention_days": "90"}.get).log_retention_days == 90
    with pytest.raises(ContextError, match="log_retention_days=45"):
        Params.from_context({"log_retention_days": "45"}.get)
