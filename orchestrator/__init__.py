"""auto-lambda's deployment workflow: steps, AWS facade, job store, tracing, CLI.

The orchestrator declares the deployment workflow with :mod:`states` and supplies the
steps (fetch, unpack, build, deploy, verify). It never decides state changes itself:
only the state machine moves a job.
"""

__version__ = "0.1.0"
