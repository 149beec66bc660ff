"""Names for the free-form JSON auto-lambda stores and passes along (history events,
execution data, manifest tables, error details, AWS answers kept as they came), so a
signature says which values are JSON documents. Imports nothing of ours.

They are aliases, not checked shapes: a reader indexes a document after checking a
value's type, as it would any parsed JSON. Where a shape is fixed, a dataclass or a
TypedDict says so instead (``steps.data``, ``aws.functions``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# A JSON object (keys are strings, values whatever JSON holds), and one only read.
JsonObject = dict[str, Any]
JsonMapping = Mapping[str, Any]
