"""``auto-lambda ui``: a web console over the same store, indexes and AWS facade as the
CLI: jobs live, one job's state diagram and timeline, the fleet's metrics, and replay.

``server`` (HTTP, routing, validation), ``security`` (who may do what), ``data`` (reads
and the two actions), ``views``/``diagram``/``charts``/``html`` (HTML and SVG, pure), and
``static/`` (one stylesheet and one small script, shipped in the package). A
presentation layer like the rest of ``orchestrator.cli``: it decides nothing about jobs.
"""
