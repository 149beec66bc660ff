"""The ``auto-lambda`` command line. Each ``cmd_*.py`` module in this package exposes
``commands``: a list of click commands that ``main`` registers.

The CLI is the composition root: it is the only part of ``orchestrator`` that imports
``worker``, ``checker`` and the development tools (``auto_lambda_dev``: ``local up``,
``demo``, ``simulate``), and the import contract in pyproject.toml enforces it. Commands
import what they use inside their function, for start-up time: every command module is
loaded to build ``--help``, and most commands need neither boto3 nor rich tables.
"""
