"""Import a CSV file through the gateway, with a progress bar on stderr.

Run: python -m services.ingest.import_cli {customers|orders} FILE [--gateway URL] [--key ADMIN_KEY]
(defaults: $CDP_GATEWAY_URL, else http://127.0.0.1:8000; $CDP_ADMIN_KEY). Exit status 0 when the
job completed (rejected rows are listed), 1 when it failed or could not be sent.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx

CHUNK_BYTES = 256 * 1024
SHOWN_ERRORS = 20


class ProgressBar:
    """`[#####.....]  42%  12.3/29.1 MB  8.1 MB/s`, redrawn in place at most ten times a second."""

    def __init__(self, total: int, out: TextIO, width: int = 30) -> None:
        self.total = max(total, 1)
        self.out = out
        self.width = width
        self.started = time.monotonic()
        self._drawn = 0.0

    def update(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < 0.1:
            return
        self._drawn = now
        share = min(done / self.total, 1.0)
        filled = int(share * self.width)
        rate = done / max(now - self.started, 1e-6) / 1e6
        self.out.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {share:4.0%}"
            f"  {done / 1e6:.1f}/{self.total / 1e6:.1f} MB  {rate:.1f} MB/s"
        )
        self.out.flush()

    def finish(self, done: int, note: str) -> None:
        self.update(done, force=True)
        self.out.write(f"  {note}\n")
        self.out.flush()


def read_chunks(path: Path, bar: ProgressBar) -> Iterator[bytes]:
    """The file in pieces, moving the bar as each is handed to the connection."""
    sent = 0
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            sent += len(chunk)
            yield chunk
            bar.update(sent)
    bar.finish(sent, "sent; waiting for the last rows to be published…")


def summary(job: dict[str, Any]) -> str:
    lines = [
        f"job {job['id']}: {job['status']}  ({job.get('filename') or 'no name'})",
        f"  rows {job['rows_total']}: {job['rows_accepted']} accepted, {job['rows_duplicate']} duplicate,"
        f" {job['rows_rejected']} rejected  ({job.get('rows_per_second') or 0:,.0f} rows/s)",
    ]
    if job.get("error"):
        lines.append(f"  error: {job['error']}")
    errors = job.get("errors") or []
    for error in errors[:SHOWN_ERRORS]:
        column = f" [{error['column']}]" if error.get("column") else ""
        lines.append(f"  row {error['row']}{column}: {error['reason']}")
    more = len(errors) - SHOWN_ERRORS + int(job.get("errors_omitted") or 0)
    if more > 0:
        lines.append(f"  … and {more} more rejected rows (GET /api/imports/{job['id']})")
    return "\n".join(lines)


def upload(kind: str, path: Path, gateway: str, key: str, out: TextIO | None = None) -> tuple[int, Any]:
    """Stream the file to `POST /api/imports/{kind}`; the HTTP status and the JSON answer."""
    bar = ProgressBar(path.stat().st_size, out or sys.stderr)
    with httpx.Client(base_url=gateway, timeout=httpx.Timeout(60.0, read=600.0)) as client:
        response = client.post(
            f"/api/imports/{kind}",
            params={"filename": path.name},
            headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
            content=read_chunks(path, bar),
        )
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, {"error": {"message": response.text[:500]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("kind", choices=["customers", "orders"])
    parser.add_argument("file", type=Path)
    parser.add_argument("--gateway", default=os.environ.get("CDP_GATEWAY_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--key", default=os.environ.get("CDP_ADMIN_KEY"), help="admin key (write scope)")
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("an admin key is needed: --key or $CDP_ADMIN_KEY")
    if not args.file.is_file():
        parser.error(f"no such file: {args.file}")
    try:
        status, body = upload(args.kind, args.file, args.gateway, args.key)
    except httpx.HTTPError as error:
        print(f"\nthe upload failed: {error}", file=sys.stderr)
        return 1
    if status == 201:
        print(summary(body))
        return 0
    problem = body.get("error", {}) if isinstance(body, dict) else {}
    print(f"import refused (HTTP {status}): {problem.get('message', body)}", file=sys.stderr)
    details = problem.get("details") if isinstance(problem, dict) else None
    job_id = details.get("job_id") if isinstance(details, dict) else None
    if job_id:
        print(f"  job {job_id}: GET /api/imports/{job_id}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
