"""Analytics for the dashboards: KPIs with trends, revenue, customers, categories, satisfaction, churn, RFM.

Served by the profile API (`python -m services.profile api`) under /api/analytics, read from the
rollups that the worker keeps in step with the orders read model (docs/analytics.md). The app
includes `router`; the routes are in analytics_sales.py and analytics_customers.py.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.profile.entrypoints import analytics_customers, analytics_sales

router = APIRouter(prefix="/api/analytics", tags=["analytics"])
router.include_router(analytics_sales.router)
router.include_router(analytics_customers.router)
