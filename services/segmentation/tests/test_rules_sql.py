"""The SQL compiler's shape: parameters only, `$1`/`$2` reserved, the read model's columns.

What the SQL *means* is checked against the in-memory evaluator on PostgreSQL (test_rules_agree.py).
"""

from __future__ import annotations

import re

import pytest

from schemas.profiles import Profile
from schemas.rules import parse_rule
from services.segmentation.domain.sql import compile_rule, count_query, member_query, profile_columns

HOSTILE = "x'); DROP TABLE profiles; --"


def test_profile_columns_follow_the_profile_contract() -> None:
    columns = dict(profile_columns())
    assert list(columns)[:3] == ["workspace_id", "customer_id", "version"]
    assert set(columns) == {"workspace_id", *Profile.model_fields}
    assert columns["version"] == "integer"
    assert columns["email"] == "text"
    assert columns["rfm_segment"] == "text"
    assert columns["lifetime_value"] == "double precision"
    assert columns["orders_count"] == "bigint"
    assert columns["email_subscribed"] == "boolean"
    assert columns["last_order_at"] == "timestamptz"
    assert columns["traits"] == "jsonb"
    assert columns["anonymous_ids"] == "jsonb"


def test_values_and_names_from_the_rule_are_parameters_never_sql_text() -> None:
    rule = parse_rule(
        {
            "all": [
                {"field": "email", "op": "contains", "value": HOSTILE},
                {"field": f"traits.{HOSTILE}", "op": "eq", "value": HOSTILE},
                {
                    "event": HOSTILE,
                    "op": "count_gte",
                    "value": 3,
                    "where": [{"property": HOSTILE, "op": "exists"}],
                },
                {"field": "last_order_at", "op": "after", "value": "2026-01-01"},
            ]
        }
    )
    compiled = compile_rule(rule)
    assert "DROP" not in compiled.where_sql
    assert HOSTILE in compiled.params
    numbers = sorted({int(n) for n in re.findall(r"\$(\d+)", member_query(compiled))})
    assert numbers == list(range(1, len(compiled.params) + 3))


def test_queries_scope_by_workspace_and_always_name_now() -> None:
    compiled = compile_rule(parse_rule({"field": "email", "op": "exists"}), "seg_test")
    members = member_query(compiled, "seg_test")
    assert members.startswith("SELECT p.customer_id FROM seg_test.profiles p WHERE p.workspace_id = $1")
    assert "$2::timestamptz" in members  # PostgreSQL must be able to type every parameter
    assert count_query(compiled, "seg_test").startswith("SELECT count(*) FROM seg_test.profiles p")


def test_a_rule_under_not_counts_null_as_false() -> None:
    compiled = compile_rule(parse_rule({"not": {"field": "state", "op": "eq", "value": "CA"}}))
    assert compiled.where_sql.startswith("NOT COALESCE(")
    plain = compile_rule(parse_rule({"field": "state", "op": "eq", "value": "CA"}))
    assert "COALESCE" not in plain.where_sql


def test_text_is_folded_once_in_python_and_like_wildcards_are_escaped() -> None:
    compiled = compile_rule(parse_rule({"field": "email", "op": "starts_with", "value": "50%_A\\"}))
    assert compiled.params == ["50\\%\\_a\\\\%"]
    assert "COLLATE pg_c_utf8" in compiled.where_sql


def test_a_schema_name_must_be_an_identifier() -> None:
    rule = parse_rule({"field": "email", "op": "exists"})
    with pytest.raises(ValueError, match="not a schema name"):
        compile_rule(rule, "segmentation; DROP")
    with pytest.raises(ValueError, match="not a schema name"):
        member_query(compile_rule(rule), "a.b")
