"""CSV imports end to end: through the gateway, Kafka and the profile worker, read back through it."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, update

from cdpkit.settings import ServiceSettings
from deploy.launcher.stack import Stack
from services.ingest.adapters.import_jobs import ImportJobStore
from services.ingest.adapters.tables import import_jobs
from services.ingest.domain.import_job import ABANDONED, ImportJob
from services.ingest.import_cli import main as import_cli
from tests.factories import get_customer, unique, wait_for

CSV = {"Content-Type": "text/csv"}


def post_csv(
    gateway: httpx.Client, headers: dict[str, str], kind: str, text: str, name: str = "f.csv"
) -> httpx.Response:
    return gateway.post(
        f"/api/imports/{kind}", params={"filename": name}, content=text.encode(), headers={**headers, **CSV}
    )


def errors_of(job: dict[str, Any]) -> list[tuple[int, str | None]]:
    return [(error["row"], error["column"]) for error in job["errors"]]


def test_a_customers_file_becomes_profiles_and_its_bad_rows_are_reported(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    ann, bo = unique("ann"), unique("bo")
    text = (
        "user_id,email,first_name,city,created_at,plan\n"
        f"{ann},{ann}@example.com,Ann,Lyon,2020-05-06T07:08:09Z,gold\n"
        ",,Nobody,,,\n"
        f'{bo},not-an-email,"Bo, the ""second""",,,\n'
        f"{bo},{bo}@example.com,Bo,,last tuesday,\n"
        f"{bo},{bo}@example.com,Bo\n"
    )
    response = post_csv(gateway, admin_headers, "customers", text, "people.csv")
    assert response.status_code == 201, response.text
    job = response.json()
    assert (job["status"], job["filename"], job["rows_total"]) == ("completed", "people.csv", 5)
    assert (job["rows_accepted"], job["rows_rejected"], job["rows_duplicate"]) == (1, 4, 0)
    assert errors_of(job) == [(3, "user_id"), (4, "email"), (5, "created_at"), (6, None)]
    assert "has 3 cells" in job["errors"][3]["reason"]

    customer = wait_for(
        lambda: get_customer(gateway, admin_headers, ann), lambda r: r.status_code == 200, timeout_s=30
    ).json()
    assert customer["email"] == f"{ann}@example.com"
    # first_name and the address are fields of the profile (Customer 360), plan stays a trait.
    assert customer["first_name"] == "Ann" and customer["traits"]["plan"] == "gold"
    assert customer["city"] == "Lyon" and "address" not in customer["traits"]
    assert customer["first_seen_at"].startswith("2020-05-06T07:08:09")
    assert gateway.get(f"/api/imports/{job['id']}", headers=admin_headers).json() == job


def orders_csv(ann: str, o1: str, o2: str) -> str:
    return (
        "order_id,user_id,ordered_at,product_id,sku,name,category,brand,price,quantity,currency\n"
        f"{o1},{ann},2021-03-04T05:06:07Z,p1,SKU-1,Shirt,Apparel,Acme,20.00,2,usd\n"
        f"{o1},{ann},,p2,SKU-2,Socks,Apparel,Acme,5.5,1,\n"
        f"{o2},{ann},2021-04-01,p1,SKU-1,Shirt,Apparel,Acme,20.00,many,USD\n"
        f"{o2},{ann},,p3,SKU-3,Hat,Apparel,Acme,7,1,USD\n"
    )


def test_an_orders_file_gives_order_completed_events_dated_when_ordered_and_counted_once(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    ann, o1, o2 = unique("ann"), unique("o"), unique("o")
    text = orders_csv(ann, o1, o2)
    job = post_csv(gateway, admin_headers, "orders", text).json()
    assert (job["rows_total"], job["rows_accepted"], job["rows_rejected"]) == (4, 2, 2)
    assert errors_of(job) == [(4, "quantity"), (5, "order_id")]
    assert f"order {o2!r} is rejected because of row 4" in job["errors"][1]["reason"]

    events = wait_for(
        lambda: gateway.get(f"/api/customers/{ann}/events", headers=admin_headers),
        lambda r: r.status_code == 200 and r.json()["items"],
        timeout_s=30,
    ).json()["items"]
    [order] = events
    assert (order["type"], order["name"], order["event_id"]) == ("track", "Order Completed", f"order:{o1}")
    assert order["occurred_at"].startswith("2021-03-04T05:06:07")
    properties = order["payload"]["properties"]
    assert properties["total"] == 45.5 and properties["currency"] == "USD"
    assert [p["sku"] for p in properties["products"]] == ["SKU-1", "SKU-2"]

    again = post_csv(gateway, admin_headers, "orders", text).json()
    assert (again["rows_accepted"], again["rows_duplicate"], again["rows_rejected"]) == (0, 2, 2)
    assert again["id"] != job["id"]


def test_a_multipart_upload_works_and_the_file_name_comes_from_the_form(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    user = unique("mp")
    text = f'\ufeffuser_id,first_name\r\n{user},"Multi\r\nLine"\r\n'
    response = gateway.post(
        "/api/imports/customers",
        headers=admin_headers,
        data={"note": "ignored"},
        files={"file": ("C:\\exports\\shop customers.csv", text.encode(), "text/csv")},
    )
    assert response.status_code == 201, response.text
    job = response.json()
    assert (job["filename"], job["rows_accepted"], job["rows_rejected"]) == ("shop customers.csv", 1, 0)
    customer = wait_for(
        lambda: get_customer(gateway, admin_headers, user), lambda r: r.status_code == 200, timeout_s=30
    )
    assert customer.json()["first_name"] == "Multi\r\nLine"


def test_gzip_files_and_gzip_bodies_are_imported_and_other_encodings_refused(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    ann, o1, o2 = unique("ann"), unique("o"), unique("o")
    packed = gzip.compress(orders_csv(ann, o1, o2).encode())
    as_file = gateway.post(
        "/api/imports/orders",
        headers=admin_headers,
        files={"file": ("orders.csv.gz", packed, "application/gzip")},
    ).json()
    assert (as_file["filename"], as_file["rows_total"], as_file["rows_accepted"]) == ("orders.csv.gz", 4, 2)
    as_body = gateway.post(
        "/api/imports/orders",
        content=packed,
        headers={**admin_headers, **CSV, "Content-Encoding": "gzip"},
    ).json()
    assert (as_body["rows_total"], as_body["rows_duplicate"]) == (4, 2)  # the same orders again

    cut = gateway.post("/api/imports/orders", content=packed[:-30], headers={**admin_headers, **CSV})
    assert cut.status_code == 400 and "cut" in cut.json()["error"]["message"]
    brotli = gateway.post(
        "/api/imports/orders", content=b"x", headers={**admin_headers, **CSV, "Content-Encoding": "br"}
    )
    assert brotli.status_code == 415 and brotli.json()["error"]["code"] == "unsupported_media_type"


def test_missing_columns_fail_the_job_at_once_and_name_them(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    response = post_csv(gateway, admin_headers, "orders", "order_id,sku,price\no1,s,1\n" * 3000)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == (
        "missing required columns: ordered_at, product_id, quantity, currency, user_id (or email)"
    )
    job = gateway.get(f"/api/imports/{error['details']['job_id']}", headers=admin_headers).json()
    assert (job["status"], job["error"]) == ("failed", error["message"])


def test_a_file_over_the_gateways_body_limit_streams_through_and_the_report_is_capped(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    rows = 30_000  # about 1.4 MB, every row refused (so nothing reaches Kafka)
    text = "user_id,email\n" + "".join(f"u{i},no-at-sign-{i:0>24}\n" for i in range(rows))
    assert len(text) > 1024 * 1024
    job = post_csv(gateway, admin_headers, "customers", text).json()
    assert (job["rows_total"], job["rows_rejected"], job["bytes_read"]) == (rows, rows, len(text))
    assert (len(job["errors"]), job["errors_omitted"]) == (1000, rows - 1000)
    assert job["errors"][0] == {
        "row": 2,
        "column": "email",
        "reason": f"'no-at-sign-{0:0>24}' is not an e-mail address",
    }


def test_a_running_job_shows_its_progress_while_the_file_streams(
    stack: Stack, gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    release, answer = threading.Event(), {}

    def body() -> Iterator[bytes]:
        yield b"email\n" + b"nobody\n" * 100
        time.sleep(1.2)  # past the progress interval: the next piece makes ingest record the job
        yield b"nobody\n" * 100
        release.wait(30)
        yield b"nobody\n" * 100

    def upload() -> None:
        with httpx.Client(base_url=stack.gateway_url, timeout=60) as client:
            answer["job"] = client.post(
                "/api/imports/customers", content=body(), headers={**admin_headers, **CSV}
            ).json()

    sender = threading.Thread(target=upload)
    sender.start()
    try:
        running = wait_for(
            lambda: gateway.get("/api/imports", params={"limit": 1}, headers=admin_headers).json()["items"][
                0
            ],
            lambda job: job["status"] == "running" and job["rows_total"] >= 200,
        )
        progress = gateway.get(f"/api/imports/{running['id']}", headers=admin_headers).json()
        assert progress["rows_rejected"] >= 200 and progress["errors"][0]["row"] == 2
    finally:
        release.set()
        sender.join(30)
    assert answer["job"]["id"] == running["id"]
    assert (answer["job"]["status"], answer["job"]["rows_rejected"]) == ("completed", 300)


def test_jobs_are_listed_newest_first_and_only_in_their_workspace(
    gateway: httpx.Client, admin_headers: dict[str, str]
) -> None:
    ids = [post_csv(gateway, admin_headers, "customers", "email\n").json()["id"] for _ in range(3)]
    page = gateway.get("/api/imports", params={"limit": 2}, headers=admin_headers).json()
    assert [job["id"] for job in page["items"]] == ids[::-1][:2]
    assert "errors" not in page["items"][0]
    rest = gateway.get(
        "/api/imports", params={"limit": 1, "cursor": page["next_cursor"]}, headers=admin_headers
    )
    assert [job["id"] for job in rest.json()["items"]] == ids[:1]

    other = gateway.post("/api/workspaces", json={"name": unique("shop")}, headers=admin_headers).json()
    theirs = {"Authorization": f"Bearer {other['admin_key']}"}
    assert gateway.get(f"/api/imports/{ids[0]}", headers=theirs).status_code == 404
    assert gateway.get("/api/imports", headers=theirs).json()["items"] == []
    assert gateway.get("/api/imports/not-a-job", headers=admin_headers).status_code == 404


def test_the_command_line_streams_a_file_and_prints_the_summary(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ann, o1, o2 = unique("ann"), unique("o"), unique("o")
    path = tmp_path / "orders.csv"
    path.write_text(orders_csv(ann, o1, o2))
    status = import_cli(
        ["orders", str(path), "--gateway", stack.gateway_url, "--key", stack.credentials.admin_key]
    )
    out, err = capsys.readouterr()
    assert status == 0
    assert "completed  (orders.csv)" in out and "2 accepted, 0 duplicate, 2 rejected" in out
    assert "row 4 [quantity]: 'many' is not a whole number" in out
    assert "100%" in err and "MB/s" in err


async def test_a_job_whose_process_died_is_reported_failed_not_running_forever(
    stack: Stack, admin_headers: dict[str, str], settings: ServiceSettings
) -> None:
    gateway = httpx.AsyncClient(base_url=stack.gateway_url, headers=admin_headers)
    workspace = (await gateway.get("/api/workspaces/current")).json()["id"]
    store = ImportJobStore.create(settings)
    try:
        # What a process killed mid-upload leaves: a running job whose row stopped being rewritten.
        dead = ImportJob(workspace, "orders", "dead.csv", datetime.now(UTC) - timedelta(minutes=10))
        dead.rows_total = dead.rows_accepted = 40
        await store.add(dead)
        async with store.sessions() as session:
            await session.execute(
                update(import_jobs)
                .where(import_jobs.c.workspace_id == workspace, import_jobs.c.id == dead.id)
                .values(updated_at=func.now() - timedelta(minutes=5))
            )
            await session.commit()
        job = (await gateway.get(f"/api/imports/{dead.id}")).json()
        assert (job["status"], job["error"], job["rows_accepted"]) == ("failed", ABANDONED, 40)
        assert job["finished_at"] is not None
        stored = await store.get(workspace, dead.id)
        assert stored is not None and stored.status == "failed"
    finally:
        await store.close()
        await gateway.aclose()
