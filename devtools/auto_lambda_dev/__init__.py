"""auto-lambda's development tools: everything that runs the pipeline on this machine
instead of on AWS, kept out of the worker's install.

- ``emulator`` (+ ``emulator_speed``): the embedded moto server of local mode.
- ``faultplan`` / ``faultproxy``: the fault proxy ``local up --faults`` puts in front of it.
- ``stack``: the local stack ``local up`` and ``demo`` run (the composition); ``demo`` and
  ``examples``: the demo's logic and the sample apps it zips; ``collector``: the X-Ray
  daemon's stand-in, forwarding the workers' segments to the emulator.
- ``autoscaler`` / ``localgroup`` / ``pool`` / ``localloop``: the local autoscaler, which
  does for worker processes what EC2 Auto Scaling does for instances (the emulator
  never scales a group), and the pieces ``local up`` wires around it.
- ``sim``: a discrete-event simulation comparing scaling policies (``auto-lambda simulate``).

The ``auto-lambda`` CLI loads this package only for those commands and says what to
install when it is missing (``ExtraMissing``). Nothing the worker or the checker runs
imports it (the import contract in the root pyproject.toml).
"""
