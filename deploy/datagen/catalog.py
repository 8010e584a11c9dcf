"""The shop's product catalog: ~10 categories, ~20 brands, a few hundred products, seeded."""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DAY = 86_400.0


@dataclass(frozen=True)
class Category:
    name: str
    code: str
    slug: str
    share: float  # how much of the shop's traffic and sales the category draws
    median_price: float
    spread: float  # sigma of the log-normal price
    nouns: tuple[str, ...]


# name, code in SKUs, URL slug, share of traffic and sales, median price, price spread; product nouns.
CATEGORIES = (
    Category("Tops", "TOP", "tops", 0.16, 38, 0.4,
             ("Crew Tee", "Henley", "Oxford Shirt", "Merino Sweater", "Hoodie", "Polo", "Flannel Shirt")),
    Category("Shoes", "SHO", "shoes", 0.14, 95, 0.35,
             ("Trail Runner", "Road Runner", "Sneaker", "Hiking Boot", "Chelsea Boot", "Loafer", "Sandal")),
    Category("Accessories", "ACC", "accessories", 0.12, 24, 0.55,
             ("Wool Socks", "Beanie", "Cap", "Leather Belt", "Scarf", "Gloves", "Sunglasses", "Wallet")),
    Category("Bottoms", "BOT", "bottoms", 0.1, 62, 0.35,
             ("Chino", "Slim Jean", "Jogger", "Cargo Pant", "Short", "Legging", "Trail Pant")),
    Category("Home & Kitchen", "HOM", "home-kitchen", 0.1, 45, 0.6,
             ("Pour-Over Kettle", "Mug Set", "Chef's Knife", "Linen Throw", "Cast Iron Skillet", "Candle")),
    Category("Beauty", "BEA", "beauty", 0.09, 22, 0.45,
             ("Face Serum", "Lip Balm Set", "Moisturizer", "Shampoo Bar", "Sunscreen SPF 50", "Body Wash")),
    Category("Outerwear", "OUT", "outerwear", 0.08, 150, 0.45,
             ("Rain Shell", "Down Parka", "Fleece Jacket", "Puffer Vest", "Trench Coat", "Windbreaker")),
    Category("Electronics", "ELE", "electronics", 0.08, 110, 0.7,
             ("Wireless Earbuds", "Speaker", "Power Bank", "Smartwatch", "Headlamp", "Action Camera")),
    Category("Bags", "BAG", "bags", 0.07, 75, 0.5,
             ("Daypack", "Tote", "Duffel", "Sling Bag", "Laptop Pack", "Weekender", "Hip Pack")),
    Category("Sports & Outdoors", "SPO", "sports-outdoors", 0.06, 58, 0.65,
             ("Yoga Mat", "Water Bottle", "Camping Chair", "Trekking Poles", "Jump Rope", "Sleeping Bag")),
)  # fmt: skip

# Brand, its code in SKUs, and the categories it sells in.
BRANDS = (
    ("Northpeak", "NPK", ("Shoes", "Outerwear", "Sports & Outdoors")),
    ("Aerlo", "AER", ("Outerwear", "Tops", "Bottoms")),
    ("Kestrel", "KES", ("Bags", "Accessories")),
    ("Lumen & Co", "LUM", ("Home & Kitchen", "Electronics")),
    ("Harbor Lane", "HBL", ("Tops", "Bottoms", "Accessories")),
    ("Verdant", "VER", ("Beauty",)),
    ("Solace", "SOL", ("Beauty", "Home & Kitchen")),
    ("Brightwell", "BRW", ("Electronics",)),
    ("Tidewater", "TDW", ("Shoes", "Bags")),
    ("Ironbark", "IRB", ("Sports & Outdoors", "Outerwear", "Bags")),
    ("Fernhill", "FRN", ("Home & Kitchen",)),
    ("Copperleaf", "CPL", ("Home & Kitchen", "Accessories")),
    ("Alder & Ash", "ALA", ("Tops", "Bottoms", "Outerwear")),
    ("Marlowe", "MRL", ("Shoes", "Accessories", "Bags")),
    ("Quillon", "QLN", ("Electronics", "Sports & Outdoors")),
    ("Saltmarsh", "SLT", ("Tops", "Shoes")),
    ("Juniper Row", "JNR", ("Beauty", "Accessories")),
    ("Redcliff", "RDC", ("Sports & Outdoors", "Shoes")),
    ("Nimbus", "NMB", ("Electronics", "Bags")),
    ("Halcyon", "HAL", ("Home & Kitchen", "Beauty", "Tops")),
)
ADJECTIVES = (
    "Classic", "Everyday", "Pro", "Lightweight", "Urban", "Alpine", "Coastal", "Essential",
    "Heritage", "Summit", "Nomad", "Ultra", "Eco", "Signature", "Voyager", "Field",
)  # fmt: skip


@dataclass(frozen=True)
class Product:
    """One product of the catalog, as a catalog service would hold it."""

    product_id: str
    sku: str
    name: str
    category: str
    brand: str
    price: float
    launched_at: float  # epoch seconds, UTC
    popularity: float  # relative weight of being viewed and bought

    def line(self) -> dict[str, Any]:
        """The product's fields as event properties (Segment's product object)."""
        return {
            "product_id": self.product_id,
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "brand": self.brand,
            "price": self.price,
        }

    def as_dict(self) -> dict[str, Any]:
        """The product as a JSON-able record, with its launch date."""
        launch = datetime.fromtimestamp(self.launched_at, UTC).date().isoformat()
        return {**self.line(), "launch_date": launch, "popularity": round(self.popularity, 4)}


@dataclass
class _Shelf:
    """Products of one category (or brand within a category) by launch time, for weighted picks."""

    products: list[Product] = field(default_factory=list)
    launches: list[float] = field(default_factory=list)
    cumulative: list[float] = field(default_factory=list)

    def add(self, product: Product) -> None:
        self.products.append(product)
        self.launches.append(product.launched_at)
        self.cumulative.append((self.cumulative[-1] if self.cumulative else 0.0) + product.popularity)

    def pick(self, rng: random.Random, at: float) -> Product | None:
        launched = bisect.bisect_right(self.launches, at)
        if launched == 0:
            return None
        point = rng.random() * self.cumulative[launched - 1]
        return self.products[min(bisect.bisect_right(self.cumulative, point, 0, launched), launched - 1)]


class Catalog:
    """Products, categories and brands; picks a launched product by popularity (and brand)."""

    def __init__(self, products: list[Product]) -> None:
        self.products: tuple[Product, ...] = tuple(products)
        self.categories: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
        self.brands: tuple[str, ...] = tuple(sorted({p.brand for p in products}))
        self._shelves: dict[str, _Shelf] = {}
        self._brand_shelves: dict[tuple[str, str], _Shelf] = {}
        for product in sorted(products, key=lambda p: p.launched_at):
            self._shelves.setdefault(product.category, _Shelf()).add(product)
            self._brand_shelves.setdefault((product.category, product.brand), _Shelf()).add(product)

    def pick(self, rng: random.Random, category: str, at: float, brand: str | None = None) -> Product:
        """A product of `category` already launched at `at`, by popularity; of `brand` when it has one."""
        if brand is not None:
            shelf = self._brand_shelves.get((category, brand))
            chosen = shelf.pick(rng, at) if shelf else None
            if chosen is not None:
                return chosen
        chosen = self._shelves[category].pick(rng, at)
        if chosen is None:  # cannot happen: every category has products launched before the window
            raise LookupError(f"no {category} product launched by {at}")
        return chosen

    def brands_of(self, category: str) -> list[str]:
        """The brands that sell in `category`."""
        return sorted({brand for (cat, brand) in self._brand_shelves if cat == category})


def build_catalog(seed: int, start: float, end: float, size: int = 300) -> Catalog:
    """`size` products over the categories by share; most launched before `start`, some during."""
    rng = random.Random(f"catalog:{seed}")
    products: list[Product] = []
    names: set[tuple[str, str]] = set()
    weights = [c.share for c in CATEGORIES]
    for number in range(1, size + 1):
        # The first products cover every category once, so each has something on sale from the start.
        category = (
            CATEGORIES[number - 1] if number <= len(CATEGORIES) else rng.choices(CATEGORIES, weights)[0]
        )
        brand, code = _brand(rng, category.name)
        name = _unique_name(rng, category, brand, names)
        launched_before = number <= 2 * len(CATEGORIES) or rng.random() < 0.75
        launched = (
            start - rng.uniform(30, 900) * DAY if launched_before else rng.uniform(start, end - 14 * DAY)
        )
        products.append(
            Product(
                product_id=f"P{number:05d}",
                sku=f"{code}-{category.code}-{number:04d}",
                name=name,
                category=category.name,
                brand=brand,
                price=_price(rng, category),
                launched_at=launched,
                popularity=rng.lognormvariate(0, 1.0),
            )
        )
    return Catalog(products)


def _brand(rng: random.Random, category: str) -> tuple[str, str]:
    sellers = [(name, code) for name, code, categories in BRANDS if category in categories]
    return rng.choice(sellers)


def _unique_name(rng: random.Random, category: Category, brand: str, taken: set[tuple[str, str]]) -> str:
    for _ in range(20):
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(category.nouns)}"
        if (brand, name) not in taken:
            break
    else:
        name = f"{name} {len(taken)}"
    taken.add((brand, name))
    return name


def _price(rng: random.Random, category: Category) -> float:
    """A log-normal price around the category's median, rounded the way shops price things."""
    raw = min(max(rng.lognormvariate(math.log(category.median_price), category.spread), 4.0), 900.0)
    if raw < 20:
        return round(math.floor(raw) + 0.99, 2)
    step = 5 if raw < 100 else 10
    return round(max(step, round(raw / step) * step) - 0.01, 2)
