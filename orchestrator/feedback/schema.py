"""What auto-lambda tells a team, as data: the result object, the events' detail-types
and their detail schemas (docs/results.md documents the same, and a test compares them).

Version 1 of each schema. Fields are only ever added; a change that would break a reader
gets a new ``schema`` value. ``validate`` checks a document against one of these schemas
(the subset of JSON Schema they use), for the tests and for ``auto-lambda wait``.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from typing import Any

from orchestrator.types import JsonObject

SOURCE = "auto-lambda"
JOB_ENDED = "auto-lambda Job Ended"
ROLLOUT_STEP = "auto-lambda Rollout Step"
DETAIL_TYPES = (JOB_ENDED, ROLLOUT_STEP)

RESULT_SCHEMA_ID = "auto-lambda/result/1"
JOB_ENDED_SCHEMA_ID = "auto-lambda/job-ended/1"
ROLLOUT_STEP_SCHEMA_ID = "auto-lambda/rollout-step/1"

RESULT_SUFFIX = ".result.json"
# How much of the failing step's output a result keeps (the build log has all of it).
OUTPUT_TAIL_CHARS = 2_000
OUTPUT_TAIL_LINES = 30

_STR = {"type": "string"}
_OPT_STR = {"type": ["string", "null"]}
_ERROR = {
    "type": ["object", "null"],
    "required": ["code", "message", "hint", "state"],
    "additionalProperties": False,
    "properties": {"code": _STR, "message": _STR, "hint": _OPT_STR, "state": _OPT_STR},
}
_UPLOAD = {
    "type": "object",
    "required": ["bucket", "key", "version_id", "etag"],
    "additionalProperties": False,
    "properties": {"bucket": _STR, "key": _STR, "version_id": _OPT_STR, "etag": _OPT_STR},
}
_TRIGGER = {
    "type": "object",
    "required": ["type", "url"],
    "additionalProperties": False,
    "properties": {"type": _STR, "url": _STR},
}

# The result object, <team>/<app>.result.json in the results bucket.
RESULT_SCHEMA: JsonObject = {
    "$id": RESULT_SCHEMA_ID,
    "type": "object",
    "additionalProperties": False,
    "required": ["schema", "event_id", "job_id", "workflow", "team", "app", "upload", "state",
                 "status", "ok", "function_arn", "version", "alias", "triggers", "error",
                 "output_tail", "log", "run", "redrive_count", "created_at", "finished_at"],
    "properties": {
        "schema": {"type": "string", "enum": [RESULT_SCHEMA_ID]},
        "event_id": _STR,
        "job_id": _STR,
        "workflow": _STR,
        "team": _OPT_STR,
        "app": _OPT_STR,
        "upload": _UPLOAD,
        "state": _STR,
        "status": {"type": "string", "enum": ["SUCCEEDED", "FAILED"]},
        "ok": {"type": "boolean"},
        "function_arn": _OPT_STR,
        "version": _OPT_STR,
        "alias": _OPT_STR,
        "triggers": {"type": "array", "items": _TRIGGER},
        "error": _ERROR,
        "output_tail": _OPT_STR,
        "log": _OPT_STR,
        "run": {"type": "integer"},
        "redrive_count": {"type": "integer"},
        "created_at": _STR,
        "finished_at": _STR,
    },
}

# The detail of "auto-lambda Job Ended": the result object, and where it is.
JOB_ENDED_SCHEMA: JsonObject = {
    "$id": JOB_ENDED_SCHEMA_ID,
    "type": "object",
    "additionalProperties": False,
    "required": [*(r for r in RESULT_SCHEMA["required"] if r != "schema"), "schema",
                 "result_object"],
    "properties": {
        **RESULT_SCHEMA["properties"],
        "schema": {"type": "string", "enum": [JOB_ENDED_SCHEMA_ID]},
        "result_object": _OPT_STR,
    },
}

# The detail of "auto-lambda Rollout Step": the alias moved (or held) one step.
ROLLOUT_STEP_SCHEMA: JsonObject = {
    "$id": ROLLOUT_STEP_SCHEMA_ID,
    "type": "object",
    "additionalProperties": False,
    "required": ["schema", "event_id", "job_id", "team", "app", "function_arn", "alias",
                 "version", "previous_version", "step", "steps", "weight", "action", "at"],
    "properties": {
        "schema": {"type": "string", "enum": [ROLLOUT_STEP_SCHEMA_ID]},
        "event_id": _STR,
        "job_id": _STR,
        "team": _OPT_STR,
        "app": _OPT_STR,
        "function_arn": _OPT_STR,
        "alias": _STR,
        "version": _STR,
        "previous_version": _OPT_STR,
        "step": {"type": "integer"},
        "steps": {"type": "integer"},
        "weight": {"type": "number"},
        "action": {"type": "string", "enum": ["shifted", "completed", "rolled_back"]},
        "at": _STR,
    },
}

SCHEMAS: dict[str, JsonObject] = {
    RESULT_SCHEMA_ID: RESULT_SCHEMA,
    JOB_ENDED_SCHEMA_ID: JOB_ENDED_SCHEMA,
    ROLLOUT_STEP_SCHEMA_ID: ROLLOUT_STEP_SCHEMA,
}


def result_key(upload_key: str) -> str:
    """``<team>/<app>.result.json`` for upload ``<team>/<app>.zip`` (the upload's key
    with its ``.zip`` swapped, so each team's results sit under its own folder)."""
    stem = upload_key[:-4] if upload_key.lower().endswith(".zip") else upload_key
    return stem + RESULT_SUFFIX


def event_id(*parts: object) -> str:
    """A stable id for one notice: the same parts (job, run, redrive, state) always give
    the same id, so a notice sent twice is recognisably one."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def job_ended_detail(result: JsonObject, result_object: str | None) -> JsonObject:
    """The "auto-lambda Job Ended" detail for a result object written at ``result_object``
    (an s3:// URI, None when it could not be written)."""
    return {**result, "schema": JOB_ENDED_SCHEMA_ID, "result_object": result_object}


def rollout_step_detail(*, job_id: str, team: str | None, app: str | None,
                        function_arn: str | None, version: str,
                        previous_version: str | None, step: int, steps: int, weight: float,
                        action: str, at: str, alias: str = "live") -> JsonObject:
    """The "auto-lambda Rollout Step" detail: step ``step`` of ``steps`` of moving
    ``alias`` from ``previous_version`` to ``version`` (``weight``: the share of
    traffic on ``version`` after it; ``action``: shifted, completed or rolled_back)."""
    return {
        "schema": ROLLOUT_STEP_SCHEMA_ID,
        "event_id": event_id(job_id, "rollout", version, step, action),
        "job_id": job_id, "team": team, "app": app, "function_arn": function_arn,
        "alias": alias, "version": version, "previous_version": previous_version,
        "step": step, "steps": steps, "weight": weight, "action": action, "at": at,
    }


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}


def validate(doc: Any, schema: JsonObject, where: str = "$") -> list[str]:
    """What is wrong with ``doc`` against ``schema`` (type, enum, required,
    properties, additionalProperties, items); empty when it conforms."""
    problems: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        ok = any(isinstance(doc, _TYPES[n]) and not (n in {"integer", "number"}
                 and isinstance(doc, bool)) for n in names)
        if not ok:
            return [f"{where}: {type(doc).__name__} is not {'/'.join(names)}"]
    if "enum" in schema and doc not in schema["enum"]:
        problems.append(f"{where}: {doc!r} is not one of {schema['enum']}")
    if isinstance(doc, dict):
        props = schema.get("properties", {})
        problems += [f"{where}: {name!r} is missing" for name in schema.get("required", [])
                     if name not in doc]
        if schema.get("additionalProperties") is False:
            problems += [f"{where}: {name!r} is not in the schema" for name in doc
                         if name not in props]
        for name, sub in props.items():
            if name in doc:
                problems += validate(doc[name], sub, f"{where}.{name}")
    if isinstance(doc, list) and "items" in schema:
        for i, item in enumerate(doc):
            problems += validate(item, schema["items"], f"{where}[{i}]")
    return problems
