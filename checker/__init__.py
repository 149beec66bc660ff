"""checker: keeps the worker group's size in step with the jobs queue.

- ``metric``: the checker loop (``auto-lambda checker``) that polls the queue and the
  worker group and publishes high-resolution ``BacklogPerInstance`` to CloudWatch.
- ``autoscaler``: the target-tracking rule as pure functions, and ``LocalAutoscaler``
  which applies it to local worker processes (the emulator never scales groups).
- ``localgroup`` / ``pool`` / ``localloop``: the local-mode pieces ``local up`` wires.
- ``sim``: a discrete-event simulation comparing scaling policies (``auto-lambda simulate``).

Nothing here decides anything about jobs themselves; the checker only reads the queue,
the group and the job table, and writes metrics (and, locally, the group's capacity).
"""
