"""The doors of ``orchestrator.aws`` on hand-written fake clients: a missing resource is
None (caught once, in the door), and a write whose every answer is lost is sent no more
often than its budget in ``orchestrator.retries`` allows, however botocore's retries
and the door's resends combine."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from orchestrator.aws.errors import AwsError
from orchestrator.aws.functions import Functions
from orchestrator.aws.jobs_table import JobsTable, VersionMoved
from orchestrator.aws.objects import Objects
from orchestrator.retries import BOTOCORE, JOB_WRITE, QUEUE_SETTLE


def _error(code: str, status: int, retry_attempts: int = 0,
           operation: str = "Call") -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": code},
         "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": retry_attempts}},
        operation)


class MissingLambda:
    def get_function(self, FunctionName: str) -> Any:
        raise _error("ResourceNotFoundException", 404, operation="GetFunction")

    def get_alias(self, FunctionName: str, Name: str) -> Any:
        raise _error("ResourceNotFoundException", 404, operation="GetAlias")


def test_a_missing_function_or_alias_is_none() -> None:
    door = Functions(MissingLambda())
    assert door.function_exists("f") is False
    assert door.get_function("f") is None
    assert door.alias_version("f", "live") is None


def test_other_lambda_failures_keep_their_code() -> None:
    class Denied:
        def get_function(self, FunctionName: str) -> Any:
            raise _error("AccessDeniedException", 403, operation="GetFunction")

    with pytest.raises(AwsError) as exc:
        Functions(Denied()).get_function("f")
    assert exc.value.code == "AwsAccessDenied"


def test_a_missing_object_is_none() -> None:
    class S3:
        def head_object(self, Bucket: str, Key: str) -> Any:
            raise _error("404", 404, operation="HeadObject")

    assert Objects(S3()).head("b", "k") is None


class LosingDynamo:
    """Every put answers 500 after botocore retried it ``retried`` times, and never
    lands; the item keeps the version the writer expects."""

    def __init__(self, retried: int) -> None:
        self.retried = retried
        self.sends = 0

    def put_item(self, **kwargs: Any) -> None:
        self.sends += 1 + self.retried
        raise _error("InternalServerError", 500, self.retried, "PutItem")

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        return {"Item": {"job_id": {"S": "j"}, "version": {"N": "3"},
                         "write_id": {"S": "someone-earlier"}}}


@pytest.mark.parametrize("retried", [0, BOTOCORE.max_attempts])
def test_a_lost_job_write_is_sent_within_its_budget(retried: int) -> None:
    db = LosingDynamo(retried)
    table = JobsTable(db, "jobs", "history")
    with pytest.raises(AwsError) as exc:
        table.put_replacing("j", {"job_id": {"S": "j"}}, expected_version=3, write_id="mine")
    assert exc.value.code == "AwsServerError"
    assert db.sends <= JOB_WRITE.sends
    # without botocore's retries the door resends it itself, as before: four calls
    if retried == 0:
        assert db.sends == JOB_WRITE.sends - BOTOCORE.sends + 1


def test_a_foreign_write_is_reported_with_the_item_found() -> None:
    class Moved(LosingDynamo):
        def get_item(self, **kwargs: Any) -> dict[str, Any]:
            return {"Item": {"job_id": {"S": "j"}, "version": {"N": "4"},
                             "write_id": {"S": "theirs"}}}

    with pytest.raises(VersionMoved) as exc:
        JobsTable(Moved(0), "jobs", "history").put_replacing(
            "j", {"job_id": {"S": "j"}}, expected_version=3, write_id="mine")
    assert exc.value.current is not None and exc.value.current["version"] == {"N": "4"}


def test_budgets_fit_one_botocore_round() -> None:
    for budget in (JOB_WRITE, QUEUE_SETTLE):
        assert budget.may_send_again(0)
        assert not budget.may_send_again(budget.sends - BOTOCORE.sends + 1)


def test_deleting_a_version_that_is_gone_is_done() -> None:
    class Lambda:
        def __init__(self) -> None:
            self.deleted: list[tuple[str, str]] = []

        def delete_function(self, FunctionName: str, Qualifier: str) -> None:
            if (FunctionName, Qualifier) in self.deleted:
                raise _error("ResourceNotFoundException", 404, operation="DeleteFunction")
            self.deleted.append((FunctionName, Qualifier))

    door = Functions(Lambda())
    assert door.delete_version("f", "3") is True
    assert door.delete_version("f", "3") is False
    with pytest.raises(ValueError):
        door.delete_version("f", "$LATEST")
