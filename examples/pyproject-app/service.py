"""A handler whose dependencies are declared only in pyproject.toml."""

import humanize
from tabulate import tabulate


def handler(event, context):
    rows = [(name, humanize.naturalsize(size)) for name, size in event["files"]]
    total = humanize.naturalsize(sum(size for _name, size in event["files"]))
    return {"total": total, "table": tabulate(rows, tablefmt="plain")}
