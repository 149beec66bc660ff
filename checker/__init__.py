"""checker: keeps the worker group's size in step with the jobs queue.

- ``metric``: the checker loop (``auto-lambda checker``) that polls the queue and the
  worker group and publishes high-resolution ``BacklogPerSlot`` to CloudWatch.
- ``rule`` / ``direct``: the target-tracking rule and the direct control rule, pure.
- ``controller``: ``checker --control direct``, which sets the group's desired capacity
  from the backlog each tick (target tracking stays as the fallback).
- ``autoscaler``: ``LocalAutoscaler``, which does locally what EC2 Auto Scaling does
  (follow the desired capacity, apply target tracking) for worker processes, since the
  emulator never scales groups.
- ``localgroup`` / ``pool`` / ``localloop``: the local-mode pieces ``local up`` wires.
- ``sim``: a discrete-event simulation comparing scaling policies (``auto-lambda simulate``).

Nothing here decides anything about jobs themselves; the checker only reads the queue,
the group and the job table, and writes metrics and the group's desired capacity.
"""
