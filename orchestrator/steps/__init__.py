"""The workflow's tasks, one folder each in the order a job takes them, each with its
``step.py`` (``run(ctx)``) and the modules only it uses: ``fetch``, ``unpack`` (the safe
extraction in ``zipsafe``, the app contract in ``manifest`` and ``smoke``), ``build``
(the package, the requirements as data, uv in its jail, the cache), ``deploy`` (Lambda
through ``aws.functions``), ``verify`` (static checks, the local run, the answer compared) and
``promote``. ``jail`` is the sandbox every program that reads upload content runs in.

Tasks do one thing each and return what they learned; what happens next, retries and
timeouts come from ``orchestrator.jobs.workflow``. Nothing here touches the job store.
"""
