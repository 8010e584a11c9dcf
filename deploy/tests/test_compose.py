"""docker-compose.yml checked offline: against the Compose Specification and against the code it runs.

No Docker here, so these tests are what stands between a typo in the compose file and a stack that
does not start: an unknown key, a module or subcommand that does not exist, an environment variable
no Settings class reads, a port Prometheus does not scrape, a dependency on a missing service.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from cdpkit.settings import ServiceSettings
from deploy.launcher.services import MIGRATED, SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = Path(__file__).with_name("compose-spec.json")
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ENV_EXAMPLE = ROOT / "deploy" / "compose.env.example"

SECRETS = {
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "CDP_INTERNAL_TOKEN",
    "CDP_BOOTSTRAP_ADMIN_KEY",
    "CDP_BOOTSTRAP_WRITE_KEY",
}
# Read by the Python runtime itself, not by any Settings class.
PROCESS_ENV = {"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONFAULTHANDLER"}
# Modules that read os.environ directly instead of a Settings class, and what they read.
SCRIPT_ENV = {"deploy.create_topics": {"KAFKA_BOOTSTRAP_SERVERS"}}
SUBCOMMANDS = {"api", "worker", "migrate"}
SERVING = {"api", "worker"}

PYTHON_M = re.compile(r"\bpython3?\s+-m\s+([\w.]+)(?:\s+(\w+))?")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


@cache
def compose() -> dict[str, Any]:
    """The compose file as compose itself reads it (anchors and merge keys resolved)."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def services() -> dict[str, dict[str, Any]]:
    """Every service of the compose file by name."""
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, whichever of the two forms (mapping or KEY=VALUE list) it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def python_commands(service: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Each `python -m MODULE [SUBCOMMAND]` in a service's command, also inside `sh -c "... && ..."`."""
    command = service.get("command") or ""
    text = " ".join(command) if isinstance(command, list) else command
    return [(module, sub or None) for module, sub in PYTHON_M.findall(text)]


def app_services() -> dict[str, list[tuple[str, str | None]]]:
    """The services that run this repository's code, with the modules each one runs."""
    return {name: cmds for name, service in services().items() if (cmds := python_commands(service))}


def serving_services() -> dict[str, tuple[str, str]]:
    """The long-running processes (`api` or `worker`): name -> (module, subcommand)."""
    return {
        name: (module, sub) for name, cmds in app_services().items() for module, sub in cmds if sub in SERVING
    }


def http_port(name: str) -> int:
    """The HTTP_PORT a service is configured with (a missing one fails the calling test)."""
    return int(environment(services()[name])["HTTP_PORT"])


def allowed_env(module: str) -> set[str]:
    """The environment variables a module reads: its Settings fields, upper-cased as in the file."""
    if module in SCRIPT_ENV:
        return SCRIPT_ENV[module]
    settings = importlib.import_module(f"{module}.settings").Settings
    assert issubclass(settings, ServiceSettings), f"{module}.settings.Settings is no ServiceSettings"
    return {field.upper() for field in settings.model_fields}


def example_values() -> dict[str, str]:
    """The variables deploy/compose.env.example sets (what `cp ... .env` gives compose)."""
    lines = (line.strip() for line in ENV_EXAMPLE.read_text().splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Resolve ${...} the way compose does for the forms this file uses; `$$` is a literal `$`."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if name in variables:
            return variables[name]
        assert operator and operator.endswith("-"), f"${{{name}}} has no value and no default"
        return argument

    return VARIABLE.sub(one, value).replace("$$", "$")


def prometheus_targets() -> dict[str, int]:
    """host -> port of every static target Prometheus scrapes at /metrics."""
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    targets: dict[str, int] = {}
    for job in config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics", job["job_name"]
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                targets[host] = int(port)
    return targets


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    # jsonschema does not know the https spelling of the draft-07 URI the file declares.
    assert "draft-07" in schema["$schema"], f"the schema now declares {schema['$schema']}: pick its validator"
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def command_problem(module: str, sub: str | None) -> str | None:
    """What is wrong with `python -m MODULE SUB`, or None."""
    spec = importlib.util.find_spec(module)
    if module in SCRIPT_ENV:
        if spec is None:
            return f"no module {module}"
        return None if sub is None else f"{module} takes no subcommand, got {sub}"
    if (
        spec is None
        or not spec.submodule_search_locations
        or not importlib.util.find_spec(f"{module}.__main__")
    ):
        return f"no package {module} with a __main__"
    if sub not in SUBCOMMANDS:
        return f"{module} {sub}: the subcommand is not one of {sorted(SUBCOMMANDS)}"
    if sub == "migrate" and not (Path(spec.submodule_search_locations[0]) / "migrations").is_dir():
        return f"{module} has no migrations/ to run"
    # cdpkit.cli offers `worker` only where the service has one; the launcher runs each of them.
    if sub == "worker" and module not in {p.module for p in SERVICES if p.command == "worker"}:
        return f"{module} has no worker"
    return None


def test_every_python_command_names_an_existing_module_and_subcommand() -> None:
    assert app_services(), "no service runs `python -m ...`"
    problems = [
        f"{name}: {problem}"
        for name, cmds in app_services().items()
        for module, sub in cmds
        if (problem := command_problem(module, sub))
    ]
    assert not problems, "\n".join(problems)


def test_compose_runs_every_process_the_launcher_runs() -> None:
    serving = serving_services()
    for process in SERVICES:
        assert serving.get(process.name) == (process.module, process.command), process.name
        assert http_port(process.name) == 8000 + process.port_offset, process.name
    migrations = {module for cmds in app_services().values() for module, sub in cmds if sub == "migrate"}
    assert migrations == set(MIGRATED)


def test_environment_variables_are_fields_of_the_service_settings() -> None:
    problems = []
    for name, cmds in app_services().items():
        names = set(environment(services()[name])) - PROCESS_ENV
        for module, _ in cmds:
            if unknown := sorted(names - allowed_env(module)):
                problems.append(f"{name}: {module} reads no {', '.join(unknown)}")
    assert not problems, "\n".join(problems)


def test_settings_accept_the_environment_compose_gives_them() -> None:
    variables = example_values()
    checked = []
    for name, cmds in app_services().items():
        values = {
            key.lower(): interpolate(value, variables) for key, value in environment(services()[name]).items()
        }
        for module, _ in cmds:
            if module not in SCRIPT_ENV:
                settings = importlib.import_module(f"{module}.settings").Settings
                built = settings(
                    **{key: value for key, value in values.items() if key in settings.model_fields}
                )
                if "http_port" in values:
                    assert built.http_port == int(values["http_port"]), name
                checked.append(module)
    assert {"gateway", "services.ingest", "services.profile"} <= set(checked)


def test_serving_processes_listen_on_all_interfaces() -> None:
    for name in serving_services():
        assert environment(services()[name]).get("HTTP_HOST") == "0.0.0.0", name


def test_prometheus_scrapes_every_process_on_its_http_port() -> None:
    targets = prometheus_targets()
    for name in serving_services():
        assert targets.get(name) == http_port(name), (
            f"{name}: HTTP_PORT {http_port(name)}, scraped at {targets.get(name)}"
        )
    for host in targets:
        assert host == "localhost" or host in services(), f"Prometheus scrapes {host}, which is no service"


def test_gateway_points_at_each_upstream_port() -> None:
    env = environment(services()["gateway"])
    urls = {key.removesuffix("_URL").lower(): url for key, url in env.items() if key.endswith("_URL")}
    urls |= dict(pair.split("=", 1) for pair in env.get("EXTRA_HEALTH_URLS", "").split(",") if pair)
    for upstream, url in urls.items():
        if upstream in {"database", "redis"}:
            continue
        assert url == f"http://{upstream}:{http_port(upstream)}", f"gateway: {upstream} at {url}"


def test_depends_on_names_existing_services_with_conditions() -> None:
    names = set(services())
    for name, service in services().items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        assert set(depends_on) <= names, f"{name} depends on missing {sorted(set(depends_on) - names)}"


def test_services_start_after_topics_and_migrations() -> None:
    done = {"condition": "service_completed_successfully"}
    for name in serving_services():
        depends_on = services()[name]["depends_on"]
        assert depends_on.get("topics") == done and depends_on.get("migrate") == done, name


def test_secrets_have_no_default_values() -> None:
    text = COMPOSE_FILE.read_text()
    uses = [(m.group(1), m.group(2)) for m in VARIABLE.finditer(text) if m.group(1) in SECRETS]
    assert {secret for secret, _ in uses} == SECRETS, "every secret is used"
    assert all(operator == ":?" for _, operator in uses), f"a secret without ${{VAR:?message}}: {uses}"


def test_env_example_lists_every_variable_without_a_default() -> None:
    required = {
        m.group(1)
        for m in VARIABLE.finditer(COMPOSE_FILE.read_text())
        if not (m.group(2) or "").endswith("-")
    }
    assert required <= set(example_values()), sorted(required - set(example_values()))
