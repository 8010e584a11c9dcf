"""A seeded, realistic shop — catalog, customers with personas, two years of Segment calls — and a feeder.

`Shop(customers, seed).stream()` yields each customer's calls in time order, one customer at a time;
`feed.feed()` sends them through the gateway's `/v1/batch`. See docs/datagen.md.
"""

from deploy.datagen.catalog import Catalog, Product, build_catalog
from deploy.datagen.customers import PERSONAS, Customer, Persona, persona_of
from deploy.datagen.shop import Shop

__all__ = ["PERSONAS", "Catalog", "Customer", "Persona", "Product", "Shop", "build_catalog", "persona_of"]
