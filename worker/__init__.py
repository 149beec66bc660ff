"""The worker: the process each Auto Scaling instance runs. It long-polls the jobs
queue, hands each message's jobs to the orchestrator, keeps the message and the job's
lease alive while a job runs, and acknowledges a message only when its jobs are
terminal. It never decides a job's state."""
