"""The deployment files are checked here, since no container engine runs on these machines: the
Dockerfile, deploy/compose.yaml and deploy/k8s/*.yaml parse, every service is present, each command
is a real entry point of the code (the same ones deploy/up.sh and the CLI use), and every probe or
healthcheck asks a path the process really serves on the port it really listens on."""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "deploy" / "compose.yaml"
K8S = REPO / "deploy" / "k8s"
DOCKERFILE = REPO / "Dockerfile"

APP_SERVICES = {
    "requests-api",
    "requests-relay",
    "requests-upstream",
    "ledger",
    "ratings",
    "notifications",
    "search",
}
# Issue 20: the web app and the gateway in front of everything (no database, no broker).
EDGE_SERVICES = {"webapp", "gateway"}
HTTP_PORT = 8000  # SUPPORT_PORT in the image
OPS_PORT = 9100  # SUPPORT_METRICS_PORT of the relay and the upstream consumer
REQUESTS_PARTITIONS = 3  # what `kafka_main --create-topics` creates


# --- entry points ----------------------------------------------------------------------------------


def _routes(app: FastAPI) -> set[str]:
    """The paths the app serves (its OpenAPI document lists every route, included routers too)."""
    return set(app.openapi()["paths"])


def _app_of(module: str) -> FastAPI:
    """The HTTP app a `python -m <module>` process serves (built, not started: no I/O)."""
    if module == "services.requests.kafka_main":
        from services.requests.main import create_app
        from services.requests.settings import Settings

        return create_app(Settings(production=False))
    from shared.transport.stream_consumers import StreamOptions

    create_app = importlib.import_module(module).create_app
    return create_app(kafka=StreamOptions(bootstrap_servers="kafka:9092", group_id="g"))


def _ops_app() -> FastAPI:
    from shared.http_observability import ops_app

    return ops_app("relay", {})


def check_command(command: list[str]) -> tuple[str, FastAPI, int]:
    """A container command -> (module, the app it serves, the port it serves it on)."""
    if command[:2] == ["seller-support", "serve"]:
        from services.embedded import create_embedded_app
        from services.requests.settings import Settings

        return "services.cli", create_embedded_app(Settings()), HTTP_PORT
    assert command[:2] == ["python", "-m"], command
    module, args = command[2], command[3:]
    imported = importlib.import_module(module)
    assert callable(getattr(imported, "main", None)), f"{module} has no main()"
    if module == "services.requests.kafka_main":
        parsed = imported._parser().parse_args(args)  # exits on an unknown process name
        if parsed.process == "api":
            return module, _app_of(module), HTTP_PORT
        return module, _ops_app(), OPS_PORT
    from shared.service_process import projection_service_parser

    service = module.split(".")[1]
    assert isinstance(projection_service_parser(service, 0).parse_args(args), argparse.Namespace)
    return module, _app_of(module), HTTP_PORT


def _up_sh_commands() -> set[tuple[str, ...]]:
    text = (REPO / "deploy" / "up.sh").read_text()
    return {
        ("python", "-m", module, process)
        for module, process in re.findall(r'"\$py" -m ([\w.]+) (\w+)', text)
    }


def test_every_process_serves_health_readiness_and_metrics() -> None:
    for command in (
        ["python", "-m", "services.requests.kafka_main", "api"],
        ["python", "-m", "services.requests.kafka_main", "relay"],
        ["python", "-m", "services.ledger.main"],
        ["python", "-m", "services.ratings.main"],
        ["python", "-m", "services.notifications.main"],
        ["python", "-m", "services.search.main"],
        ["seller-support", "serve"],
    ):
        _module, app, _port = check_command(command)
        assert {"/healthz", "/readyz", "/metrics"} <= _routes(app), command


# --- Dockerfile ------------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_dockerfile_is_multi_stage_non_root_and_runs_the_cli() -> None:
    instructions = _dockerfile_instructions()
    stages = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert len(stages) >= 2 and stages[0].endswith("AS build"), stages
    final = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    final_stage = instructions[final:]
    assert any(k == "COPY" and r.startswith("--from=build") for k, r in final_stage)
    users = [rest for keyword, rest in final_stage if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, users
    # the default command is the project's console script
    cmd = [rest for keyword, rest in instructions if keyword == "CMD"][-1]
    assert cmd == '["seller-support", "serve"]'
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["seller-support"] == "services.cli:main"
    check_command(["seller-support", "serve"])
    # what it copies exists, and the ports it exposes are the ones the processes use
    for keyword, rest in instructions:
        if keyword == "COPY" and not rest.startswith("--from"):
            for source in shlex.split(rest)[:-1]:
                assert (REPO / source).exists(), source
    exposed = {int(p) for k, r in instructions if k == "EXPOSE" for p in r.split()}
    assert {HTTP_PORT, OPS_PORT} <= exposed
    env = " ".join(r for k, r in final_stage if k == "ENV")
    assert f"SUPPORT_PORT={HTTP_PORT}" in env and "SUPPORT_HOST=0.0.0.0" in env


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "var", "tests"} <= ignored
    for needed in ("pyproject.toml", "README.md", "shared", "services"):
        assert needed not in ignored


# --- compose ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _kafka_version() -> str:
    pom = (REPO / "deploy" / "kafka" / "pom.xml").read_text()
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert match
    return match.group(1)


def test_compose_has_kafka_in_kraft_mode_postgres_and_every_service(compose: dict) -> None:
    services = compose["services"]
    assert {"kafka", "postgres", *APP_SERVICES} <= set(services)
    kafka = services["kafka"]
    assert kafka["image"] == f"apache/kafka:{_kafka_version()}"  # the version tests run against
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert not any("ZOOKEEPER" in key for key in env)
    assert services["postgres"]["image"].startswith("postgres:")
    init = compose["configs"]["postgres-init"]["content"]
    for database in ("ledger", "ratings", "notifications", "search"):
        assert f"CREATE DATABASE seller_support_{database}" in init


# The kernel's CPU weight of a nice value (sched_prio_to_weight), for the tiers both forms share.
_NICE_WEIGHT = {0: 1024, 5: 335, 10: 110}


def test_compose_gives_each_service_the_cpu_tier_make_up_gives_it(compose: dict) -> None:
    # given the nice values deploy/up.sh starts each process with (0 when not listed)
    block = re.search(r"declare -A cpu_nice=\(([^)]*)\)", (REPO / "deploy" / "up.sh").read_text())
    assert block, "deploy/up.sh declares no cpu_nice tiers"
    tiers = {name: int(nice) for name, nice in re.findall(r"\[([a-z-]+)\]=(\d+)", block.group(1))}
    assert tiers["requests-relay"] < tiers["ratings"], tiers
    # then every compose service has the CPU shares of that nice (1024, the default, for nice 0)
    for name in APP_SERVICES:
        shares = compose["services"][name].get("cpu_shares", 1024)
        assert shares == _NICE_WEIGHT[tiers.get(name, 0)], (name, shares)


def test_compose_commands_are_real_entry_points_with_probes_on_served_paths(compose: dict) -> None:
    services = compose["services"]
    up_sh = _up_sh_commands()
    assert up_sh, "deploy/up.sh names no python -m commands"
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"]["dockerfile"] == "Dockerfile"
        assert (COMPOSE.parent / service["build"]["context"] / "Dockerfile").is_file()
        command = service["command"]
        module, app, port = check_command(command)
        if module == "services.requests.kafka_main":
            assert tuple(command) in up_sh, f"{name}: {command} is not what make up runs"
        env = service["environment"]
        if port == OPS_PORT:
            assert env["SUPPORT_METRICS_PORT"] == str(OPS_PORT) and env["SUPPORT_METRICS_HOST"]
        else:
            assert env["SUPPORT_PORT"] == str(HTTP_PORT) and env["SUPPORT_HOST"] == "0.0.0.0"
        probe = " ".join(service["healthcheck"]["test"])
        url = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", probe)
        assert url, probe
        assert int(url.group(1)) == port, name
        assert url.group(2) in _routes(app), f"{name} probes {url.group(2)}, which is not served"
        assert "kafka:9092" in env["SUPPORT_KAFKA_BOOTSTRAP"]
        database = next(v for k, v in env.items() if k.endswith("DATABASE_URL"))
        assert database.startswith("postgresql+psycopg://") and "@postgres:5432/" in database
        depends = service.get("depends_on", {})
        assert "postgres" in depends, name
        if name != "requests-api":  # the API alone needs no broker
            assert "kafka" in depends, name


# --- Kubernetes ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    files = sorted(K8S.glob("*.yaml"))
    assert files
    for path in files:
        documents.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for document in documents:
        assert {"apiVersion", "kind", "metadata"} <= document.keys(), document
    return documents


def _of_kind(manifests: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in manifests if d["kind"] == kind}


def test_k8s_deployments_run_every_service_with_probes_on_served_endpoints(
    manifests: list[dict],
) -> None:
    deployments = _of_kind(manifests, "Deployment")
    assert set(deployments) == APP_SERVICES | EDGE_SERVICES
    config_maps = _of_kind(manifests, "ConfigMap")
    for name, deployment in deployments.items():
        if name in EDGE_SERVICES:  # no database, no broker: test_web_app_and_gateway_*
            continue
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        assert (
            spec["selector"]["matchLabels"].items()
            <= spec["template"]["metadata"]["labels"].items()
        )
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        _module, app, port = check_command(container["command"])
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        routes = _routes(app)
        for probe, path in (
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
            ("startupProbe", "/healthz"),
        ):
            get = container[probe]["httpGet"]
            assert get["path"] == path and path in routes, (name, probe)
            assert ports[get["port"]] == port, (name, probe)
        annotations = spec["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/path"] == "/metrics" and "/metrics" in routes
        assert int(annotations["prometheus.io/port"]) == port
        # settings from the ConfigMap, secrets from the Secret (never inline)
        (source,) = container["envFrom"]
        config = config_maps[source["configMapRef"]["name"]]["data"]
        assert config["SUPPORT_PORT"] == str(HTTP_PORT)
        assert config["SUPPORT_METRICS_PORT"] == str(OPS_PORT)
        env = {e["name"]: e for e in container["env"]}
        assert env["SUPPORT_JWT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == (
            "seller-support-secrets"
        )
        database = next(e for n, e in env.items() if n.endswith("DATABASE_URL"))
        assert database["valueFrom"]["secretKeyRef"]["name"] == "seller-support-secrets"
        assert not any("SECRET" in key or "DATABASE_URL" in key for key in config)
    assert deployments["requests-relay"]["spec"]["replicas"] == 1
    assert deployments["requests-relay"]["spec"]["strategy"]["type"] == "Recreate"


def test_k8s_services_select_their_pods_and_projection_consumers_autoscale(
    manifests: list[dict],
) -> None:
    deployments = _of_kind(manifests, "Deployment")
    for name, service in _of_kind(manifests, "Service").items():
        pods = deployments[name]["spec"]["template"]
        assert service["spec"]["selector"].items() <= pods["metadata"]["labels"].items()
        names = {p["name"] for p in pods["spec"]["containers"][0]["ports"]}
        assert all(port["targetPort"] in names for port in service["spec"]["ports"])
    autoscalers = _of_kind(manifests, "HorizontalPodAutoscaler")
    assert set(autoscalers) == {"ledger", "ratings", "notifications", "search"}
    for name, hpa in autoscalers.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
        # more consumers than partitions would sit idle
        assert (
            1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] <= (REQUESTS_PARTITIONS)
        ), name


# --- the operations guide names every metric -------------------------------------------------------


def test_operations_guide_explains_every_metric() -> None:
    from prometheus_client import REGISTRY

    import services.requests.outbox.relay  # noqa: F401 - registers the relay's metrics
    import shared.observability  # noqa: F401

    names = {
        family.name for family in REGISTRY.collect() if family.name.startswith("seller_support_")
    }
    assert len(names) >= 10
    guide = (REPO / "docs" / "operations.md").read_text()
    missing = sorted(name for name in names if name not in guide)
    assert not missing, f"docs/operations.md does not explain {missing}"


# --- restarts (issue 18: a crash is restarted, by whatever runs the processes) -----------------------


def _up_sh_programs() -> set[str]:
    text = (REPO / "deploy" / "up.sh").read_text()
    names = set(re.findall(r"^\s*program ([a-z-]+) ", text, re.MULTILINE))
    names |= {f"{svc}" for svc in re.findall(r"for svc in ([a-z ]+); do", text)[0].split()}
    return names


def test_make_up_runs_every_service_under_supervisord_which_restarts_it() -> None:
    # given deploy/up.sh
    text = (REPO / "deploy" / "up.sh").read_text()
    # then every process compose runs is a supervisord program of make up
    assert _up_sh_programs() >= APP_SERVICES, _up_sh_programs()
    # and each program is restarted whenever it exits, for as long as it keeps failing
    assert "autorestart=true" in text
    retries = int(re.search(r"startretries=(\d+)", text).group(1))
    assert retries >= 100
    # and each runs through the CPU-tier wrapper, so the nice tiers hold in a session of its own
    assert "deploy/cpu_tier.py ${cpu_nice[$name]:-0}" in text
    assert '.venv/bin/supervisord" -c "$conf"' in text
    # and make down asks supervisord to stop (so it restarts nothing) before anything else
    down = (REPO / "deploy" / "down.sh").read_text()
    assert down.index("supervisorctl") < down.index("kafka/stop.sh")


def test_compose_restarts_every_container_and_k8s_restarts_a_dead_or_stuck_pod(
    compose: dict, manifests: list[dict]
) -> None:
    # compose: every container, infrastructure included, comes back after a crash
    for name, service in compose["services"].items():
        assert service.get("restart") in ("unless-stopped", "always", "on-failure"), name
    # Kubernetes: pods restart (restartPolicy Always, the default) and a liveness probe on
    # /healthz restarts one whose consumer died (healthz answers 503 then)
    for name, deployment in _of_kind(manifests, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod.get("restartPolicy", "Always") == "Always", name
        (container,) = pod["containers"]
        probe = container["livenessProbe"]
        if name == "gateway":  # nginx serves no /healthz of its own: a dead one stops listening
            assert probe["tcpSocket"]["port"] == "http", name
        else:
            assert probe["httpGet"]["path"] == "/healthz", name
        assert probe.get("failureThreshold", 3) * probe.get("periodSeconds", 10) <= 120, name


# --- the web app and the gateway (issue 20) --------------------------------------------------------

GATEWAY_ROUTES = REPO / "deploy" / "gateway" / "routes.conf.template"


def _webapp_routes() -> set[str]:
    from services.webapp.main import create_standalone
    from services.webapp.settings import WebAppSettings

    return _routes(create_standalone(WebAppSettings()))


def test_web_app_and_gateway_in_make_up_compose_and_k8s_share_one_set_of_routes(
    compose: dict, manifests: list[dict]
) -> None:
    routes = GATEWAY_ROUTES.read_text()
    placeholders = set(re.findall(r"\$\{(SUPPORT_GW_\w+)\}", routes))
    upstreams = {p for p in placeholders if p != "SUPPORT_GW_LISTEN"}
    assert len(upstreams) == 6
    # make up renders the same template with every placeholder
    up_sh = (REPO / "deploy" / "up.sh").read_text()
    assert "deploy/gateway/routes.conf.template" in up_sh
    assert placeholders <= set(re.findall(r"(SUPPORT_GW_\w+)=", up_sh))
    assert "services.webapp.main" in up_sh and "program gateway" in up_sh
    assert "gateway webapp" in (REPO / "deploy" / "down.sh").read_text()
    # compose mounts the file itself and points each upstream at a compose service's port
    gateway = compose["services"]["gateway"]
    assert gateway["image"].startswith("nginx:")
    (volume,) = gateway["volumes"]
    source, target = volume.split(":")[:2]
    assert (COMPOSE.parent / source).resolve() == GATEWAY_ROUTES
    assert target.startswith("/etc/nginx/templates/")
    env = gateway["environment"]
    for name in upstreams:
        host, port = env[name].split(":")
        assert host in compose["services"] and port == str(HTTP_PORT), name
    assert gateway["ports"] == [f"{HTTP_PORT}:{env['SUPPORT_GW_LISTEN']}"]
    # Kubernetes carries an identical copy, with upstreams that are Services of the manifests
    config = _of_kind(manifests, "ConfigMap")["gateway-routes"]
    assert config["data"]["default.conf.template"] == routes
    services = _of_kind(manifests, "Service")
    (container,) = _of_kind(manifests, "Deployment")["gateway"]["spec"]["template"]["spec"][
        "containers"
    ]
    k8s_env = {e["name"]: e.get("value") for e in container["env"]}
    for name in upstreams:
        host, port = k8s_env[name].split(":")
        assert host in services and int(port) == services[host]["spec"]["ports"][0]["port"], name
    (ingress,) = _of_kind(manifests, "Ingress").values()
    backends = {
        p["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert backends == {"gateway"}


def test_web_app_process_is_a_real_entry_point_with_probes_on_served_paths(
    compose: dict, manifests: list[dict]
) -> None:
    module = importlib.import_module("services.webapp.main")
    assert callable(module.main)
    served = _webapp_routes()
    assert {"/healthz", "/readyz", "/metrics"} <= served
    service = compose["services"]["webapp"]
    assert service["command"] == ["python", "-m", "services.webapp.main"]
    assert service["environment"]["SUPPORT_WEBAPP_API_URL"].startswith("http://gateway:")
    probe = re.search(r"127\.0\.0\.1:(\d+)(/\w+)", " ".join(service["healthcheck"]["test"]))
    assert probe and probe.group(1) == service["environment"]["SUPPORT_WEBAPP_PORT"]
    assert probe.group(2) in served
    (container,) = _of_kind(manifests, "Deployment")["webapp"]["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["command"] == ["python", "-m", "services.webapp.main"]
    env = {e["name"]: e for e in container["env"]}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert int(env["SUPPORT_WEBAPP_PORT"]["value"]) == ports["http"]
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe_name]["httpGet"]["path"] in served
    assert (
        env["SUPPORT_JWT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "seller-support-secrets"
    )
