"""Per-team uploads: one role per team that may write only under ``<team>/`` in the
incoming bucket, and a bucket policy that keeps every team prefix for its own role.

The worker derives a job's team from the key's first folder (``<team>/<app>.zip``; the
bucket root is the ``default`` team), so writing under a prefix is acting as that team.
Each upload role is assumable by principals of this account that IAM allows to assume
it (``<prefix>-upload-<team>``); the bucket policy denies PutObject under ``<team>/`` to
anyone else, and at the root (or under an undeclared folder) to anyone but the default
role, so even an account administrator's broad S3 permission cannot write as a team.
The same holds for deleting: a team may delete its own zips (which removes their apps,
after the grace period) and nobody else's. Creates roles and bucket-policy statements
only; grants the worker nothing.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .names import Names

DEFAULT_TEAM = "default"
# Uploading deploys an app; deleting the zip removes it (the deletion workflow).
WRITE_ACTIONS = ["s3:PutObject", "s3:DeleteObject"]


def _construct_id(team: str) -> str:
    return "Upload" + "".join(part.capitalize() for part in team.split("_"))


def create_upload_roles(scope: Construct, names: Names, bucket: s3.Bucket,
                        teams: tuple[str, ...]) -> dict[str, iam.Role]:
    """``default`` (root uploads) plus one role per declared team."""
    roles: dict[str, iam.Role] = {}
    for team in (DEFAULT_TEAM, *teams):
        role = iam.Role(
            scope, _construct_id(team), role_name=names.upload_role(team),
            assumed_by=iam.AccountRootPrincipal(),
            description=f"Uploads app zips for team {team} to the incoming bucket",
        )
        if team == DEFAULT_TEAM:
            role.add_to_policy(iam.PolicyStatement(
                sid="UploadAtTheRoot", actions=WRITE_ACTIONS,
                resources=[bucket.arn_for_objects("*.zip")]))
            role.add_to_policy(iam.PolicyStatement(
                sid="NotIntoAnyFolder", effect=iam.Effect.DENY, actions=WRITE_ACTIONS,
                resources=[bucket.arn_for_objects("*/*")]))
        else:
            role.add_to_policy(iam.PolicyStatement(
                sid="UploadUnderOwnPrefix", actions=WRITE_ACTIONS,
                resources=[bucket.arn_for_objects(f"{team}/*")]))
        roles[team] = role
    for team, role in roles.items():
        if team == DEFAULT_TEAM:
            continue
        bucket.add_to_resource_policy(iam.PolicyStatement(
            sid=f"OnlyTeam{_construct_id(team)[6:]}WritesItsPrefix", effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()], actions=WRITE_ACTIONS,
            resources=[bucket.arn_for_objects(f"{team}/*")],
            conditions={"ArnNotEquals": {"aws:PrincipalArn": role.role_arn}}))
    bucket.add_to_resource_policy(iam.PolicyStatement(
        sid="OnlyTheDefaultTeamWritesElsewhere", effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()], actions=WRITE_ACTIONS,
        not_resources=[bucket.arn_for_objects(f"{t}/*") for t in teams] or
        [bucket.arn_for_objects("nothing-is-exempt/*")],
        conditions={"ArnNotEquals": {"aws:PrincipalArn": roles[DEFAULT_TEAM].role_arn}}))
    return roles
