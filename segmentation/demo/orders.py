"""Order lines for one chunk of customers, fully vectorised with numpy.

How a chunk is built (all per-element work is array arithmetic, no Python
loops over customers, orders or lines):

1. Per customer, from the value persona: number of orders (a minimum plus a
   negative binomial, so counts are skewed and over-dispersed), the day of the
   last order, the window in which the earlier orders fall, and a typical
   basket value (log-normal around the persona's).
2. Per order: a day inside that window drawn by the calendar's seasonal demand
   weights, a time of day, a channel from the channel persona, whole-order
   cancellation (about 4 % of lines), a number of lines (1-5, from the value
   persona) and a budget (log-normal around the customer's basket).
3. Per line: a category from the behavioral persona, a quantity, a discount
   (share and depth from the behavioral persona, a little more in November),
   and the catalogue product whose price best fits the line's share of the
   order budget (leaning towards the category's price level); then a status:
   returned for about 3 % of the lines of kept orders, a few in odd casing
   ('Completed', 'CANCELLED', 'Returned') and about 1 % nulls. No two lines of
   an order share a product, nor a quantity and price.

Basket value thus belongs to the value view and categories to the behavioral
view, which keeps the views independent even though both read the same lines.

Dirty rows (documented contract for the data-quality model)
------------------------------------------------------------
About 0.5 % of the lines carry exactly one defect each, 0.1 % per reason:

``null_customer_id``       customer_id is NULL
``non_positive_quantity``  quantity is 0, -1 or -2
``null_ordered_at``        ordered_at is NULL
``duplicate_line_key``     an exact copy of a clean line, placed right after it
                           (same order_id and line_number); only the extra copy
                           counts as dirty
``unrecognised_status``    status is 'pending_review', 'on_hold' or 'fraud_check': outside
                           the known vocabulary, so the line counts and is listed

The rows chosen for different defects are disjoint and a duplicated line is
otherwise clean, so the counts per reason are exact and are written to
``raw.demo_dirty_rows_expected``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from segmentation.demo.calendar import HISTORY_DAYS, Calendar
from segmentation.demo.catalog import (
    CATEGORY_EXTRA_QUANTITY,
    CATEGORY_MEDIAN_PRICE,
    PRODUCTS_PER_CATEGORY,
    Catalog,
)
from segmentation.demo.personas import (
    BEHAVIORAL_PERSONAS,
    CATEGORIES,
    CHANNEL_PERSONAS,
    VALUE_PERSONAS,
    category_weights,
)

STATUS_VALUES: tuple[str, ...] = (
    "completed",
    "Completed",
    "COMPLETED",
    "cancelled",
    "CANCELLED",
    "Cancelled",
    "returned",
    "Returned",
    "pending_review",
    "on_hold",
    "fraud_check",
)
"""Dictionary of the status column; codes index into it."""
_COMPLETED, _CANCELLED, _RETURNED, _UNKNOWN = 0, 3, 6, 8

DIRTY_REASONS: tuple[str, ...] = (
    "null_customer_id",
    "non_positive_quantity",
    "null_ordered_at",
    "duplicate_line_key",
    "unrecognised_status",
)
DIRTY_RATE_PER_REASON = 0.001

ORDER_CANCEL_RATE = 0.04
LINE_RETURN_RATE = 0.032
NULL_STATUS_RATE = 0.012
ODD_CASE_RATE = 0.03
NULL_DISCOUNT_SHARE = 0.3
"""Share of undiscounted lines whose discount is NULL rather than 0.00."""
MAX_LINES_PER_ORDER = 5
CUSTOMER_BASKET_SIGMA = 0.15
"""Log-normal spread of a customer's typical basket around their persona's."""
ORDER_BASKET_SIGMA = 0.30
"""Log-normal spread of one order's budget around the customer's typical basket."""
LINE_SPLIT_SHAPE = 2.0
"""Gamma shape of the weights that split an order's budget over its lines."""
NOVEMBER_EXTRA_DISCOUNT_PROBABILITY = 0.08
CATEGORY_PRICE_PULL = 0.4
"""How far line prices lean towards their category's price level (0 = pure budget).

Electronics lines cost more than books lines, as in a real shop, while the basket
value stays mostly a property of the value persona."""
YEARLY_PRICE_INFLATION = 0.03


@dataclass
class OrderLines:
    """Column arrays of ``raw.order_lines`` for one chunk (masks mark NULLs)."""

    order_id: npt.NDArray[np.int64]
    line_number: npt.NDArray[np.int32]
    customer_id: npt.NDArray[np.int64]
    customer_id_null: npt.NDArray[np.bool_]
    ordered_at_us: npt.NDArray[np.int64]
    ordered_at_null: npt.NDArray[np.bool_]
    product_id: npt.NDArray[np.int64]
    quantity: npt.NDArray[np.int32]
    unit_price_cents: npt.NDArray[np.int64]
    discount_cents: npt.NDArray[np.int64]
    discount_null: npt.NDArray[np.bool_]
    channel: npt.NDArray[np.int8]
    status: npt.NDArray[np.int8]
    status_null: npt.NDArray[np.bool_]
    dirty_counts: dict[str, int]
    first_order_us: npt.NDArray[np.int64]
    """Per customer of the chunk: timestamp of their first order."""

    @property
    def rows(self) -> int:
        return int(self.order_id.shape[0])


_PER_CHUNK_FIELDS = frozenset({"dirty_counts", "first_order_us"})
"""The fields of :class:`OrderLines` that are not one value per line."""


def _group_positions(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """0-based position of each element inside its group, for repeated groups."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


def _categorical(
    rng: np.random.Generator,
    cumulative: npt.NDArray[np.float64],
    rows: npt.NDArray[np.int8],
) -> npt.NDArray[np.int8]:
    """Draw one category per element from the cumulative row ``rows[i]``."""
    u = rng.random(int(rows.shape[0]))
    return (u[:, None] >= cumulative[rows]).sum(axis=1).astype(np.int8)


def _cumulative(weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0 + 1e-12  # never fall off the end through rounding
    return cum


_VALUE_PARAMS = {
    "last_lo": np.array([p.last_order_ago[0] for p in VALUE_PERSONAS], dtype=np.int64),
    "last_hi": np.array([p.last_order_ago[1] for p in VALUE_PERSONAS], dtype=np.int64),
    "span_lo": np.array([p.span_days[0] for p in VALUE_PERSONAS], dtype=np.float64),
    "span_hi": np.array([p.span_days[1] for p in VALUE_PERSONAS], dtype=np.float64),
    "min_orders": np.array([p.min_orders for p in VALUE_PERSONAS], dtype=np.int64),
    "max_orders": np.array([p.max_orders for p in VALUE_PERSONAS], dtype=np.int64),
    "nb_r": np.array([p.extra_orders_dispersion for p in VALUE_PERSONAS]),
    "nb_mean": np.array([p.extra_orders_mean for p in VALUE_PERSONAS]),
    "basket": np.array([p.basket_value for p in VALUE_PERSONAS]),
}
_LINES_CUM = _cumulative(np.array([p.lines_per_order for p in VALUE_PERSONAS]))
_CATEGORY_CUM = _cumulative(category_weights())
_CHANNEL_CUM = _cumulative(np.array([p.channel_weights for p in CHANNEL_PERSONAS]))
_DISCOUNT_PROB = np.array([p.discount_probability for p in BEHAVIORAL_PERSONAS])
_EXTRA_LINE_PROB = np.array([p.extra_line_probability for p in BEHAVIORAL_PERSONAS])
_MAX_RATES = max(len(p.discount_rates) for p in BEHAVIORAL_PERSONAS)
_DISCOUNT_RATES = np.array(
    [[p.discount_rates[i % len(p.discount_rates)] for i in range(_MAX_RATES)] for p in BEHAVIORAL_PERSONAS]
)
_DISCOUNT_RATE_COUNT = np.array([len(p.discount_rates) for p in BEHAVIORAL_PERSONAS])
_EXTRA_QUANTITY = np.array([CATEGORY_EXTRA_QUANTITY[c] for c in CATEGORIES])
_CATEGORY_MEDIANS = np.array([CATEGORY_MEDIAN_PRICE[c] for c in CATEGORIES])
_CATEGORY_PULL = (_CATEGORY_MEDIANS / np.exp(np.log(_CATEGORY_MEDIANS).mean())) ** CATEGORY_PRICE_PULL
_VALUE_ALLOWS_TODAY = np.array([p.last_order_ago[0] == 0 for p in VALUE_PERSONAS])


def generate_order_lines(
    rng: np.random.Generator,
    *,
    customer_ids: npt.NDArray[np.int64],
    value: npt.NDArray[np.int8],
    behavioral: npt.NDArray[np.int8],
    channel: npt.NDArray[np.int8],
    calendar: Calendar,
    catalog: Catalog,
    first_order_id: int,
    anchor_newest_order: bool,
) -> OrderLines:
    """Build the order lines of one chunk of customers.

    ``first_order_id`` is the id of the chunk's first order; ids then run
    consecutively, ordered by customer and time, so chunks never collide.
    With ``anchor_newest_order`` the first customer whose persona may buy
    today gets their last order on the end date, so the newest order falls on
    the end date even for tiny demo sizes.
    """
    n_customers = customer_ids.shape[0]
    vp = _VALUE_PARAMS

    # 1. customer-level order pattern
    nb_r = vp["nb_r"][value]
    nb_p = nb_r / (nb_r + vp["nb_mean"][value])
    extra = rng.negative_binomial(nb_r, nb_p)
    n_orders = np.minimum(vp["min_orders"][value] + extra, vp["max_orders"][value])
    last_lo, last_hi = vp["last_lo"][value], vp["last_hi"][value]
    last_ago = last_lo + (rng.random(n_customers) * (last_hi - last_lo + 1)).astype(np.int64)
    if anchor_newest_order:
        candidates = np.flatnonzero(_VALUE_ALLOWS_TODAY[value])
        if candidates.size:
            last_ago[candidates[0]] = 0
    span = vp["span_lo"][value] + rng.random(n_customers) * (vp["span_hi"][value] - vp["span_lo"][value])
    first_ago = np.minimum(last_ago + span.astype(np.int64), HISTORY_DAYS - 1)
    customer_basket = vp["basket"][value] * np.exp(rng.normal(0.0, CUSTOMER_BASKET_SIGMA, n_customers))

    # 2. orders
    order_cust = np.repeat(np.arange(n_customers, dtype=np.int64), n_orders)
    is_last = _group_positions(n_orders) == 0
    days_ago = calendar.sample_days_ago(rng, last_ago[order_cust], first_ago[order_cust])
    days_ago[is_last] = last_ago[order_cust[is_last]]
    order_ts = calendar.timestamps_us(rng, days_ago)
    sort = np.lexsort((order_ts, order_cust))
    order_ts, days_ago = order_ts[sort], days_ago[sort]  # order_cust is already sorted
    n_total_orders = order_cust.shape[0]
    order_channel = _categorical(rng, _CHANNEL_CUM, channel[order_cust])
    order_cancelled = rng.random(n_total_orders) < ORDER_CANCEL_RATE
    order_value = value[order_cust]
    lines_per_order = _categorical(rng, _LINES_CUM, order_value).astype(np.int64) + 1
    extra_line = rng.random(n_total_orders) < _EXTRA_LINE_PROB[behavioral[order_cust]]
    lines_per_order = np.minimum(lines_per_order + extra_line, MAX_LINES_PER_ORDER)
    first_order_us = order_ts[np.cumsum(n_orders) - n_orders]
    order_budget = customer_basket[order_cust] * np.exp(rng.normal(0.0, ORDER_BASKET_SIGMA, n_total_orders))

    # 3. lines
    line_order = np.repeat(np.arange(n_total_orders, dtype=np.int64), lines_per_order)
    n_lines = line_order.shape[0]
    line_cust = order_cust[line_order]
    line_behavior = behavioral[line_cust]
    category = _categorical(rng, _CATEGORY_CUM, line_behavior)
    line_days_ago = days_ago[line_order]
    quantity = 1 + np.minimum(rng.poisson(_EXTRA_QUANTITY[category]), 11)

    november = _is_november(calendar, line_days_ago)
    discount_p = _DISCOUNT_PROB[line_behavior] + NOVEMBER_EXTRA_DISCOUNT_PROBABILITY * november
    discounted = rng.random(n_lines) < discount_p
    rate_idx = (rng.random(n_lines) * _DISCOUNT_RATE_COUNT[line_behavior]).astype(np.int64)
    rate = np.where(discounted, _DISCOUNT_RATES[line_behavior, rate_idx], 0.0)

    # Split each order's budget over its lines, lean towards the category's usual
    # price level, gross up for the line's discount and pick the catalogue
    # product whose price is nearest the per-unit target.
    weight = rng.gamma(LINE_SPLIT_SHAPE, size=n_lines)
    weight /= np.bincount(line_order, weights=weight, minlength=n_total_orders)[line_order]
    inflation = 1.0 + YEARLY_PRICE_INFLATION * (HISTORY_DAYS - 1 - line_days_ago) / 365.0
    target_cents = (
        100.0 * order_budget[line_order] * weight * _CATEGORY_PULL[category] / (1.0 - rate) / quantity / inflation
    )
    product = _unique_within_orders(
        line_order, catalog.nearest_product(category, target_cents), _next_product_in_category
    )
    unit_cents = np.rint(catalog.list_price_cents[product] * inflation).astype(np.int64)
    # No two lines of an order share quantity and price, so even without
    # line_number and product_id (the minimal contract) every clean line is a
    # distinct row and only the planted duplicates look duplicated.
    price_key = _unique_within_orders(line_order, (quantity.astype(np.int64) << 40) | unit_cents, lambda key: key + 1)
    unit_cents = price_key & ((1 << 40) - 1)
    gross = unit_cents * quantity
    discount_cents = np.rint(gross * rate).astype(np.int64)
    discount_null = ~discounted & (rng.random(n_lines) < NULL_DISCOUNT_SHARE)

    status = np.full(n_lines, _COMPLETED, dtype=np.int8)
    status[order_cancelled[line_order]] = _CANCELLED
    returned = (status == _COMPLETED) & (rng.random(n_lines) < LINE_RETURN_RATE)
    status[returned] = _RETURNED
    odd = rng.random(n_lines) < ODD_CASE_RATE
    odd_variant = rng.integers(1, 3, size=n_lines).astype(np.int8)  # 1 or 2 steps along
    status = np.where(odd & (status != _RETURNED), status + odd_variant, status)
    status = np.where(odd & (status == _RETURNED), _RETURNED + 1, status).astype(np.int8)
    status_null = (status < _CANCELLED) & (rng.random(n_lines) < NULL_STATUS_RATE)

    line_number = (_group_positions(lines_per_order) + 1).astype(np.int32)
    lines = OrderLines(
        order_id=first_order_id + line_order,
        line_number=line_number,
        customer_id=customer_ids[line_cust],
        customer_id_null=np.zeros(n_lines, dtype=np.bool_),
        ordered_at_us=order_ts[line_order],
        ordered_at_null=np.zeros(n_lines, dtype=np.bool_),
        product_id=catalog.product_id[product],
        quantity=quantity.astype(np.int32),
        unit_price_cents=unit_cents,
        discount_cents=discount_cents,
        discount_null=discount_null,
        channel=order_channel[line_order],
        status=status,
        status_null=status_null,
        dirty_counts={},
        first_order_us=first_order_us,
    )
    return _inject_dirty_rows(rng, lines)


def _next_product_in_category(product: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The next dearer product of the same category (wrapping to its cheapest)."""
    bumped = product + 1
    wrapped = bumped % PRODUCTS_PER_CATEGORY == 0
    return np.where(wrapped, bumped - PRODUCTS_PER_CATEGORY, bumped)


def _unique_within_orders(
    line_order: npt.NDArray[np.int64],
    key: npt.NDArray[np.int64],
    bump: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.int64]],
) -> npt.NDArray[np.int64]:
    """Bump ``key`` on later lines of an order until no two lines of it share one.

    Lines of an order are contiguous and at most ``MAX_LINES_PER_ORDER`` long,
    so comparing each line with the few before it finds every clash without
    sorting.
    """
    key = key.copy()
    for _ in range(100):
        clash = np.zeros(key.shape[0], dtype=np.bool_)
        for lag in range(1, MAX_LINES_PER_ORDER):
            clash[lag:] |= (line_order[lag:] == line_order[:-lag]) & (key[lag:] == key[:-lag])
        if not clash.any():
            return key
        key[clash] = bump(key[clash])
    raise RuntimeError("could not make order lines distinct")  # pragma: no cover


def _is_november(calendar: Calendar, days_ago: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    months = calendar.month_by_days_ago
    return months[days_ago] == 11


def _inject_dirty_rows(rng: np.random.Generator, lines: OrderLines) -> OrderLines:
    """Give ~0.1 % of the lines per reason exactly one defect (see module docstring)."""
    n = lines.rows
    per_reason = rng.binomial(n, DIRTY_RATE_PER_REASON, size=len(DIRTY_REASONS))
    total = int(min(per_reason.sum(), n))
    chosen = rng.choice(n, size=total, replace=False)
    groups = np.split(chosen, np.cumsum(per_reason)[:-1])
    null_cust, bad_qty, null_ts, duplicate, unknown = groups

    lines.customer_id_null[null_cust] = True
    lines.quantity[bad_qty] = rng.integers(-2, 1, size=bad_qty.shape[0]).astype(np.int32)
    lines.ordered_at_null[null_ts] = True
    lines.status[unknown] = _UNKNOWN + rng.integers(0, 3, size=unknown.shape[0]).astype(np.int8)
    lines.status_null[unknown] = False
    lines.dirty_counts = {reason: int(group.shape[0]) for reason, group in zip(DIRTY_REASONS, groups, strict=True)}
    if duplicate.shape[0]:
        take = np.sort(np.concatenate([np.arange(n, dtype=np.int64), duplicate]))
        for column in fields(lines):
            if column.name not in _PER_CHUNK_FIELDS:
                setattr(lines, column.name, getattr(lines, column.name)[take])
    return lines
