"""SQL storage of import jobs; each call is its own short transaction (progress must be visible)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cdpkit.db import UnitOfWork, create_engine, session_factory
from cdpkit.settings import ServiceSettings
from services.ingest.adapters.tables import import_jobs
from services.ingest.domain.import_job import RUNNING, ImportJob

_MUTABLE = (
    "status",
    "rows_total",
    "rows_accepted",
    "rows_rejected",
    "rows_duplicate",
    "bytes_read",
    "finished_at",
    "error",
    "errors",
    "errors_omitted",
)


def _values(job: ImportJob) -> dict[str, Any]:
    return {name: getattr(job, name) for name in _MUTABLE}


def _to_job(row: RowMapping) -> ImportJob:
    return ImportJob(
        workspace_id=row["workspace_id"],
        id=row["id"],
        kind=row["kind"],
        filename=row["filename"],
        started_at=row["started_at"],
        **{name: row[name] for name in _MUTABLE if name != "errors"},
        errors=list(row.get("errors") or []),
        updated_at=row["updated_at"],
    )


@dataclass
class ImportJobStore:
    """The ingest service's database: the engine and the import job queries."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def create(cls, settings: ServiceSettings) -> ImportJobStore:
        engine = create_engine(settings)
        return cls(engine, session_factory(engine))

    async def close(self) -> None:
        await self.engine.dispose()

    async def add(self, job: ImportJob) -> None:
        async with UnitOfWork(self.sessions) as uow:
            await uow.session.execute(
                import_jobs.insert().values(
                    workspace_id=job.workspace_id,
                    id=job.id,
                    kind=job.kind,
                    filename=job.filename,
                    started_at=job.started_at,
                    **_values(job),
                )
            )
            await uow.commit()

    async def save(self, job: ImportJob) -> None:
        """Write the job's counters, status and error report as they are now."""
        async with UnitOfWork(self.sessions) as uow:
            await uow.session.execute(
                update(import_jobs)
                .where(import_jobs.c.workspace_id == job.workspace_id, import_jobs.c.id == job.id)
                .values(**_values(job), updated_at=func.now())
            )
            await uow.commit()

    async def fail_abandoned(self, job: ImportJob, stale_before: datetime) -> bool:
        """Record `job` as failed if its row still says running and was not written since `stale_before`."""
        async with UnitOfWork(self.sessions) as uow:
            result = await uow.session.execute(
                update(import_jobs)
                .where(
                    import_jobs.c.workspace_id == job.workspace_id,
                    import_jobs.c.id == job.id,
                    import_jobs.c.status == RUNNING,
                    import_jobs.c.updated_at < stale_before,
                )
                .values(**_values(job), updated_at=func.now())
            )
            await uow.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def get(self, workspace_id: str, job_id: str) -> ImportJob | None:
        async with UnitOfWork(self.sessions) as uow:
            row = (
                (
                    await uow.session.execute(
                        select(import_jobs).where(
                            import_jobs.c.workspace_id == workspace_id, import_jobs.c.id == job_id
                        )
                    )
                )
                .mappings()
                .first()
            )
        return _to_job(row) if row else None

    async def list(
        self, workspace_id: str, before: tuple[datetime, str] | None, limit: int
    ) -> list[ImportJob]:
        """The workspace's jobs, newest first; `before` is the (started_at, id) of the last one seen."""
        # A listing leaves out the error reports (up to a thousand entries each); a job's GET has them.
        columns = [column for column in import_jobs.c if column.name != "errors"]
        query = select(*columns).where(import_jobs.c.workspace_id == workspace_id)
        if before:
            started, job_id = before
            query = query.where(
                or_(
                    import_jobs.c.started_at < started,
                    and_(import_jobs.c.started_at == started, import_jobs.c.id < job_id),
                )
            )
        query = query.order_by(import_jobs.c.started_at.desc(), import_jobs.c.id.desc()).limit(limit)
        async with UnitOfWork(self.sessions) as uow:
            rows = (await uow.session.execute(query)).mappings().all()
        return [_to_job(row) for row in rows]
