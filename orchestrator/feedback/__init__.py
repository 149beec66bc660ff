"""Telling a team what happened to its upload: the result object, the events on
EventBridge, and the webhooks fed from them (docs/results.md).

``schema`` is what the documents say (pure), ``publish`` writes them, ``signing`` and
``webhooks`` deliver events to the operator's webhooks. Nothing here changes a job.
"""
