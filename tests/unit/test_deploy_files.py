"""The deploy files hold together: compose.yaml (parsed, as Docker does not run here), the
Caddyfile it mounts, the Dockerfile it builds, and the Procfile for bare machines (honcho's parser).

What is checked is what would break a deployment: a service missing from the topology, a
healthcheck on the wrong route, an app service that multi-instance mode would refuse to start,
a variable nobody documented, a command the CLI does not accept.
"""

from __future__ import annotations

import base64
import re
import shlex
import subprocess
import sys

import pytest
import yaml
from honcho.environ import parse_procfile

from assetry import serve
from assetry.cli import command_line
from assetry.config import ROOT, Settings

COMPOSE = ROOT / "compose.yaml"
APP_SERVICES = ("migrate", "web-1", "web-2", "worker-1", "worker-2")
INTERPOLATED = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")
REFLEX_RUN_OPTIONS = ("--env", "--single-port", "--frontend-port", "--backend-host", "--loglevel")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


# What .env would hold, where the shape matters.
STAND_INS = {"ENCRYPTION_KEYS": "k1:" + base64.urlsafe_b64encode(bytes(32)).decode()}


def _resolved(value: str) -> str:
    """A value as compose would pass it, with a stand-in for each variable it reads from .env."""
    return INTERPOLATED.sub(
        lambda found: STAND_INS.get(found.group(1), f"from-env-{found.group(1).lower().replace('_', '-')}"),
        value,
    )


def _cli_args(command: list[str]) -> list[str]:
    """The arguments after `python -m assetry`."""
    start = command.index("assetry") + 1
    assert command[start - 2 : start] == ["-m", "assetry"], command
    return command[start:]


def _accepted(args: list[str]) -> None:
    """The CLI takes these arguments; `serve` hands the rest to `reflex run`, which takes them."""
    parsed, rest = command_line().parse_known_args(args)
    if parsed.command == "serve":
        assert [a for a in rest if a.startswith("--") and a not in REFLEX_RUN_OPTIONS] == []
    else:
        assert rest == []


def test_the_topology_is_complete(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {
        "postgres", "redis", "minio", "bucket", "migrate", "web-1", "web-2", "worker-1", "worker-2", "proxy"
    }  # fmt: skip
    # One image for every app process.
    assert {services[name]["build"] for name in APP_SERVICES} == {"."}
    assert {services[name]["image"] for name in APP_SERVICES} == {"assetry:latest"}
    assert [_cli_args(services[n]["command"])[0] for n in APP_SERVICES] == [
        "migrate", "serve", "serve", "worker", "worker"
    ]  # fmt: skip
    for name in APP_SERVICES:
        _accepted(_cli_args(services[name]["command"]))
    assert services["proxy"]["image"].startswith("caddy:")
    assert services["minio"]["image"].startswith("minio/minio")


def test_every_long_running_service_has_a_healthcheck_on_the_right_route(compose: dict) -> None:
    services = compose["services"]
    for name in ("web-1", "web-2"):
        assert services[name]["healthcheck"]["test"][-1] == "http://127.0.0.1:3000/health/ready"
    for name in ("worker-1", "worker-2"):
        command = services[name]["command"]
        port = command[command.index("--health-port") + 1]
        assert services[name]["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/health/ready"
    assert services["proxy"]["healthcheck"]["test"][-1].endswith("/health/live")
    for name in ("postgres", "redis", "minio"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
    assert not ({"bucket", "migrate"} & {n for n, s in services.items() if "healthcheck" in s})


def test_start_up_order_waits_for_what_each_needs(compose: dict) -> None:
    services = compose["services"]

    def waits_for(name: str) -> dict[str, str]:
        return {other: rule["condition"] for other, rule in services[name]["depends_on"].items()}

    assert waits_for("migrate") == {"postgres": "service_healthy"}
    assert waits_for("bucket") == {"minio": "service_healthy"}
    done = "service_completed_successfully"
    for name in ("web-1", "web-2"):
        assert waits_for(name) == {"migrate": done, "bucket": done, "redis": "service_healthy"}
    for name in ("worker-1", "worker-2"):
        assert waits_for(name) == {"migrate": done, "bucket": done}
    assert waits_for("proxy") == {"web-1": "service_healthy", "web-2": "service_healthy"}


def test_app_services_start_in_multi_instance_mode_with_every_shared_setting(compose: dict) -> None:
    for name in APP_SERVICES:
        environment = {
            key: _resolved(str(value)) for key, value in compose["services"][name]["environment"].items()
        }
        assert set(environment) <= {field.upper() for field in Settings.model_fields}, name
        settings = Settings(_env_file=None, **{key.lower(): value for key, value in environment.items()})
        assert settings.deployment == "multi"
        assert settings.missing_for_multi_instance() == [], name
        assert settings.job_worker_in_app is False
        # The services they talk to are the ones compose runs.
        assert "@postgres:5432/" in settings.database_url
        assert settings.redis_url == "redis://redis:6379/0"
        assert settings.media_s3_endpoint == "http://minio:9000"


def test_every_variable_compose_reads_is_documented_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text()
    lines = [line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#")]
    read = sorted(set(INTERPOLATED.findall("\n".join(lines))))
    assert "POSTGRES_PASSWORD" in read and "ENCRYPTION_KEYS" in read
    assert [name for name in read if f"{name}=" not in example] == []


def test_the_proxy_sends_users_to_both_web_backends(compose: dict) -> None:
    mount = compose["services"]["proxy"]["volumes"][0]
    source, target = mount.split(":")[:2]
    assert target == "/etc/caddy/Caddyfile"
    caddyfile = (ROOT / source).read_text()
    [upstreams] = re.findall(r"reverse_proxy ([^{]+)\{", caddyfile)
    assert upstreams.split() == ["web-1:3000", "web-2:3000"]
    assert "health_uri /health/live" in caddyfile
    assert compose["services"]["proxy"]["ports"] == ["${HTTP_PORT:-8080}:80"]


def test_the_dockerfile_builds_one_image_that_runs_both_commands() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", dockerfile, re.MULTILINE)
    assert "uv sync --frozen --no-dev" in dockerfile
    assert "USER assetry" in dockerfile
    assert re.search(r"^EXPOSE 3000 8081$", dockerfile, re.MULTILINE)
    [default] = re.findall(r"^CMD (\[.*?\])\s*$", dockerfile.replace("\\\n", ""), re.MULTILINE | re.DOTALL)
    _accepted(_cli_args(yaml.safe_load(default)))
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", "data", ".venv", ".git"} <= set(ignored)  # no secret or local key goes into the image


def test_the_procfile_runs_a_web_backend_and_workers_that_exist() -> None:
    processes = parse_procfile((ROOT / "Procfile").read_text()).processes
    assert set(processes) == {"web", "worker"}
    for name, line in processes.items():
        words = shlex.split(line.replace("$PORT", "5000"))
        while "=" in words[0]:  # VAR=value before the command
            words.pop(0)
        assert (ROOT / words[0]).exists(), f"{name}: {words[0]} is missing (run `make install`)"
        _accepted(_cli_args(words))
    worker = shlex.split(processes["worker"].replace("$PORT", "5100"))
    shown = subprocess.run(
        [sys.executable, *worker[1:], "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert shown.returncode == 0 and "--health-port" in shown.stdout


def test_the_web_backends_send_browsers_websocket_to_the_public_address_not_their_own_port(
    compose: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind compose's proxy on http://localhost:8080, a build pointing at localhost:3000 (the
    backend's own port, which only the proxy reaches) would leave every page without its websocket."""
    monkeypatch.delenv("REFLEX_API_URL", raising=False)
    command = compose["services"]["web-1"]["command"]
    reflex_args = command[command.index("serve") + 1 :]
    public_url = compose["x-shared-settings"]["PUBLIC_URL"].replace("${PUBLIC_URL:-", "").rstrip("}")
    assert public_url == "http://localhost:8080"
    assert serve.reflex_environment(reflex_args, public_url + "/")["REFLEX_API_URL"] == public_url
    monkeypatch.setenv("REFLEX_API_URL", "https://api.example.com")  # an operator's own choice stays
    assert serve.reflex_environment(reflex_args, public_url)["REFLEX_API_URL"] == "https://api.example.com"
    monkeypatch.delenv("REFLEX_API_URL")
    # `make dev`: the frontend's own server, the backend on its port (rxconfig's api_url).
    assert "REFLEX_API_URL" not in serve.reflex_environment(["--env", "dev"], public_url)
