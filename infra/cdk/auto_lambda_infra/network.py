"""The VPC the instances live in: public subnets only, no NAT gateway, no inbound traffic.

Instances reach AWS APIs and the package index through the internet gateway (a NAT
gateway would cost more at rest than the whole fleet). The security group allows no
ingress at all: administration goes through Session Manager. Rejected flows are logged
to the log bucket.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .params import Params


def create_network(
    scope: Construct, params: Params, log_bucket: s3.IBucket
) -> tuple[ec2.Vpc, ec2.SecurityGroup]:
    vpc = ec2.Vpc(
        scope,
        "Vpc",
        ip_addresses=ec2.IpAddresses.cidr(params.vpc_cidr),
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
        ],
    )
    vpc.add_flow_log(
        "RejectedFlows",
        destination=ec2.FlowLogDestination.to_s3(log_bucket, "vpc-flow-logs/"),
        traffic_type=ec2.FlowLogTrafficType.REJECT,
    )
    group = ec2.SecurityGroup(
        scope,
        "InstanceSecurityGroup",
        vpc=vpc,
        description="auto-lambda instances: no inbound traffic, outbound to AWS APIs and PyPI",
        allow_all_outbound=True,
    )
    return vpc, group
