"""Discrete-event simulation (simpy) of the upload queue and the worker group under
different scaling policies, with AWS's control-loop delays modelled explicitly.

- ``workload``: arrival patterns and build-time distributions.
- ``world``: the queue, the instances (launch, boot, warm pool, drain) and the jobs.
- ``signals``: the metric pipelines (built-in SQS metric, the checker's metric).
- ``policies``: target tracking, step scaling, a KEDA-like poller, fixed capacity.
- ``scenarios``, ``costs``, ``runner``, ``present``, ``plot``, ``erlang``.

Simulation only: nothing here talks to AWS (``fit`` helpers take plain numbers).
"""
