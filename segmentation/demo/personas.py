"""Planted personas: the ground truth that the demo data is generated from.

Every customer gets one persona per segmentation view, drawn *independently*
per view, so knowing a customer's value persona says nothing about their
behavioral or channel persona. Each view's personas are built to be clearly
separated in exactly the features that view's segmentation reads (see
``DESIGN.md``), so a reasonable clustering recovers them (adjusted Rand index
well above 0.8); the truth is written to ``raw.demo_personas``.

Distribution (share of customers; every persona covers at least 10 %). Days
count back from the end date; "basket" is the median net value of one order.

value view (recency_days, frequency, monetary_total, avg_order_value)
    ============  =====  ==========================================================
    champions      10 %  last order 0-21 days ago, 14-40 orders, basket ~230
    loyal          26 %  last order 3-60 days ago, 5-14 orders, basket ~95
    new            18 %  1-2 orders, first 0-75 days ago, last 0-45, basket ~85
    at_risk        20 %  last order 200-420 days ago, 8-22 orders, basket ~120
    lapsed         26 %  1-2 orders, last 600-1000 days ago, basket ~35
    ============  =====  ==========================================================

behavioral view (revenue share per category, breadth, HHI, discount share)
    ================  =====  ======================================================
    fashion            28 %  ~92 % of lines from apparel, footwear, beauty
    home               22 %  ~92 % of lines from home, kitchen
    tech               18 %  ~93 % of lines from electronics, toys, books
    active_lifestyle   18 %  ~92 % of lines from sports, grocery
    bargain_hunters    14 %  lines spread evenly over all ten categories, ~90 % of
                             them discounted by 25-60 % (others: ~8 % of lines,
                             5-15 %), and fuller baskets of cheaper items
    ================  =====  ======================================================

channel view (order share per channel, engagement per month, open/click rates)
    ========================  =====  ==============================================
    web_email_engaged          30 %  90 % of orders on web; ~0.3 emails a month,
                                     60 % opened, 45 % of opens clicked; web visits
    app_first                  26 %  90 % of orders in the app; ~0.25 app sessions
                                     a month; 10 % of emails opened
    store_loyal                24 %  72 % of orders in store, 22 % by phone; some
                                     support tickets; 20 % of emails opened
    marketplace_deal_seekers   20 %  90 % of orders on marketplaces; 3 % of emails
                                     opened, hardly any other engagement
    ========================  =====  ==============================================

Every customer also gets a two-mail welcome series at sign-up. The rest of a
customer's lines (categories) or orders (channels) are spread over all values,
so every persona still looks realistic. No category or channel is left to
background noise alone: a rare value that only appears by chance makes
outlier "clusters" of the few customers who happen to buy it once.

How well the personas separate is checked by ``tests/unit/demo``: k-means on
each view's standardised features recovers them with an adjusted Rand index
of about 0.97 (value), 0.88 (behavioral) and 0.90 (channel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

CATEGORIES: tuple[str, ...] = (
    "apparel",
    "footwear",
    "beauty",
    "home",
    "kitchen",
    "electronics",
    "toys",
    "sports",
    "books",
    "grocery",
)
"""Product categories, in the order used for category indices."""

CHANNELS: tuple[str, ...] = ("web", "app", "store", "phone", "marketplace")
"""Order channels, in the order used for channel indices."""


@dataclass(frozen=True)
class ValuePersona:
    """How a value persona orders over time and how much it spends.

    Days are counted backwards from the generator's end date (0 = end date).
    ``extra_orders_mean`` and ``extra_orders_dispersion`` parameterise a
    negative binomial added to ``min_orders`` (capped at ``max_orders``), which
    gives the skewed, over-dispersed order counts seen in real shops.
    ``basket_value`` is the median net value of one order; each customer's
    typical basket and each order's budget vary log-normally around it, and the
    order's lines are filled with products that fit the budget, so basket value
    belongs to the value persona whatever categories the customer buys.
    """

    name: str
    share: float
    last_order_ago: tuple[int, int]
    span_days: tuple[int, int]
    min_orders: int
    max_orders: int
    extra_orders_mean: float
    extra_orders_dispersion: float
    lines_per_order: tuple[float, float, float, float, float]
    basket_value: float


@dataclass(frozen=True)
class BehavioralPersona:
    """Which categories a behavioral persona buys and how deal-driven it is.

    ``extra_line_probability`` adds one line to an order (at most five): bargain
    hunters fill their baskets with more, cheaper items, which shows their
    breadth even when they order once; the basket value (a value-view feature)
    stays that of their value persona.
    """

    name: str
    share: float
    categories: tuple[str, ...]
    affinity: float
    discount_probability: float
    discount_rates: tuple[float, ...]
    extra_line_probability: float = 0.0


@dataclass(frozen=True)
class ChannelPersona:
    """Where a channel persona orders and how it engages.

    Rates are events per month of customer lifetime; ``open_rate`` is the
    chance that a sent email is opened and ``click_rate`` the chance that an
    opened email is clicked, so ``sent >= opens >= clicks`` always holds.
    """

    name: str
    share: float
    channel_weights: tuple[float, float, float, float, float]
    email_sent_per_month: float
    open_rate: float
    click_rate: float
    web_visits_per_month: float
    app_sessions_per_month: float
    support_tickets_per_month: float


VALUE_PERSONAS: tuple[ValuePersona, ...] = (
    ValuePersona("champions", 0.10, (0, 21), (600, 1500), 14, 40, 6.0, 3.0, (0.20, 0.30, 0.25, 0.15, 0.10), 230.0),
    ValuePersona("loyal", 0.26, (3, 60), (400, 1400), 5, 14, 2.0, 3.0, (0.35, 0.30, 0.18, 0.10, 0.07), 95.0),
    ValuePersona("new", 0.18, (0, 45), (0, 30), 1, 2, 0.2, 50.0, (0.15, 0.30, 0.28, 0.17, 0.10), 85.0),
    ValuePersona("at_risk", 0.20, (200, 420), (400, 1000), 8, 22, 3.0, 3.0, (0.35, 0.30, 0.18, 0.10, 0.07), 120.0),
    ValuePersona("lapsed", 0.26, (600, 1000), (0, 60), 1, 2, 0.15, 50.0, (0.30, 0.40, 0.20, 0.10, 0.00), 35.0),
)

_STANDARD_DISCOUNTS = (0.05, 0.10, 0.15)
_DEEP_DISCOUNTS = (0.25, 0.30, 0.40, 0.50, 0.60)

BEHAVIORAL_PERSONAS: tuple[BehavioralPersona, ...] = (
    BehavioralPersona("fashion", 0.28, ("apparel", "footwear", "beauty"), 0.90, 0.08, _STANDARD_DISCOUNTS),
    BehavioralPersona("home", 0.22, ("home", "kitchen"), 0.90, 0.08, _STANDARD_DISCOUNTS),
    BehavioralPersona("tech", 0.18, ("electronics", "toys", "books"), 0.90, 0.08, _STANDARD_DISCOUNTS),
    BehavioralPersona("active_lifestyle", 0.18, ("sports", "grocery"), 0.90, 0.08, _STANDARD_DISCOUNTS),
    BehavioralPersona("bargain_hunters", 0.14, CATEGORIES, 1.0, 0.90, _DEEP_DISCOUNTS, extra_line_probability=0.6),
)

CHANNEL_PERSONAS: tuple[ChannelPersona, ...] = (
    #                                      web   app  store phone  mkt
    ChannelPersona("web_email_engaged", 0.30, (0.90, 0.04, 0.02, 0.01, 0.03), 0.30, 0.60, 0.45, 0.12, 0.00, 0.005),
    ChannelPersona("app_first", 0.26, (0.05, 0.90, 0.02, 0.01, 0.02), 0.10, 0.10, 0.15, 0.02, 0.25, 0.005),
    ChannelPersona("store_loyal", 0.24, (0.03, 0.01, 0.72, 0.22, 0.02), 0.10, 0.20, 0.10, 0.01, 0.00, 0.06),
    ChannelPersona(
        "marketplace_deal_seekers", 0.20, (0.04, 0.03, 0.01, 0.02, 0.90), 0.10, 0.03, 0.10, 0.01, 0.01, 0.005
    ),
)


def _check_shares(names: list[str], shares: list[float]) -> None:
    """Fail at import time if a persona table is edited into an invalid state."""
    if abs(sum(shares) - 1.0) > 1e-9:
        raise ValueError(f"persona shares {dict(zip(names, shares, strict=True))} must sum to 1")
    if min(shares) < 0.08:
        raise ValueError("every persona must cover at least 8 % of customers")


for _table in (VALUE_PERSONAS, BEHAVIORAL_PERSONAS, CHANNEL_PERSONAS):
    _check_shares([p.name for p in _table], [p.share for p in _table])
for _channel in CHANNEL_PERSONAS:
    if abs(sum(_channel.channel_weights) - 1.0) > 1e-9:
        raise ValueError(f"channel weights of {_channel.name} must sum to 1")


def draw_personas(rng: np.random.Generator, n: int, shares: list[float]) -> npt.NDArray[np.int8]:
    """Draw ``n`` indices (of personas, countries ...) with the given shares (independent per call)."""
    cumulative = np.cumsum(np.asarray(shares, dtype=np.float64))
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, rng.random(n), side="right").astype(np.int8)


def category_weights() -> npt.NDArray[np.float64]:
    """Matrix [behavioral persona, category] of line probabilities.

    A persona's own categories share ``affinity`` equally; the rest is spread
    evenly over all categories (including its own), so a 0.9 affinity gives
    about 92 % of lines in the persona's categories.
    """
    n_cat = len(CATEGORIES)
    weights = np.zeros((len(BEHAVIORAL_PERSONAS), n_cat))
    for i, persona in enumerate(BEHAVIORAL_PERSONAS):
        own = [CATEGORIES.index(c) for c in persona.categories]
        weights[i, :] = (1.0 - persona.affinity) / n_cat
        weights[i, own] += persona.affinity / len(own)
    return weights
