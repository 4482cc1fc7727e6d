"""Human labels and number formats for feature columns.

Feature columns are named for SQL (``cat_share__home``, ``events_per_month__email_open``);
a marketer reads "Home share of revenue" and "Email opens / month". The same column
families that the segmentation names segments from are recognised here, and a column
nobody anticipated still gets a readable label from its own name.
"""

from __future__ import annotations

import math
import re

from segmentation.naming import humanise

_EXACT: dict[str, str] = {
    "recency_days": "Days since last order",
    "frequency": "Orders",
    "monetary_total": "Revenue",
    "avg_order_value": "Average order value",
    "tenure_days": "Days since first order",
    "category_breadth": "Categories bought",
    "category_concentration": "Category concentration",
    "discount_share": "Discount share",
    "channel_breadth": "Channels used",
    "email_open_rate": "Email open rate",
    "email_click_rate": "Email click rate",
    "engagement_events_total": "Engagement events",
    "confidence": "Confidence",
}

# (pattern, long label for cards and hovers, short label for axes)
_PATTERNS: tuple[tuple[str, str, str], ...] = (
    (r"cat_share__(?P<x>.+)", "{x} share of revenue", "{x} (revenue)"),
    (r"chan_share__(?P<x>.+)", "{x} share of orders", "{x} (orders)"),
    (r"events_per_month__(?P<x>.+)", "{x} events per month", "{x} / mo"),
    (r"(?P<y>[a-z_]+)=(?P<x>.+)", "{y}: {x}", "{y}: {x}"),
)

_SHARE = re.compile(r"(^cat_share__|^chan_share__|_share$|_rate$|_concentration$)")
_DAYS = re.compile(r"_days$")
_MONEY = re.compile(r"^(monetary_total|avg_order_value)$")
_PER_MONTH = re.compile(r"^events_per_month__")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def feature_label(column: str, short: bool = False) -> str:
    """A readable label for a feature column (``short`` for axis ticks)."""
    if column in _EXACT:
        return _EXACT[column]
    for pattern, long_template, short_template in _PATTERNS:
        match = re.fullmatch(pattern, column)
        if match:
            parts = {k: humanise(v) for k, v in match.groupdict().items()}
            return _capital((short_template if short else long_template).format(**parts))
    return _capital(humanise(column))


def format_feature_value(column: str, value: float | None) -> str:
    """A feature mean in its own unit: shares as %, days, money, events per month."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if _SHARE.search(column) or "=" in column:
        return f"{value:.0%}"
    if _DAYS.search(column):
        return f"{value:,.0f} d"
    if _MONEY.match(column):
        return f"{value:,.0f}"
    if _PER_MONTH.match(column):
        return f"{value:.2f}/mo"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def format_int(value: float | int | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{round(value):,}"


def format_share(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}%}"


def format_number(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:,.{digits}f}"
