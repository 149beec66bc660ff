"""A pure-Python handler: greets the caller with a greeting from the environment."""

import os


def handler(event, context):
    name = str(event.get("name", "world"))
    greeting = os.environ.get("GREETING", "hello")
    return {"message": f"{greeting} {name}", "letters": len(name)}
