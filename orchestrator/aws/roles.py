"""The IAM door: the functions' execution role (its ARN), and the removal of a deleted
app's own role. Creating roles for the local stack is ``orchestrator.aws.resources``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.types import BotoClient

_NOT_FOUND = "NoSuchEntity"


class Roles:
    def __init__(self, client: BotoClient) -> None:
        self._iam = client

    def arn(self, name: str) -> str:
        """The ARN of role ``name``."""
        with aws_call(f"iam.get_role({name})"):
            return str(self._iam.get_role(RoleName=name)["Role"]["Arn"])

    def tags(self, name: str) -> dict[str, str] | None:
        """Role ``name``'s tags; None when there is no such role."""
        try:
            with aws_call(f"iam.list_role_tags({name})"):
                found = self._iam.list_role_tags(RoleName=name)
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return None
            raise
        return {str(t["Key"]): str(t["Value"]) for t in found.get("Tags", [])}

    def delete(self, name: str) -> bool:
        """Delete role ``name`` with its inline policies and detached from its managed
        ones (IAM refuses to delete a role that still has any); False when it was gone
        already. Safe to repeat: each part already gone is skipped."""
        try:
            with aws_call(f"iam.list_role_policies({name})"):
                inline = self._iam.list_role_policies(RoleName=name).get("PolicyNames", [])
            for policy in inline:
                self._gone(f"iam.delete_role_policy({name}/{policy})",
                           partial(self._iam.delete_role_policy, RoleName=name,
                                   PolicyName=policy))
            with aws_call(f"iam.list_attached_role_policies({name})"):
                attached = self._iam.list_attached_role_policies(RoleName=name).get(
                    "AttachedPolicies", [])
            for policy in attached:
                self._gone(f"iam.detach_role_policy({name})",
                           partial(self._iam.detach_role_policy, RoleName=name,
                                   PolicyArn=policy["PolicyArn"]))
            return self._gone(f"iam.delete_role({name})",
                              lambda: self._iam.delete_role(RoleName=name))
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise

    def _gone(self, where: str, call: Callable[[], object]) -> bool:
        try:
            with aws_call(where):
                call()
        except AwsError as exc:
            if exc.aws_code == _NOT_FOUND:
                return False
            raise
        return True
