"""Types shared by the doors (``orchestrator.aws``): kept apart so a door never imports
the facade that hands it its client."""

from __future__ import annotations

from typing import Any

# A boto3 client: its methods are made at run time from the service model, so there is
# nothing to type them with. Only the doors hold one; what they return is typed.
BotoClient = Any
