"""The deletion workflow's steps: ``step.recheck`` ... ``step.unrole``."""
