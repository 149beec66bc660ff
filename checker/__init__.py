"""checker: keeps the worker group's size in step with the jobs queue.

- ``metric``: the checker loop (``auto-lambda checker``) that polls the queue and the
  worker group and publishes high-resolution ``BacklogPerSlot`` to CloudWatch.
- ``rule`` / ``direct``: the target-tracking rule and the direct control rule, pure.
- ``controller``: ``checker --control direct``, which sets the group's desired capacity
  from the backlog each tick (target tracking stays as the fallback).

The local autoscaler (what EC2 Auto Scaling does, done for local worker processes) and
the scaling simulator use these rules; they are development tools (``auto_lambda_dev``),
not part of the checker's install.

Nothing here decides anything about jobs themselves; the checker only reads the queue,
the group and the job table, and writes metrics and the group's desired capacity.
"""
