"""Stored flows are parsed once per version: an edit is never served from the parse of the old one."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from services.campaigns.adapters.definitions import flow_of
from services.campaigns.domain.flow import Delay
from services.campaigns.tests.flows import WELCOME


def row(definition: dict[str, Any], version: int, flow_id: str = "f1") -> dict[str, Any]:
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "workspace_id": "ws",
        "flow_id": flow_id,
        "version": version,
        "updated_at": stamp,
        "definition": definition,
    }


def test_one_version_is_parsed_once_and_an_edit_is_parsed_again() -> None:
    first = flow_of(row(WELCOME, 1))
    assert flow_of(row(WELCOME, 1)) is first
    edited = copy.deepcopy(WELCOME)
    edited["steps"][1]["seconds"] = 60
    second = flow_of(row(edited, 2))
    assert second is not first
    assert [s.seconds for s in second.steps if isinstance(s, Delay)] == [60]
    assert flow_of(row(WELCOME, 1, flow_id="f2")) is not first  # another flow, its own entry
