"""The ``deploy`` step: ``step.run(ctx)`` and what only it uses."""
