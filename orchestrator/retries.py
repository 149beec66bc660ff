"""Every retry budget of auto-lambda, in one place: how often one request may be sent.

Three levels may send a request again, and each owns different failures, so their
budgets never multiply:

- botocore (``BOTOCORE``): throttling, 5xx and network failures inside one call;
  3 retries, so 4 sends, every call (its retry quota, which stops retrying altogether
  once enough calls failed, is lifted).
- a door (``LAMBDA_WRITE``, ``ROLE_PROPAGATION``, ``JOB_WRITE``, ``HISTORY_BATCH``,
  ``QUEUE_SETTLE``): Lambda's ResourceConflictException (an earlier change still being
  applied), Lambda not yet able to assume an app's new role (IAM propagates it), a
  job-table write whose answer was lost, history events DynamoDB left unprocessed, an
  SQS delete or visibility change with an unknown outcome; one budget of sends that
  counts botocore's too.
- the workflow (``WORKFLOW``): a step that failed with a transient code runs again,
  with backoff, until the outage deadline (``OUTAGE_DEADLINE``): outages are ridden out
  by time, not by a count of attempts.

A door counts botocore's sends too (``ResponseMetadata.RetryAttempts``; every send
botocore may have made when it cannot tell) and sends again only while a whole
botocore round still fits the door's budget (``SendBudget.may_send_again``): the door's
loop and botocore share one count instead of nesting. ResourceConflictException is
ridden out in the Lambda door alone: botocore does not retry it, and the workflow
sees it only as ``LambdaUpdateInProgress`` once the door's budget is spent.

``max_sends()`` answers how many times one mutation can be sent at most, end to end;
``tests/unit/test_retries.py`` holds the number. The backoff is a pure function
(``compute_backoff``); randomness is injected. This module makes no calls, sleeps
never, and imports nothing of ours.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["BOTOCORE", "HISTORY_BATCH", "JOB_WRITE", "LAMBDA_CONFLICT", "LAMBDA_SETTLE",
           "LAMBDA_WRITE", "MAX_CRASHES", "MAX_OUTAGE_DEADLINE", "NOTIFY_BACKOFF",
           "NOTIFY_TRIES", "OUTAGE_DEADLINE", "PARK_AFTER", "QUEUE_SETTLE", "REDRIVE_LIMIT",
           "ROLE_PROPAGATION", "ROLE_WAIT", "WEBHOOK_BACKOFF", "WEBHOOK_RECEIVES", "WORKFLOW",
           "Backoff", "BotocoreRetries", "SendBudget", "WorkflowRetry", "compute_backoff",
           "max_sends"]


@dataclass(frozen=True)
class Backoff:
    """Exponential delays: ``base * factor ** (attempt - 1)``, at most ``max_delay``."""

    base: float
    factor: float
    max_delay: float


def compute_backoff(attempt: int, backoff: Backoff, *, jitter: Literal["NONE", "FULL"] = "NONE",
                    rand: Callable[[], float] = random.random) -> float:
    """The delay before retry number ``attempt`` (1 = the first retry). With ``FULL``
    jitter a uniform share of it (``rand()`` in [0, 1), injected for tests)."""
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    delay = min(backoff.max_delay, backoff.base * backoff.factor ** (attempt - 1))
    return delay * rand() if jitter == "FULL" else delay


@dataclass(frozen=True)
class BotocoreRetries:
    """botocore's own retries of one call (its ``retries`` config)."""

    max_attempts: int  # retries after the first send (botocore's legacy name)
    mode: str
    # Standard mode's retry quota turned off (``aws/retry_quota.py``): lost answers at a
    # steady rate drain it and then no call is retried at all; the sends of one call
    # are bounded by ``sends``, and outages by the breakers and the workflow.
    unlimited_quota: bool = True

    @property
    def sends(self) -> int:
        return self.max_attempts + 1

    def config(self, max_attempts: int | None = None) -> dict[str, int | str]:
        """The ``retries`` argument of ``botocore.config.Config``."""
        return {"max_attempts": self.max_attempts if max_attempts is None else max_attempts,
                "mode": self.mode}


@dataclass(frozen=True)
class SendBudget:
    """How often a door may send one request, botocore's sends included."""

    sends: int
    backoff: Backoff | None = None

    def may_send_again(self, sent: int, per_call: int | None = None) -> bool:
        """True while one more call (with every retry botocore may add: ``per_call``
        sends, the policy's unless the client says otherwise) still fits."""
        return sent + (BOTOCORE.sends if per_call is None else per_call) <= self.sends


@dataclass(frozen=True)
class WorkflowRetry:
    """The workflow's Retry clause for transient codes (Step Functions' fields)."""

    max_attempts: int
    interval_seconds: float
    backoff_rate: float
    max_delay_seconds: float
    jitter: Literal["NONE", "FULL"]

    @property
    def runs(self) -> int:
        """How often a step runs at most: once, then once per retry."""
        return self.max_attempts + 1


BOTOCORE = BotocoreRetries(max_attempts=3, mode="standard")

# Lambda refuses a change while an earlier one is applied (ResourceConflictException):
# the door waits 1, 2, 4, 8, 16 s between six calls. botocore never retries a conflict,
# so six conflicts are six sends; the budget leaves room for one botocore round at the
# end, and a call that botocore retried leaves fewer conflict retries.
LAMBDA_CONFLICT = Backoff(base=1.0, factor=2.0, max_delay=16.0)
LAMBDA_CONFLICT_CALLS = 6
LAMBDA_WRITE = SendBudget(sends=LAMBDA_CONFLICT_CALLS - 1 + BOTOCORE.sends,
                          backoff=LAMBDA_CONFLICT)

# A role IAM created moments ago is not yet usable by Lambda everywhere ("The role
# defined for the function cannot be assumed by Lambda", typically for a few seconds up
# to ~10 s): a Lambda create or configuration update that names it waits 1, 2, 4, 8, 8 s
# between six calls (23 s), then fails with RoleNotFound. Counted apart from conflicts
# (as Step Functions counts per retrier): one write is sent at most LAMBDA_WRITE +
# ROLE_PROPAGATION times, never their product.
ROLE_PROPAGATION = Backoff(base=1.0, factor=2.0, max_delay=8.0)
ROLE_PROPAGATION_CALLS = 6
ROLE_WAIT = SendBudget(sends=ROLE_PROPAGATION_CALLS - 1 + BOTOCORE.sends,
                       backoff=ROLE_PROPAGATION)

# A job-table write whose outcome stayed unknown is read back and, if it did not land,
# sent again: four sends when botocore could not retry (every answer lost at once), one
# botocore round when it could.
JOB_WRITE_CALLS = 4
JOB_WRITE = SendBudget(sends=JOB_WRITE_CALLS - 1 + BOTOCORE.sends)
# History events DynamoDB left unprocessed in a batch are put again after a short wait.
HISTORY_BATCH = SendBudget(sends=JOB_WRITE_CALLS + BOTOCORE.sends,
                           backoff=Backoff(base=0.05, factor=2.0, max_delay=0.4))

# An SQS delete or visibility change whose outcome stayed unknown is sent again (a
# repeat of one that landed finds the message gone, which is success): three sends when
# botocore could not retry, one botocore round when it could.
QUEUE_SETTLE_CALLS = 3
QUEUE_SETTLE = SendBudget(sends=QUEUE_SETTLE_CALLS - 1 + BOTOCORE.sends)

# Polling a Lambda function until its change is applied: reads only, never a resend.
LAMBDA_SETTLE = Backoff(base=1.0, factor=2.0, max_delay=10.0)
LAMBDA_SETTLE_TIMEOUT = 300.0

# A transient failure (throttling, 5xx, resets, a service that is down) never ends a job
# by count: the step runs again with capped backoff and full jitter for as long as the
# operator's outage deadline allows (``OUTAGE_DEADLINE``, AUTO_LAMBDA_OUTAGE_DEADLINE;
# the runner then fails the job with AwsUnavailable). The attempts are a backstop only:
# with full jitter a retry waits half the 60 s cap on average, so 2,000 attempts last
# about 16 hours, past any deadline up to ``MAX_OUTAGE_DEADLINE``.
OUTAGE_DEADLINE = 6 * 3600.0
MAX_OUTAGE_DEADLINE = 12 * 3600.0
WORKFLOW = WorkflowRetry(max_attempts=2000, interval_seconds=1, backoff_rate=2.0,
                         max_delay_seconds=60, jitter="FULL")
# A retry due later than this is not waited for in the worker: the job is parked (its
# message handed back with that delay), so a long outage holds no job slot.
PARK_AFTER = 5.0

# The jobs queue's maxReceiveCount: receives before SQS moves a message to the DLQ. A
# last resort only, for a message that breaks workers before it becomes a job: receives
# also count answers lost on their way back and copies seen by two workers at once, and
# a job that crashes its workers is failed by its record's crash count (MAX_CRASHES).
# Kept in step with the CDK stack's ``max_receive_count`` default.
REDRIVE_LIMIT = 100

# A worker that dies in the middle of a step (killed, out of memory, hung past its lease)
# leaves its task to be recorded as timed out and retried by the next worker. The job
# record counts these deaths while the job is in one state; at this many the step is
# failed with WorkerCrashed instead: whatever breaks the workers is in the upload.
# Deaths, not SQS's receive count, decide that a message is poison: receives also count
# answers lost on the way back and messages handed back during an outage.
MAX_CRASHES = 5


# Telling the team a job ended (the result object and the event) is tried this often,
# with this backoff between tries, after the job's state is saved; a notice that still
# fails is logged and the job goes on (its state is already saved). Puts of the same
# object or event are harmless (the event carries a stable id).
NOTIFY_TRIES = 3
NOTIFY_BACKOFF = Backoff(base=0.5, factor=2.0, max_delay=4.0)
# A webhook delivery that failed is received again after this backoff (the message's
# visibility, by receive count), until the webhooks queue's redrive moves it to its
# dead-letter queue after WEBHOOK_RECEIVES receives.
WEBHOOK_BACKOFF = Backoff(base=2.0, factor=2.0, max_delay=300.0)
WEBHOOK_RECEIVES = 8


def max_sends() -> int:
    """How many times one mutation can be sent at most: a Lambda write inside a step
    (the door's budget, each run of the step; the step reruns under the workflow's
    Retry, in practice until the outage deadline ends it), or a job-table write (the
    door's budget; the runner writes outside steps, so the workflow never repeats it),
    whichever is more. Within one run of a step, nothing multiplies: 9 sends, or 18 for
    a write that also waited for a new role to propagate."""
    return max((LAMBDA_WRITE.sends + ROLE_WAIT.sends) * WORKFLOW.runs, JOB_WRITE.sends,
               HISTORY_BATCH.sends, QUEUE_SETTLE.sends, BOTOCORE.sends * WORKFLOW.runs)
