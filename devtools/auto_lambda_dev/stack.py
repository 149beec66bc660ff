"""The embedded local stack that ``local up`` and ``demo`` run: a moto server on
127.0.0.1, the pipeline's resources in it, an X-Ray collector, a pool of worker
processes, the stand-in that serves function URLs and HTTP APIs
(``auto_lambda_dev.urlserver``: the emulator records them but never serves them), and
(optionally) the local autoscaler that stands in for Auto Scaling, which the emulator
records but never acts on. The examples' teams get their operator policy
(``examples/team-policy.json``, unless ``AUTO_LAMBDA_TEAM_POLICY`` is set) and the
queue their example names. With ``AUTO_LAMBDA_WEBHOOKS`` set, a thread delivers the
events to the teams' webhooks, as ``auto-lambda webhooks`` does (moto never calls a
webhook). With ``faults``, a fault proxy
(``auto_lambda_dev.faultproxy``) stands in front of the emulator: workers and the
printed endpoint go through it; the resources are set up directly.

Composition only; each piece lives in its own module.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auto_lambda_dev.emulator import LocalEndpoint, start_server
from auto_lambda_dev.examples import EXAMPLE_QUEUES, EXAMPLE_SECRETS, team_policy_file
from auto_lambda_dev.faultplan import parse_faults
from auto_lambda_dev.faultproxy import FaultProxy
from auto_lambda_dev.urlserver import UrlStandIn
from orchestrator.aws.facade import Aws
from orchestrator.aws.resources import StackInfo, ensure_resources
from orchestrator.config import Settings

log = logging.getLogger(__name__)


@dataclass
class LocalStack:
    settings: Settings
    endpoint: LocalEndpoint
    aws: Aws
    info: StackInfo
    env: dict[str, str]
    pool: Any = None
    collector: Any = None
    proxy: Any = None
    urls: Any = None
    scaling_thread: threading.Thread | None = None
    webhooks_thread: threading.Thread | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)

    def exports(self) -> str:
        keys = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_EC2_METADATA_DISABLED", "AUTO_LAMBDA_PREFIX")
        return "\n".join(f"export {k}={self.env[k]}" for k in keys if k in self.env)

    def workers(self) -> int:
        return int(self.pool.size()) if self.pool is not None else 0


def _start_collector(aws: Aws, port: int) -> tuple[Any, str | None]:
    try:
        # imported on use, for start-up time: other commands (and --help) must not load it
        from auto_lambda_dev.collector import Collector
    except ImportError:
        return None, None
    try:
        collector = Collector(aws, port=port)
        bound = collector.start()
    except OSError as exc:
        log.warning("X-Ray collector not started (%s): traces stay local", exc)
        return None, None
    return collector, f"127.0.0.1:{bound}"


@contextlib.contextmanager
def local_stack(*, port: int = 0, workers: int = 1, max_workers: int = 4,
                autoscale: bool = False, xray_port: int = 2000,
                work_dir: Path | None = None, concurrency: int = 1,
                control: str = "tracking",
                on_scale: Callable[[Any], None] | None = None,
                faults: str | None = None, url_port: int = 0) -> Iterator[LocalStack]:
    plan = parse_faults(faults) if faults else None  # a bad spec fails before anything starts
    endpoint = start_server(0 if plan else port)
    proxy = FaultProxy(endpoint.url, plan, port=port).start() if plan else None
    public = LocalEndpoint(proxy.url, proxy.port, proxy) if proxy else endpoint
    base = Settings.from_env(dict(os.environ) | {"AWS_ENDPOINT_URL": endpoint.url})
    work_dir = (work_dir or base.work_dir).resolve()
    settings = Settings.from_env(dict(os.environ) | {
        "AWS_ENDPOINT_URL": endpoint.url, "AUTO_LAMBDA_WORK_DIR": str(work_dir)})
    aws = Aws(settings)
    stack: LocalStack | None = None
    try:
        info = ensure_resources(aws)
        # Workers (and whoever uses the printed exports) go through the proxy; the stack's
        # own machinery (collector, autoscaler, progress) talks to the emulator directly.
        env = public.env(settings) | {
            "AUTO_LAMBDA_WORK_DIR": str(work_dir),
            "AUTO_LAMBDA_CACHE_DIR": str(settings.cache_dir.resolve()),
            "AUTO_LAMBDA_VISIBILITY_TIMEOUT": str(settings.visibility_timeout),
        }
        env |= _example_teams(aws)
        collector, daemon = _start_collector(aws, xray_port)
        if daemon:
            env["AWS_XRAY_DAEMON_ADDRESS"] = daemon
        stack = LocalStack(settings=settings, endpoint=public, aws=aws, info=info,
                           env=env, collector=collector, proxy=proxy)
        stack.urls = UrlStandIn(aws, work_dir=work_dir / "url-stand-in", port=url_port).start()
        _start_workers(stack, workers, max_workers, autoscale, concurrency, control, on_scale)
        _start_webhooks(stack)
        yield stack
    finally:
        if stack is not None:
            stack.stop_event.set()
            for thread in (stack.scaling_thread, stack.webhooks_thread):
                if thread is not None:
                    thread.join(timeout=10)
            if stack.pool is not None:
                stack.pool.stop(timeout=30)
            if stack.collector is not None:
                with contextlib.suppress(Exception):
                    stack.collector.stop()
            if stack.urls is not None:
                stack.urls.stop()
        if proxy is not None:
            proxy.stop()
        endpoint.stop()


def _start_webhooks(stack: LocalStack) -> None:
    """Deliver the bus's events to the teams' webhooks while the stack runs."""
    if stack.settings.webhooks_file is None:
        return
    # imported on use, for start-up time: only a stack with webhooks needs them
    from orchestrator.aws.queue import Queue
    from orchestrator.feedback.webhooks import Secrets, WebhookDelivery, load_webhooks

    delivery = WebhookDelivery(Queue(stack.aws, stack.info.webhooks_queue_url, "webhooks"),
                               load_webhooks(stack.settings.webhooks_file), Secrets(stack.aws))

    def loop() -> None:
        while not stack.stop_event.is_set():
            try:
                delivery.poll_once(wait_seconds=1)
            except Exception:
                log.exception("webhooks: delivery failed; trying again")
                stack.stop_event.wait(1.0)

    stack.webhooks_thread = threading.Thread(target=loop, name="webhooks", daemon=True)
    stack.webhooks_thread.start()


def _example_teams(aws: Aws) -> dict[str, str]:
    """The examples' teams: their queues, and (unless one is set) their operator policy
    as the workers' ``AUTO_LAMBDA_TEAM_POLICY``."""
    for name in EXAMPLE_QUEUES:
        aws.sqs.create_queue(QueueName=f"{aws.settings.prefix}-{name}")
    _example_secrets(aws)
    if aws.settings.team_policy_file is not None:
        return {}
    path = team_policy_file()
    if path is None:
        return {}
    _example_layers(aws, path)
    return {"AUTO_LAMBDA_TEAM_POLICY": str(path)}


def _example_secrets(aws: Aws) -> None:
    """The examples' secrets, with stand-in values, where their references point."""
    ssm, manager = aws.client("ssm"), aws.client("secretsmanager")
    for ref, value in EXAMPLE_SECRETS.items():
        store, _, name = ref.partition(":")
        if store == "ssm":
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        elif not manager.list_secrets(Filters=[{"Key": "name", "Values": [name]}])[
                "SecretList"]:
            manager.create_secret(Name=name, SecretString=value)


def _example_layers(aws: Aws, policy: Path) -> None:
    """Publish the layers the examples' policy allows (an empty layer per version up to
    the one named), so an example naming one deploys: Lambda, and the emulator, refuse a
    function whose layer does not exist."""
    import io
    import json
    import zipfile

    body = io.BytesIO()
    with zipfile.ZipFile(body, "w") as archive:
        archive.writestr("python/.keep", "")
    teams = json.loads(policy.read_text()).get("teams", {})
    for arn in sorted({a for team in teams.values() for a in team.get("layers", [])}):
        parts = arn.split(":")
        if len(parts) != 8 or parts[3] != aws.settings.region:
            continue
        name, wanted = parts[6], int(parts[7])
        listed = aws.lambda_.list_layer_versions(LayerName=name).get("LayerVersions", [])
        for _ in range(wanted - max((v["Version"] for v in listed), default=0)):
            aws.lambda_.publish_layer_version(LayerName=name, Content={"ZipFile": body.getvalue()},
                                              CompatibleRuntimes=["python3.12"])


def _start_workers(stack: LocalStack, workers: int, max_workers: int, autoscale: bool,
                   concurrency: int, control: str,
                   on_scale: Callable[[Any], None] | None) -> None:
    # imported on use, for start-up time: other commands (and --help) must not load it
    from auto_lambda_dev.localgroup import ensure_local_group, set_capacity
    from auto_lambda_dev.pool import ProcessPool

    # --parent-pid: killed outright, the stack leaves no worker polling a stack that is gone
    argv = [sys.executable, "-m", "orchestrator.cli.main", "worker", "--wait", "2",
            "--concurrency", str(concurrency), "--parent-pid", str(os.getpid())]
    log_dir = stack.settings.work_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    stack.pool = ProcessPool(argv, stack.env, log_dir)
    ensure_local_group(stack.aws, stack.settings, min_size=min(workers, 1) if autoscale
                       else workers, max_size=max(max_workers, workers))
    stack.pool.resize(workers)
    set_capacity(stack.aws, stack.settings, workers)
    if not autoscale:
        return
    from auto_lambda_dev.localgroup import put_local_policy
    from auto_lambda_dev.localloop import run_local_scaling_loop
    from checker.direct import DirectPolicy
    from checker.metric import CheckerOptions
    from checker.rule import ScalingPolicy

    # Local figures: a few seconds per job, so a small target and short windows make
    # scaling visible within a demo; the rules are the ones the cloud stack uses.
    direct = control == "direct"
    # Beside direct control, tracking is the fallback the CDK stack sets up: its alarms
    # wait for three datapoints before scaling out (so the controller acts first), and
    # it never scales in (DisableScaleIn), which is the controller's job.
    policy = ScalingPolicy(target=2.0, min_capacity=1, max_capacity=max_workers,
                           scale_in_window=15.0, scale_in_cooldown=5.0, warmup=3.0,
                           scale_out_after=3.0 if direct else 0.0, scale_in=not direct)
    direct_policy = DirectPolicy(target=policy.target, scale_in_window=10.0)
    options = CheckerOptions(interval=1.0, slots_per_instance=concurrency)
    put_local_policy(stack.aws, stack.settings, policy.target)

    def loop() -> None:
        try:
            run_local_scaling_loop(stack.aws, stack.pool, policy=policy, period=1.0,
                                   checker_options=options, control=control,
                                   direct_policy=direct_policy,
                                   stop=stack.stop_event.is_set, on_step=on_scale,
                                   sleep=stack.stop_event.wait)
        except Exception:
            log.exception("local autoscaler stopped")

    stack.scaling_thread = threading.Thread(target=loop, name="autoscaler", daemon=True)
    stack.scaling_thread.start()
