"""The ``auto-lambda`` command line. Each ``cmd_*.py`` module in this package exposes
``commands``: a list of click commands that ``main`` registers.

The CLI is the composition root: it is the only part of ``orchestrator`` that imports
``worker`` and ``checker``, and only inside the commands that need them.
"""
