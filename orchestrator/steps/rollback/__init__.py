"""The rollback workflow's steps: ``step.choose`` and ``step.repoint``."""
