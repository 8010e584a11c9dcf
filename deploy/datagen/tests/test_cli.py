"""The command line: counts without sending, calls or the catalog to a file, the key from the stack."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from deploy.datagen import __main__ as cli
from deploy.datagen.shop import Shop
from deploy.datagen.tests.conftest import END
from deploy.launcher.layout import Layout


def test_dry_run_counts_calls_per_event_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--customers", "20", "--seed", "3", "--end", "2026-11-21", "--dry-run"]) == 0
    out = capsys.readouterr().out
    calls = list(Shop(20, seed=3, end=END).calls())
    orders = sum(1 for c in calls if c.get("event") == "Order Completed")
    assert out.startswith(f"20 customers, {len(calls)} calls")
    assert any(line.split() == ["Order", "Completed", str(orders)] for line in out.splitlines())
    assert "personas: " in out


def test_jsonl_writes_the_same_calls_the_feed_would_send(tmp_path: Path) -> None:
    path, catalog = tmp_path / "shop.jsonl", tmp_path / "products.jsonl"
    args = [
        "--customers",
        "10",
        "--seed",
        "3",
        "--end",
        "2026-11-21",
        "--jsonl",
        str(path),
        "--catalog",
        str(catalog),
    ]
    assert cli.main(args) == 0
    written = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert written == list(Shop(10, seed=3, end=END).calls())
    products = [orjson.loads(line) for line in catalog.read_bytes().splitlines()]
    assert len(products) == 300 and products[0]["product_id"] == "P00001"


def test_the_write_key_defaults_to_the_stack_s(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({"write_key": "wk_from_file"}))
    monkeypatch.setattr(Layout, "credentials_file", property(lambda self: credentials))
    monkeypatch.delenv("CDP_BOOTSTRAP_WRITE_KEY", raising=False)
    assert cli._stack_write_key("run") == "wk_from_file"
    monkeypatch.setenv("CDP_BOOTSTRAP_WRITE_KEY", "wk_from_env")
    assert cli._stack_write_key("run") == "wk_from_env"
    credentials.unlink()
    monkeypatch.delenv("CDP_BOOTSTRAP_WRITE_KEY")
    assert cli._stack_write_key("run") is None
