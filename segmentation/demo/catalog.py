"""Product catalogue of the demo shop.

``PRODUCTS_PER_CATEGORY`` products per category, each with a brand and a
log-normal list price around the category's typical price. Within a category
products are numbered from cheapest to dearest, so "the product of category
c nearest a target price" is one vectorised binary search; that is how an
order's budget (see ``personas.ValuePersona.basket_value``) is filled with
real catalogue items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from segmentation.demo.personas import CATEGORIES

PRODUCTS_PER_CATEGORY = 400
PRICE_SIGMA = 0.9
"""Log-normal spread of list prices within a category."""

CATEGORY_MEDIAN_PRICE = {
    "apparel": 35.0,
    "footwear": 65.0,
    "beauty": 22.0,
    "home": 45.0,
    "kitchen": 30.0,
    "electronics": 90.0,
    "toys": 25.0,
    "sports": 40.0,
    "books": 15.0,
    "grocery": 8.0,
}

CATEGORY_EXTRA_QUANTITY = {
    "apparel": 0.25,
    "footwear": 0.05,
    "beauty": 0.4,
    "home": 0.15,
    "kitchen": 0.2,
    "electronics": 0.05,
    "toys": 0.25,
    "sports": 0.2,
    "books": 0.15,
    "grocery": 1.0,
}
"""Mean of the Poisson number of extra units on a line, per category."""

_BRAND_STEMS = (
    "Alder",
    "Brightwater",
    "Cobalt",
    "Driftwood",
    "Ember",
    "Fjord",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Nimbus",
)
_BRAND_SUFFIX = {
    "apparel": "Wear",
    "footwear": "Stride",
    "beauty": "Glow",
    "home": "Living",
    "kitchen": "Cookware",
    "electronics": "Tech",
    "toys": "Play",
    "sports": "Athletics",
    "books": "Press",
    "grocery": "Pantry",
}
BRANDS_PER_CATEGORY = 8


FIRST_PRODUCT_ID = 10_001
_CATEGORY_KEY = 1 << 40
"""Multiplier that keeps each category's prices in their own range of one sorted key."""


@dataclass(frozen=True)
class Catalog:
    """Products as column arrays; product ``i`` has id ``FIRST_PRODUCT_ID + i``.

    Products are grouped by category and sorted by price inside each group.
    """

    product_id: npt.NDArray[np.int64]
    category: npt.NDArray[np.int8]
    brand: list[str]
    list_price_cents: npt.NDArray[np.int64]

    def nearest_product(
        self, category: npt.NDArray[np.int8], target_cents: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.int64]:
        """Index of the product of ``category`` whose list price is nearest the target."""
        keys = self.category.astype(np.int64) * _CATEGORY_KEY + self.list_price_cents
        cat = category.astype(np.int64)
        target = np.clip(np.rint(target_cents), 0, _CATEGORY_KEY - 1).astype(np.int64)
        pos = np.searchsorted(keys, cat * _CATEGORY_KEY + target)
        first = cat * PRODUCTS_PER_CATEGORY
        last = first + PRODUCTS_PER_CATEGORY - 1
        above = np.clip(pos, first, last)
        below = np.clip(pos - 1, first, last)
        pick_below = np.abs(self.list_price_cents[below] - target) <= np.abs(self.list_price_cents[above] - target)
        return np.where(pick_below, below, above)


def build_catalog(rng: np.random.Generator) -> Catalog:
    """Draw the catalogue: prices sorted ascending inside each category."""
    n_cat = len(CATEGORIES)
    category = np.repeat(np.arange(n_cat, dtype=np.int8), PRODUCTS_PER_CATEGORY)
    medians = np.array([CATEGORY_MEDIAN_PRICE[c] for c in CATEGORIES])
    prices = medians[:, None] * np.exp(rng.normal(0.0, PRICE_SIGMA, size=(n_cat, PRODUCTS_PER_CATEGORY)))
    # Shop prices mostly end in .99, some in .49; the cheapest item costs 0.99.
    whole = np.maximum(np.floor(prices), 0.0)
    ending = np.where(rng.random(prices.shape) < 0.7, 99, 49)
    cents = (whole * 100 + ending).astype(np.int64)
    cents.sort(axis=1)
    brand_ids = rng.integers(0, BRANDS_PER_CATEGORY, size=category.shape[0])
    brands = [
        f"{_BRAND_STEMS[(int(b) + 3 * int(c)) % len(_BRAND_STEMS)]} {_BRAND_SUFFIX[CATEGORIES[c]]}"
        for c, b in zip(category, brand_ids, strict=True)
    ]
    product_id = FIRST_PRODUCT_ID + np.arange(category.shape[0], dtype=np.int64)
    return Catalog(product_id, category, brands, cents.ravel())
