"""Shell text run on the instances: install auto-lambda, the X-Ray daemon, the CloudWatch
agent, config and units.

One source for both places that set an instance up: the Image Builder component (bakes
it into the worker AMI) and launch-template user data (the fallback when no AMI is given;
on a baked AMI each install step finds its work done and skips it). Pure string
building: no constructs, no AWS calls at synth time.
"""

from __future__ import annotations

import json
import shlex

VENV = "/opt/auto-lambda"
CONFIG_SCRIPT = "/usr/local/bin/auto-lambda-config"
READY_SCRIPT = "/usr/local/bin/auto-lambda-ready"
IN_SERVICE_GATE = "/usr/local/bin/auto-lambda-wait-in-service"
IMDS = "http://169.254.169.254/latest"
ENV_FILE = "/run/auto-lambda/env"
# Each service writes its output here; the CloudWatch agent ships it (and logrotate keeps
# the instance's copy small).
LOG_DIR = "/var/log/auto-lambda"
AGENT_DIR = "/opt/aws/amazon-cloudwatch-agent"
# auto-lambda needs Python >= 3.11; AL2023's system python3 is 3.9, so it gets its own venv.
HOST_PYTHON = "python3.12"
# Interpreters for every Lambda Python runtime, so local verify can run any of them.
RUNTIME_PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")


def install_xray_daemon() -> str:
    """The X-Ray daemon from AWS's regional bucket, as a systemd service (the RPM ships one)."""
    return "\n".join(
        [
            "if ! rpm -q xray >/dev/null 2>&1; then",
            "  TOKEN=$(curl -sS -X PUT http://169.254.169.254/latest/api/token "
            "-H 'X-aws-ec2-metadata-token-ttl-seconds: 300')",
            "  REGION=$(curl -sS -H \"X-aws-ec2-metadata-token: $TOKEN\" "
            "http://169.254.169.254/latest/meta-data/placement/region)",
            '  dnf install -y "https://s3.${REGION}.amazonaws.com/aws-xray-assets.${REGION}'
            '/xray-daemon/aws-xray-daemon-3.x.rpm"',
            "fi",
            "systemctl enable xray",
        ]
    )


def install_cloudwatch_agent() -> str:
    """The CloudWatch agent (AL2023's package) and the rotation of the services' log files."""
    rotate = "\n".join([
        f"{LOG_DIR}/*.log {{",
        "  daily", "  rotate 3", "  maxsize 100M", "  missingok", "  notifempty",
        "  compress", "  copytruncate",
        "}",
    ])
    return "\n".join(
        [
            "rpm -q amazon-cloudwatch-agent >/dev/null 2>&1 || "
            "dnf install -y amazon-cloudwatch-agent",
            f"mkdir -p {LOG_DIR}",
            f"cat > /etc/logrotate.d/auto-lambda <<'EOF'\n{rotate}\nEOF",
        ]
    )


def cloudwatch_agent_config(log_group: str, name: str) -> str:
    """Ship this instance's service log and boot log to ``log_group``, one stream each
    (``<instance id>/<name>``, ``<instance id>/boot``), and (re)start the agent."""
    files = [
        {"file_path": f"{LOG_DIR}/{name}.log", "log_group_name": log_group,
         "log_stream_name": f"{{instance_id}}/{name}"},
        {"file_path": "/var/log/cloud-init-output.log", "log_group_name": log_group,
         "log_stream_name": "{instance_id}/boot"},
    ]
    config = json.dumps({"agent": {"run_as_user": "root"},
                         "logs": {"logs_collected": {"files": {"collect_list": files}}}},
                        indent=1)
    path = f"{AGENT_DIR}/etc/auto-lambda-{name}.json"
    return "\n".join(
        [
            f"cat > {path} <<'EOF'\n{config}\nEOF",
            f"{AGENT_DIR}/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s "
            f"-c file:{path}",
        ]
    )


def install_runtime_pythons() -> str:
    """python3.10-3.14 via uv's standalone builds (AL2023's dnf carries only some of them)."""
    versions = " ".join(RUNTIME_PYTHONS)
    return "\n".join(
        [
            f"{VENV}/bin/pip install --quiet uv",
            f"UV_PYTHON_INSTALL_DIR=/opt/pythons {VENV}/bin/uv python install {versions}",
            "for v in " + versions + "; do",
            "  p=$(UV_PYTHON_INSTALL_DIR=/opt/pythons " + VENV + "/bin/uv python find \"$v\")",
            '  ln -sf "$p" "/usr/local/bin/python$v"',
            "done",
        ]
    )


def install_auto_lambda(package: str) -> str:
    """auto-lambda into its own venv, from PyPI (a requirement spec or URL) or an s3:// wheel.

    Retries for up to 30 minutes: on a first deploy the wheel may be uploaded to the
    artifacts bucket only after the stack (and so the bucket) exists.
    """
    quoted = shlex.quote(package)
    return "\n".join(
        [
            "retry() { for _ in $(seq 60); do \"$@\" && return 0; sleep 30; done; return 1; }",
            f"if [ ! -x {VENV}/bin/auto-lambda ]; then",
            f"  dnf install -y {HOST_PYTHON} {HOST_PYTHON}-pip",
            f"  {HOST_PYTHON} -m venv {VENV}",
            f"  PKG={quoted}",
            '  case "$PKG" in',
            "    s3://*)",
            '      retry aws s3 cp "$PKG" /tmp/ && PKG="/tmp/$(basename "$PKG")" ;;',
            "  esac",
            f'  retry {VENV}/bin/pip install --quiet --upgrade pip "$PKG"',
            f"  ln -sf {VENV}/bin/auto-lambda /usr/local/bin/auto-lambda",
            "fi",
        ]
    )


def config_script(ssm_path: str, region: str) -> str:
    """Write a script that turns the SSM parameters under ``ssm_path`` into AUTO_LAMBDA_*.

    ``/<prefix>/queue-url`` becomes ``AUTO_LAMBDA_QUEUE_URL``. Run before each service
    start, so a changed parameter takes effect on restart without replacing instances.
    """
    body = "\n".join(
        [
            "#!/bin/bash",
            "set -euo pipefail",
            f"mkdir -p $(dirname {ENV_FILE})",
            f"tmp={ENV_FILE}.tmp",
            f'echo "AWS_REGION={region}" > "$tmp"',
            'echo "AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2000" >> "$tmp"',
            f"aws ssm get-parameters-by-path --region {region} --path {ssm_path} "
            "--query 'Parameters[].[Name,Value]' --output text |",
            "while IFS=$'\\t' read -r name value; do",
            '  key=$(basename "$name" | tr "a-z-" "A-Z_")',
            '  echo "AUTO_LAMBDA_${key}=${value}" >> "$tmp"',
            "done",
            f'mv "$tmp" {ENV_FILE}',
        ]
    )
    return f"cat > {CONFIG_SCRIPT} <<'EOF'\n{body}\nEOF\nchmod 755 {CONFIG_SCRIPT}"


def _imds_token() -> str:
    return (f"TOKEN=$(curl -sS -X PUT {IMDS}/api/token "
            "-H 'X-aws-ec2-metadata-token-ttl-seconds: 300')")


def lifecycle_scripts(group: str, hook: str) -> str:
    """Two scripts for an instance that may come from the warm pool.

    ``auto-lambda-ready`` completes the launch lifecycle action: Auto Scaling holds a new
    instance (entering the warm pool or the group) until it is initialised, and an
    instance leaving the warm pool until it has booted again. It runs at every boot.
    ``auto-lambda-wait-in-service`` returns once the instance's target lifecycle state is
    InService (or the instance is not in a group at all), so a worker on an instance
    being prepared for the warm pool takes no job before it is stopped.
    """
    ready = "\n".join(
        [
            "#!/bin/bash",
            "set -uo pipefail",
            _imds_token(),
            f'md() {{ curl -sS -f -H "X-aws-ec2-metadata-token: $TOKEN" "{IMDS}/meta-data/$1"; }}',
            "ID=$(md instance-id)",
            "REGION=$(md placement/region)",
            # No pending action (a scale-out without the hook, a reboot) is not an error.
            'aws autoscaling complete-lifecycle-action --region "$REGION" '
            f"--auto-scaling-group-name {shlex.quote(group)} "
            f"--lifecycle-hook-name {shlex.quote(hook)} "
            '--instance-id "$ID" --lifecycle-action-result CONTINUE || true',
        ]
    )
    gate = "\n".join(
        [
            "#!/bin/bash",
            "while :; do",
            "  " + _imds_token(),
            '  STATE=$(curl -sS -f -H "X-aws-ec2-metadata-token: $TOKEN" '
            f'"{IMDS}/meta-data/autoscaling/target-lifecycle-state") || exit 0',
            '  [ "$STATE" = InService ] && exit 0',
            "  sleep 5",
            "done",
        ]
    )
    unit = "\n".join(
        [
            "[Unit]",
            "Description=auto-lambda: tell Auto Scaling this instance is initialised",
            "After=network-online.target",
            "Wants=network-online.target",
            "",
            "[Service]",
            "Type=oneshot",
            f"ExecStart={READY_SCRIPT}",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
        ]
    )
    return "\n".join(
        [
            f"cat > {READY_SCRIPT} <<'EOF'\n{ready}\nEOF",
            f"cat > {IN_SERVICE_GATE} <<'EOF'\n{gate}\nEOF",
            f"chmod 755 {READY_SCRIPT} {IN_SERVICE_GATE}",
            f"cat > /etc/systemd/system/auto-lambda-ready.service <<'EOF'\n{unit}\nEOF",
        ]
    )


def systemd_unit(name: str, command: str, stop_timeout_seconds: int,
                 wait_in_service: bool = False) -> str:
    """A unit that restarts the process forever and gives it time to drain on stop.

    With ``wait_in_service`` it starts the process only once the instance is InService
    (see ``lifecycle_scripts``); a wait of any length is fine.
    """
    gate = [f"ExecStartPre={IN_SERVICE_GATE}", "TimeoutStartSec=infinity"]
    unit = "\n".join(
        [
            "[Unit]",
            f"Description=auto-lambda {name}",
            "After=network-online.target xray.service",
            "Wants=network-online.target",
            "",
            "[Service]",
            *(gate if wait_in_service else []),
            # "+": the config step runs as root (it writes under /run); the service does not.
            f"ExecStartPre=+{CONFIG_SCRIPT}",
            # Re-read before each command; "-": absent until the config step has run once.
            f"EnvironmentFile=-{ENV_FILE}",
            f"ExecStart={VENV}/bin/auto-lambda {command}",
            # The CloudWatch agent ships this file to the stack's log group.
            f"StandardOutput=append:{LOG_DIR}/{name}.log",
            f"StandardError=append:{LOG_DIR}/{name}.log",
            "Restart=always",
            "RestartSec=5",
            # SIGTERM asks the process to finish its jobs; give it as long as the drain hook.
            "KillSignal=SIGTERM",
            f"TimeoutStopSec={stop_timeout_seconds}",
            "User=auto-lambda",
            "WorkingDirectory=/var/lib/auto-lambda",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
        ]
    )
    path = f"/etc/systemd/system/auto-lambda-{name}.service"
    return f"cat > {path} <<'EOF'\n{unit}\nEOF"


def service_user() -> str:
    return "\n".join(
        [
            "id auto-lambda >/dev/null 2>&1 || useradd --system --home-dir /var/lib/auto-lambda "
            "--create-home auto-lambda",
        ]
    )


def base_install(package: str) -> list[str]:
    """Everything the worker AMI holds; the user-data fallback runs the same steps."""
    return [
        "set -euxo pipefail",
        install_xray_daemon(),
        install_cloudwatch_agent(),
        install_auto_lambda(package),
        service_user(),
    ]


def instance_user_data(
    *, package: str, ssm_path: str, region: str, name: str, command: str,
    stop_timeout_seconds: int, with_runtimes: bool, launch_hook: tuple[str, str] | None = None,
    log_group: str | None = None,
) -> list[str]:
    """User data for a worker or checker: install if missing, configure, start.

    ``launch_hook`` (group, hook name), given with a warm pool: once installed, the
    instance completes the launch lifecycle action (now and at every later boot), and
    the service starts only when the instance is InService. ``log_group``: the CloudWatch
    Logs group the agent ships the service's log and the boot log to.
    """
    lines = base_install(package)
    if with_runtimes:
        lines.append(f"[ -x /usr/local/bin/python3.14 ] || {{\n{install_runtime_pythons()}\n}}")
    lines += [
        config_script(ssm_path, region),
        systemd_unit(name, command, stop_timeout_seconds,
                     wait_in_service=launch_hook is not None),
    ]
    if launch_hook is not None:
        lines.append(lifecycle_scripts(*launch_hook))
    if log_group is not None:
        lines.append(cloudwatch_agent_config(log_group, name))
    lines += [
        "systemctl daemon-reload",
        "systemctl start xray",
    ]
    if launch_hook is not None:
        lines.append("systemctl enable --now auto-lambda-ready.service")
        # The service waits for InService: do not hold user data (and boot) on it.
        lines.append(f"systemctl enable --now --no-block auto-lambda-{name}.service")
    else:
        lines.append(f"systemctl enable --now auto-lambda-{name}.service")
    return lines
