"""How uploads become jobs: parsing the S3 events that arrive on the queue
(``events``) and uploading an app zip to the incoming bucket (``submit``).

Intake decides what an upload *is* (bucket, key, pinned version, team); it never runs a
job: that is ``orchestrator.jobs``.
"""
