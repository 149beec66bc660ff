"""The worker's place in its Auto Scaling group: scale-in protection while jobs run, and
the termination lifecycle hook completed once the worker has drained.

Enabled only where it means something: when ``AUTO_LAMBDA_INSTANCE_PROTECTION=on`` (the
instance id then comes from IMDSv2) or when ``AUTO_LAMBDA_INSTANCE_ID`` is set (tests
set it against the emulator). In local mode IMDS is never called. Every AWS call here
is best effort: a failure is logged and never stops a job or the shutdown.

Settings (``orchestrator.config``, from the variables): ``instance_protection``
(``AUTO_LAMBDA_INSTANCE_PROTECTION``, on/off), ``instance_id``
(``AUTO_LAMBDA_INSTANCE_ID``), ``instance_group`` (``AUTO_LAMBDA_WORKER_GROUP``, default
``<prefix>-workers``), ``drain_hook`` (``AUTO_LAMBDA_DRAIN_HOOK``, default
``<prefix>-worker-drain``), ``lifecycle_hook`` (``AUTO_LAMBDA_LIFECYCLE_HOOK``, on/off,
default on).
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from orchestrator.config import Settings

log = logging.getLogger(__name__)

IMDS = "http://169.254.169.254"


def fetch_instance_id(opener: Callable[..., Any] = urllib.request.urlopen,
                      timeout: float = 2.0) -> str:
    """The instance id from IMDSv2 (a session token first, then the metadata)."""
    token_req = urllib.request.Request(
        f"{IMDS}/latest/api/token", method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    with opener(token_req, timeout=timeout) as resp:
        token = resp.read().decode()
    id_req = urllib.request.Request(f"{IMDS}/latest/meta-data/instance-id",
                                    headers={"X-aws-ec2-metadata-token": token})
    with opener(id_req, timeout=timeout) as resp:
        return str(resp.read().decode()).strip()


@dataclass(frozen=True)
class InstanceConfig:
    instance_id: str | None = None
    group_name: str = ""
    drain_hook: str = ""
    protection: bool = False
    lifecycle: bool = True

    @property
    def enabled(self) -> bool:
        return self.instance_id is not None

    @classmethod
    def from_settings(cls, settings: Settings,
                      lookup: Callable[[], str] = fetch_instance_id) -> InstanceConfig:
        instance_id = settings.instance_id
        if instance_id is None and settings.instance_protection:
            if settings.is_local:
                log.warning("instance protection asked for in local mode: IMDS is not "
                            "queried; set AUTO_LAMBDA_INSTANCE_ID to test it")
            else:
                try:
                    instance_id = lookup()
                except Exception as exc:
                    log.warning("no instance id from IMDSv2 (%s): scale-in protection off", exc)
        return cls(
            instance_id=instance_id,
            group_name=settings.instance_group or settings.worker_group_name,
            drain_hook=settings.drain_hook or f"{settings.prefix}-worker-drain",
            protection=instance_id is not None,
            lifecycle=settings.lifecycle_hook,
        )


class ScalingDoor(Protocol):
    """What the guard needs of Auto Scaling (``orchestrator.aws.scaling.Scaling``)."""

    def set_instance_protection(self, group: str, instance_id: str,
                                protected: bool) -> None: ...

    def complete_lifecycle_action(self, hook: str, group: str, instance_id: str) -> None: ...


class ScaleInGuard:
    """Protects the instance from scale-in while at least one job runs; lifts it when
    the worker is idle. ``job_started``/``job_finished`` are called around each message."""

    def __init__(self, autoscaling: Callable[[], ScalingDoor], config: InstanceConfig) -> None:
        self._client = autoscaling
        self.config = config
        self._lock = threading.Lock()
        self._running = 0

    def _set(self, protected: bool) -> None:
        if not self.config.protection or self.config.instance_id is None:
            return
        try:
            self._client().set_instance_protection(self.config.group_name,
                                                   self.config.instance_id, protected)
        except Exception as exc:
            log.warning("could not %s scale-in protection of %s: %s",
                        "set" if protected else "lift", self.config.instance_id, exc)

    def job_started(self) -> None:
        with self._lock:
            self._running += 1
            if self._running == 1:
                self._set(True)

    def job_finished(self) -> None:
        with self._lock:
            self._running = max(0, self._running - 1)
            if self._running == 0:
                self._set(False)

    def complete_termination(self) -> bool:
        """Tell Auto Scaling the drained instance may go (lifecycle action CONTINUE).
        False when not on AWS, disabled, or there was no pending action."""
        cfg = self.config
        if cfg.instance_id is None or not cfg.lifecycle:
            return False
        try:
            self._client().complete_lifecycle_action(cfg.drain_hook, cfg.group_name,
                                                     cfg.instance_id)
        except Exception as exc:
            log.info("no lifecycle action completed for %s (%s): not a scale-in",
                     cfg.instance_id, exc)
            return False
        log.info("lifecycle action of %s completed (CONTINUE)", cfg.instance_id)
        return True
