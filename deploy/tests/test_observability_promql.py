"""The PromQL name extractor the dashboard/alert check relies on: it must neither miss nor invent names."""

from __future__ import annotations

import json

from tests.promql_names import (
    DASHBOARDS,
    dashboard_expressions,
    family_of,
    metric_names,
    rule_expressions,
)


def test_names_come_out_of_functions_aggregations_and_binary_operators() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, group) (rate(cdp_a_seconds_bucket{topic="x:y", le!="1"}'
        "[$__rate_interval]))) / on (group) group_left (service)"
        " sum without (instance) (cdp_b_total offset 5m) > bool 3 unless cdp_c"
    )
    assert metric_names(expr) == {"cdp_a_seconds_bucket", "cdp_b_total", "cdp_c"}


def test_label_values_strings_durations_and_keywords_are_not_names() -> None:
    assert metric_names('up{job=~"profile|rate(x)"} == 0 and on() vector(1)') == {"up"}
    assert metric_names("sum(rate(x_total[5m:1m])) or absent(y)") == {"x_total", "y"}
    assert metric_names('{__name__="ignored"}') == set()


def test_histogram_and_counter_samples_resolve_to_their_family() -> None:
    families = {"cdp_http_request_duration_seconds", "cdp_http_requests"}
    assert (
        family_of("cdp_http_request_duration_seconds_bucket", families) == "cdp_http_request_duration_seconds"
    )
    assert family_of("cdp_http_requests_total", families) == "cdp_http_requests"
    assert family_of("cdp_unknown_total", families) is None


def test_every_dashboard_is_valid_json_with_queries_on_the_datasource_variable() -> None:
    boards = sorted(DASHBOARDS.glob("*.json"))
    names = {path.stem for path in boards}
    assert {"cdp-pipeline", "cdp-kafka", "cdp-gateway", "cdp-ingest", "cdp-profile"} <= names
    for path in boards:
        board = json.loads(path.read_text())
        assert board["uid"] == path.stem
        for panel in board["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == "${datasource}", (path.name, panel["title"])
    expressions = list(dashboard_expressions())
    assert len(expressions) > 100
    assert all(metric_names(expr) for _, _, expr in expressions), "a query reads no metric"
    assert all(metric_names(expr) for _, _, expr in rule_expressions())
