"""The workflow's tasks, one module each in the order a job takes them: ``fetch``,
``unpack`` (with the safe extraction in ``zipsafe`` and the app contract in
``manifest``), ``build`` (with ``packaging``), ``deploy`` (Lambda through ``aws.functions``),
``verify`` (with ``checks``) and ``promote``.

Tasks do one thing each and return what they learned; what happens next, retries and
timeouts come from ``orchestrator.jobs.workflow``. Nothing here touches the job store.
"""
