"""Local credentials: the bootstrap keys from the environment win; otherwise generated once and kept."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from deploy.launcher import layout as layout_module
from deploy.launcher.layout import Credentials, Layout


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Layout:
    monkeypatch.setattr(layout_module, "STATE", tmp_path)
    scratch = Layout.of("test")
    scratch.prepare()
    return scratch


def test_keys_given_in_the_environment_are_used_exactly(scratch: Layout) -> None:
    credentials, generated = Credentials.load_or_create(scratch, "my-admin-key", "my-write-key")
    assert generated
    assert (credentials.admin_key, credentials.write_key) == ("my-admin-key", "my-write-key")


def test_generated_credentials_are_kept_private_and_reused(scratch: Layout) -> None:
    first, generated = Credentials.load_or_create(scratch, None, None)
    again, generated_again = Credentials.load_or_create(scratch, None, None)
    assert generated and not generated_again
    assert first == again
    assert first.admin_key.startswith("cdp_admin_") and first.write_key.startswith("cdp_write_")
    assert len({first.admin_key, first.write_key, first.internal_token, first.postgres_password}) == 4
    assert stat.S_IMODE(scratch.credentials_file.stat().st_mode) == 0o600
