"""Mean and standard deviation of the event's numbers, computed with numpy."""

import numpy as np


def handler(event, context):
    values = np.asarray(event.get("numbers", []), dtype=float)
    if values.size == 0:
        return {"count": 0, "mean": None, "std": None, "numpy": np.__version__ >= "2"}
    return {"count": int(values.size), "mean": float(values.mean()),
            "std": float(values.std()), "numpy": np.__version__ >= "2"}
