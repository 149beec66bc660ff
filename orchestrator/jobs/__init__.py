"""The job lifecycle: the deployment workflow's declaration (``workflow``), the job
record and its store (``store``), leases and heartbeats, the runner that drives one
job's state machine (``runner``), replay, and the composition of all of these from
settings (``runtime``).

This package decides nothing about *how* a step works (``orchestrator.steps`` does) and
never imports the worker, the checker or the CLI.
"""
