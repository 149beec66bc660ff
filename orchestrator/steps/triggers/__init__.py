"""A function's triggers (function URL, schedules, SQS mappings, HTTP API), always on the
``live`` alias, reconciled with the manifest: ``model`` (what they are), ``plan`` (pure),
``read`` and ``apply`` (the only writer), ``reconcile`` (read, plan, apply, read back)."""
