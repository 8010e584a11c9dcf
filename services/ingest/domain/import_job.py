"""An import job: what one uploaded file became, counted as it streams. Pure: no I/O."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.ingest.domain.csv_records import RowError

RUNNING, COMPLETED, FAILED = "running", "completed", "failed"
ABANDONED = (
    "the upload stopped with the ingest process that was reading it; upload the file again"
    " (rows already imported then count as duplicates)"
)


@dataclass
class ImportJob:
    workspace_id: str
    kind: str
    filename: str | None
    started_at: datetime
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = RUNNING
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    bytes_read: int = 0
    finished_at: datetime | None = None
    error: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_omitted: int = 0  # rejected rows past the report's cap
    max_errors: int = 1000
    updated_at: datetime | None = None  # when its row was last written (a running job's heartbeat)

    def reject(self, errors: Iterable[RowError]) -> None:
        """Count refused rows; the first `max_errors` are kept for the report."""
        for error in errors:
            self.rows_rejected += 1
            if len(self.errors) < self.max_errors:
                self.errors.append({"row": error.row, "column": error.column, "reason": error.reason})
            else:
                self.errors_omitted += 1

    def complete(self, now: datetime) -> None:
        self.status, self.finished_at = COMPLETED, now

    def fail(self, now: datetime, reason: str) -> None:
        self.status, self.finished_at, self.error = FAILED, now, reason

    def abandoned(self, now: datetime, stale_after_s: float) -> bool:
        """A running job whose process stopped writing its row: it died, and the job will never end."""
        if self.status != RUNNING or self.updated_at is None:
            return False
        return (now - self.updated_at).total_seconds() > stale_after_s

    def rows_per_second(self, now: datetime) -> float | None:
        """Rows read per second of the job so far (or of the whole job once it ended)."""
        seconds = ((self.finished_at or now) - self.started_at).total_seconds()
        return round(self.rows_total / seconds, 1) if seconds > 0 else None
