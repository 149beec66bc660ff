"""The IAM door: who the worker is (its account, through STS), the apps' own roles
(create, read back, their inline policies, their permission boundary, delete) and, for
the local stack only, the team boundary policies the CDK stack owns on AWS.

One method per IAM call, typed results; a missing role or policy is ``None`` (IAM's
NoSuchEntity, caught here once); every failure leaves as an ``AwsError`` with its code.
Writes are safe to repeat after a lost answer (``aws.lost_answers``): a create that
finds the role returns what it found (the caller decides whether it is its own), a put
of a policy document is confirmed by reading the document back. Decides nothing about
what a role should hold (``orchestrator.steps.deploy.approle`` does).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.lost_answers import write_or_confirm
from orchestrator.aws.types import BotoClient
from orchestrator.types import JsonMapping, JsonObject

_NOT_FOUND = "NoSuchEntity"
_EXISTS = "EntityAlreadyExists"


@dataclass(frozen=True)
class RoleInfo:
    """What GetRole answers about a role (the fields auto-lambda reads)."""

    name: str
    arn: str
    path: str
    boundary: str | None
    tags: dict[str, str] = field(default_factory=dict)
    trust: JsonObject = field(default_factory=dict)


def _document(raw: Any) -> JsonObject:
    """A policy document as IAM returns it: a dict (boto3 decodes it), or URL-encoded
    JSON text (some endpoints)."""
    if isinstance(raw, dict):
        return raw
    text = unquote(str(raw or ""))
    return dict(json.loads(text)) if text else {}


def _role(raw: JsonMapping) -> RoleInfo:
    boundary = (raw.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    return RoleInfo(name=str(raw["RoleName"]), arn=str(raw["Arn"]),
                    path=str(raw.get("Path") or "/"),
                    boundary=None if boundary is None else str(boundary),
                    tags={str(t["Key"]): str(t["Value"]) for t in raw.get("Tags") or ()},
                    trust=_document(raw.get("AssumeRolePolicyDocument")))


def same_document(a: JsonMapping, b: JsonMapping) -> bool:
    """Two policy documents with the same content (key order aside)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@dataclass(frozen=True)
class Caller:
    """Where the worker's credentials live: the partition and account its ARNs use."""

    partition: str
    account: str


class Roles:
    def __init__(self, client: BotoClient, sts: BotoClient | None = None) -> None:
        self._iam = client
        self._sts = sts
        self._caller: Caller | None = None

    def caller(self) -> Caller:
        """The partition and account of the worker's own identity (STS
        GetCallerIdentity, which needs no permission; asked once per door)."""
        if self._caller is None:
            if self._sts is None:
                raise ValueError("this Roles door was made without an STS client")
            with aws_call("sts.get_caller_identity"):
                arn = str(self._sts.get_caller_identity()["Arn"])
            parts = arn.split(":")
            self._caller = Caller(partition=parts[1], account=parts[4])
        return self._caller

    def arn(self, name: str) -> str:
        """The ARN of role ``name``."""
        with aws_call(f"iam.get_role({name})"):
            return str(self._iam.get_role(RoleName=name)["Role"]["Arn"])

    # ---- reads ----
    def get_role(self, name: str) -> RoleInfo | None:
        try:
            with aws_call(f"iam.get_role({name})"):
                return _role(self._iam.get_role(RoleName=name)["Role"])
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return None
            raise

    def inline_policy(self, role: str, policy: str) -> JsonObject | None:
        """The inline policy's document; None when the role has no such policy."""
        try:
            with aws_call(f"iam.get_role_policy({role}, {policy})"):
                found = self._iam.get_role_policy(RoleName=role, PolicyName=policy)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return None
            raise
        return _document(found.get("PolicyDocument"))

    def inline_policy_names(self, role: str) -> list[str]:
        names: list[str] = []
        with aws_call(f"iam.list_role_policies({role})"):
            for page in self._iam.get_paginator("list_role_policies").paginate(RoleName=role):
                names.extend(str(n) for n in page.get("PolicyNames", ()))
        return names

    def policy_exists(self, arn: str) -> bool:
        try:
            with aws_call(f"iam.get_policy({arn})"):
                self._iam.get_policy(PolicyArn=arn)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True

    # ---- writes ----
    def create_role(self, name: str, *, path: str, trust: JsonMapping,
                    boundary: str, tags: Mapping[str, str], description: str
                    ) -> RoleInfo | None:
        """Create the role with its boundary and tags in the one call (a create whose
        answer was lost leaves it bounded and tagged). None when this call created it;
        the role found instead when it existed already or the outcome was unclear."""
        where = f"iam.create_role({name})"

        def create() -> RoleInfo | None:
            with aws_call(where):
                self._iam.create_role(
                    RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust),
                    PermissionsBoundary=boundary, Description=description[:1000],
                    Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
            return None

        try:
            return write_or_confirm(create, lambda: self.get_role(name), where=where)
        except AwsError as exc:
            if exc.aws_code != _EXISTS:
                raise
            found = self.get_role(name)
            if found is None:  # deleted meanwhile: let the workflow retry
                raise
            return found

    def put_boundary(self, name: str, boundary: str) -> None:
        where = f"iam.put_role_permissions_boundary({name})"

        def confirm() -> bool | None:
            found = self.get_role(name)
            return True if found is not None and found.boundary == boundary else None

        def put() -> bool:
            with aws_call(where):
                self._iam.put_role_permissions_boundary(RoleName=name,
                                                        PermissionsBoundary=boundary)
            return True

        write_or_confirm(put, confirm, where=where)

    def update_trust(self, name: str, trust: JsonMapping) -> None:
        where = f"iam.update_assume_role_policy({name})"

        def confirm() -> bool | None:
            found = self.get_role(name)
            return True if found is not None and same_document(found.trust, trust) else None

        def put() -> bool:
            with aws_call(where):
                self._iam.update_assume_role_policy(RoleName=name,
                                                    PolicyDocument=json.dumps(trust))
            return True

        write_or_confirm(put, confirm, where=where)

    def put_inline_policy(self, role: str, policy: str, document: JsonMapping) -> None:
        where = f"iam.put_role_policy({role}, {policy})"

        def confirm() -> bool | None:
            found = self.inline_policy(role, policy)
            return True if found is not None and same_document(found, document) else None

        def put() -> bool:
            with aws_call(where):
                self._iam.put_role_policy(RoleName=role, PolicyName=policy,
                                          PolicyDocument=json.dumps(document))
            return True

        write_or_confirm(put, confirm, where=where)

    def delete_inline_policy(self, role: str, policy: str) -> bool:
        """False when it was gone already (a repeat after a lost answer finds it so)."""
        try:
            with aws_call(f"iam.delete_role_policy({role}, {policy})"):
                self._iam.delete_role_policy(RoleName=role, PolicyName=policy)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True

    def delete_role(self, name: str) -> bool:
        """Delete the role and its inline policies (no managed policy is ever attached
        to an app's role). False when it was gone already. The caller checks the role
        is its own first."""
        if self.get_role(name) is None:
            return False
        for policy in self.inline_policy_names(name):
            self.delete_inline_policy(name, policy)
        try:
            with aws_call(f"iam.delete_role({name})"):
                self._iam.delete_role(RoleName=name)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True

    def create_policy(self, arn: str, *, name: str, path: str, document: JsonMapping,
                      description: str) -> bool:
        """Create the managed policy ``arn`` (the local stack's stand-in for a team
        boundary the CDK stack makes on AWS). False when it exists already (left as it
        is: a repeat after a lost answer, or another worker's create)."""
        where = f"iam.create_policy({path}{name})"

        def create() -> bool:
            with aws_call(where):
                self._iam.create_policy(PolicyName=name, Path=path,
                                        PolicyDocument=json.dumps(document),
                                        Description=description[:1000])
            return True

        try:
            return write_or_confirm(create, lambda: False if self.policy_exists(arn) else None,
                                    where=where)
        except AwsError as exc:
            if exc.aws_code != _EXISTS:
                raise
            return False
