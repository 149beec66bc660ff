"""EC2 Image Builder pipeline baking the worker AMI (phase 2 of a deployment).

The component installs the X-Ray daemon, auto-lambda in its own venv and python3.10-3.14
(so local verify can run every Lambda Python runtime); the recipe starts from Amazon Linux
2023. The pipeline has no schedule: run it after a release, then deploy again with
``-c worker_ami_id=ami-...`` (see docs/deploy-aws.md). Component and recipe versions are
derived from the install script, so a changed script yields new versions instead of a
failed in-place update (Image Builder versions are immutable).
"""

from __future__ import annotations

import hashlib
import json

from aws_cdk import Aws
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_imagebuilder as imagebuilder
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import scripts
from .iam import read_objects
from .names import Names
from .params import Params


def component_document(package: str) -> str:
    """The component's YAML (JSON is valid YAML): build, then check what was built."""
    build = "\n".join([*scripts.base_install(package), scripts.install_runtime_pythons()])
    checks = "\n".join(
        [
            "set -euxo pipefail",
            f"{scripts.VENV}/bin/auto-lambda --help",
            *[f"/usr/local/bin/python{v} --version" for v in scripts.RUNTIME_PYTHONS],
            "rpm -q xray",
        ]
    )
    document = {
        "schemaVersion": 1.0,
        "description": "auto-lambda worker: X-Ray daemon, auto-lambda, python3.10-3.14",
        "phases": [
            {
                "name": "build",
                "steps": [
                    {"name": "Install", "action": "ExecuteBash", "inputs": {"commands": [build]}}
                ],
            },
            {
                "name": "validate",
                "steps": [
                    {"name": "Check", "action": "ExecuteBash", "inputs": {"commands": [checks]}}
                ],
            },
        ],
    }
    return json.dumps(document, indent=2)


def content_version(document: str) -> str:
    """A semantic version that changes whenever the document does."""
    digest = int(hashlib.sha256(document.encode()).hexdigest()[:6], 16)
    return f"1.0.{digest}"


class WorkerImagePipeline(Construct):
    """Component, recipe, infrastructure configuration, distribution and pipeline."""

    def __init__(
        self, scope: Construct, construct_id: str, *, names: Names, params: Params,
        subnet: ec2.ISubnet, security_group: ec2.ISecurityGroup, artifacts: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        document = component_document(params.auto_lambda_package)
        version = content_version(document)
        self.component = imagebuilder.CfnComponent(
            self,
            "Component",
            name=f"{names.prefix}-worker",
            platform="Linux",
            version=version,
            data=document,
            description="Installs auto-lambda, the X-Ray daemon and python3.10-3.14",
        )
        self.recipe = imagebuilder.CfnImageRecipe(
            self,
            "Recipe",
            name=f"{names.prefix}-worker",
            version=version,
            parent_image=(
                f"arn:{Aws.PARTITION}:imagebuilder:{Aws.REGION}:aws:image/"
                "amazon-linux-2023-x86/x.x.x"
            ),
            components=[
                imagebuilder.CfnImageRecipe.ComponentConfigurationProperty(
                    component_arn=self.component.attr_arn
                )
            ],
            block_device_mappings=[
                imagebuilder.CfnImageRecipe.InstanceBlockDeviceMappingProperty(
                    device_name="/dev/xvda",
                    ebs=imagebuilder.CfnImageRecipe.EbsInstanceBlockDeviceSpecificationProperty(
                        encrypted=True, volume_size=30, volume_type="gp3",
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        role = iam.Role(
            self,
            "BuildRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="Instances Image Builder launches to bake the auto-lambda worker AMI",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "EC2InstanceProfileForImageBuilder"
                ),
                iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore"),
            ],
        )
        # auto_lambda_package may be an s3:// wheel in the artifacts bucket.
        role.add_to_policy(read_objects(artifacts))
        self.role = role
        profile = iam.CfnInstanceProfile(
            self, "BuildInstanceProfile", roles=[role.role_name],
            instance_profile_name=f"{names.prefix}-image-builder",
        )
        infrastructure = imagebuilder.CfnInfrastructureConfiguration(
            self,
            "Infrastructure",
            name=f"{names.prefix}-worker",
            instance_profile_name=profile.ref,
            instance_types=[params.worker_instance_type],
            subnet_id=subnet.subnet_id,
            security_group_ids=[security_group.security_group_id],
            terminate_instance_on_failure=True,
            instance_metadata_options=(
                imagebuilder.CfnInfrastructureConfiguration.InstanceMetadataOptionsProperty(
                    http_tokens="required", http_put_response_hop_limit=1
                )
            ),
        )
        distribution = imagebuilder.CfnDistributionConfiguration(
            self,
            "Distribution",
            name=f"{names.prefix}-worker",
            distributions=[
                imagebuilder.CfnDistributionConfiguration.DistributionProperty(
                    region=Aws.REGION,
                    ami_distribution_configuration={
                        "Name": f"{names.prefix}-worker-{{{{ imagebuilder:buildDate }}}}",
                        "AmiTags": {"Project": "auto-lambda"},
                    },
                )
            ],
        )
        self.pipeline = imagebuilder.CfnImagePipeline(
            self,
            "Pipeline",
            name=f"{names.prefix}-worker",
            description="Bakes the auto-lambda worker AMI; run it by hand after each release",
            image_recipe_arn=self.recipe.attr_arn,
            infrastructure_configuration_arn=infrastructure.attr_arn,
            distribution_configuration_arn=distribution.attr_arn,
            image_tests_configuration=imagebuilder.CfnImagePipeline.ImageTestsConfigurationProperty(
                image_tests_enabled=True, timeout_minutes=60
            ),
            enhanced_image_metadata_enabled=True,
            status="ENABLED",
        )
