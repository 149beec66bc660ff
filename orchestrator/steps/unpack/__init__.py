"""The ``unpack`` step: ``step.run(ctx)`` and what only it uses."""
