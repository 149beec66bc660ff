"""Small readers over a synthesized template, shared by the CDK tests."""

from __future__ import annotations

import json
from typing import Any

from tests.cdk.conftest import Synth


def logical_id(synth: Synth, construct: Any) -> str:
    return str(synth.stack.get_logical_id(construct.node.default_child))


def role_statements(synth: Synth, role: Any) -> list[dict[str, Any]]:
    """Every statement of every inline policy attached to ``role``."""
    ref = {"Ref": logical_id(synth, role)}
    statements: list[dict[str, Any]] = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if ref in policy["Properties"].get("Roles", []):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    inline = synth.resources[logical_id(synth, role)]["Properties"].get("Policies", [])
    for policy in inline:
        statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


def policy_statements(synth: Synth, policy: Any) -> list[dict[str, Any]]:
    """The statements of one ``iam.Policy``."""
    found = synth.resources[logical_id(synth, policy)]
    return list(found["Properties"]["PolicyDocument"]["Statement"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions(statement: dict[str, Any]) -> list[str]:
    return [str(a) for a in as_list(statement["Action"])]


def text(value: Any) -> str:
    """A CloudFormation value flattened to text, for 'mentions' checks on Fn::Join."""
    return json.dumps(value, sort_keys=True)


def user_data(synth: Synth, template_construct_path_part: str) -> str:
    """The user-data script of the launch template whose logical id contains the part.

    References (``{"Ref": "AWS::Region"}``) are rendered as ``REF_<name>`` so the script
    stays valid shell text.
    """
    for key, resource in synth.of_type("AWS::EC2::LaunchTemplate").items():
        if template_construct_path_part in key:
            joined = resource["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]
            parts = joined["Fn::Join"][1] if isinstance(joined, dict) else [joined]
            return "".join(p if isinstance(p, str) else _placeholder(p) for p in parts)
    raise KeyError(template_construct_path_part)


def _placeholder(value: Any) -> str:
    name = value.get("Ref") if isinstance(value, dict) else None
    return "REF_" + (str(name).replace("::", "_") if name else "VALUE")
