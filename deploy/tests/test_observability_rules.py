"""Prometheus's files checked by promtool (Debian's prometheus package, installed by `make setup`).

The alert rules are linted (`promtool check rules`) and unit-tested with input series (`promtool
test rules`); both scrape configurations (docker-compose's and the one `make run` writes) are
checked with `promtool check config`. No stack is needed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.launcher.layout import Layout
from deploy.launcher.prometheus import PROMETHEUS_OFFSET, RULES, scrape_config
from deploy.launcher.services import SERVICES

PROMETHEUS = Path(__file__).resolve().parents[1] / "prometheus"
RULE_TESTS = PROMETHEUS / "tests"


def promtool(*args: str, cwd: Path = PROMETHEUS) -> str:
    """Run promtool; its output, or a failure with it."""
    executable = shutil.which("promtool")
    if executable is None:
        pytest.fail("promtool is missing: `make setup` installs Debian's prometheus package")
    result = subprocess.run([executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_every_rule_file_passes_promtool_check_rules() -> None:
    files = sorted(RULES.glob("*.yml"))
    assert files, f"no rule files in {RULES}"
    output = promtool("check", "rules", *map(str, files))
    assert "SUCCESS" in output


def test_the_alerts_fire_and_stay_quiet_as_their_unit_tests_expect() -> None:
    files = sorted(RULE_TESTS.glob("*.test.yml"))
    assert files, f"no rule tests in {RULE_TESTS}"
    output = promtool("test", "rules", *map(str, files))
    assert "SUCCESS" in output and "FAILED" not in output


def test_every_alert_has_a_unit_test_that_expects_it_to_fire() -> None:
    alerts = {
        rule["alert"]
        for path in RULES.glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    fired = {
        case["alertname"]
        for path in RULE_TESTS.glob("*.test.yml")
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts - fired == set(), "alerts no test expects to fire"
    assert {
        "CdpServiceDown",
        "CdpConsumerLagGrowing",
        "CdpDeadLetters",
        "CdpHttp5xxRate",
        "CdpSchedulerLate",
        "CdpOutboxBacklog",
    } <= alerts


def test_the_compose_scrape_config_passes_promtool(tmp_path: Path) -> None:
    # Compose mounts the rules at /etc/prometheus/rules: point the glob at the repository's copy.
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    config["rule_files"] = [str(RULES / "*.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    promtool("check", "config", str(path))


def test_the_local_scrape_config_covers_every_process_and_passes_promtool(tmp_path: Path) -> None:
    layout = Layout.of("run")
    config = scrape_config(layout)
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    output = promtool("check", "config", str(path))
    assert "SUCCESS" in output

    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}  # type: ignore[attr-defined]
    assert jobs["gateway"] == ["127.0.0.1:8000"]
    assert jobs["prometheus"] == [f"127.0.0.1:{8000 + PROMETHEUS_OFFSET}"]
    assert set(jobs) == {service.name for service in SERVICES} | {"prometheus"}
    # The same job names as docker-compose's Prometheus, so dashboards and alerts work on both.
    compose = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert {job["job_name"] for job in compose["scrape_configs"]} == set(jobs)
