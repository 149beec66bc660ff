"""The auto-lambda CDK app's constructs: one module per concern, composed in ``stack.py``.

This package must not import any of auto-lambda's runtime packages (states, orchestrator,
worker, checker): the infrastructure keeps its own copy of the resource names in
``names.py`` so it can be synthesized without installing the runtime.
"""
