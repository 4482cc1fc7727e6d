"""Customer attributes and engagement events for one chunk of customers.

Customers sign up between 0 and 90 days before their first order. Their
engagement events run over their whole lifetime (sign-up to end date) at the
monthly rates of their channel persona, independent of their value persona, so
"events per month" reflects the channel persona only. Emails form a funnel:
each sent email may be opened (persona open rate) a few hours later, and each
opened email may be clicked (persona click rate) minutes after the open; so per
customer ``email_sent >= email_open >= email_click`` always holds. Every
customer also gets a two-mail welcome series right after sign-up, which gives
even brand-new customers an email signal.

Average volume is about eleven events per customer (lifetimes average roughly
two years).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from segmentation.demo.calendar import MICROS_PER_SECOND, SECONDS_PER_DAY, Calendar
from segmentation.demo.personas import CHANNEL_PERSONAS, draw_personas

COUNTRIES: tuple[str, ...] = ("US", "GB", "DE", "FR", "NL", "ES", "IT", "CA", "AU", "SE")
_COUNTRY_WEIGHTS = [0.34, 0.14, 0.12, 0.09, 0.05, 0.06, 0.06, 0.06, 0.05, 0.03]

ACQUISITION_CHANNELS: tuple[str, ...] = (
    "organic_search",
    "paid_search",
    "social",
    "referral",
    "email",
    "affiliate",
    "store",
    "marketplace",
)
_ACQUISITION_WEIGHTS = [0.26, 0.20, 0.16, 0.10, 0.06, 0.07, 0.09, 0.06]

EVENT_TYPES: tuple[str, ...] = (
    "email_sent",
    "email_open",
    "email_click",
    "web_visit",
    "app_session",
    "support_ticket",
)
EVENT_CHANNELS: tuple[str, ...] = ("email", "web", "app", "support")
_EVENT_CHANNEL_OF_TYPE = np.array([0, 0, 0, 1, 2, 3], dtype=np.int8)

MAX_SIGNUP_LEAD_DAYS = 90
WELCOME_EMAIL_DAYS = (0, 3)
"""Days after sign-up on which the welcome series is sent."""
_MICROS_PER_MONTH = 30.4375 * SECONDS_PER_DAY * MICROS_PER_SECOND
_MEAN_OPEN_DELAY_S = 6 * 3600
_MAX_CLICK_DELAY_S = 900

_SENT_RATE = np.array([p.email_sent_per_month for p in CHANNEL_PERSONAS])
_OPEN_RATE = np.array([p.open_rate for p in CHANNEL_PERSONAS])
_CLICK_RATE = np.array([p.click_rate for p in CHANNEL_PERSONAS])
_OTHER_RATES = np.array(
    [[p.web_visits_per_month, p.app_sessions_per_month, p.support_tickets_per_month] for p in CHANNEL_PERSONAS]
)


@dataclass
class Customers:
    """Column arrays of ``raw.customers`` (email is derived from the id in SQL)."""

    customer_id: npt.NDArray[np.int64]
    created_at_us: npt.NDArray[np.int64]
    country: npt.NDArray[np.int8]
    acquisition_channel: npt.NDArray[np.int8]


@dataclass
class EngagementEvents:
    """Column arrays of ``raw.engagement_events``, sorted by customer and time."""

    customer_id: npt.NDArray[np.int64]
    occurred_at_us: npt.NDArray[np.int64]
    event_type: npt.NDArray[np.int8]
    channel: npt.NDArray[np.int8]

    @property
    def rows(self) -> int:
        return int(self.customer_id.shape[0])


def _welcome_series(
    rng: np.random.Generator, created_at_us: npt.NDArray[np.int64], end_us: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Welcome emails sent shortly after sign-up (those after the end date are dropped)."""
    n = created_at_us.shape[0]
    idx = np.repeat(np.arange(n, dtype=np.int64), len(WELCOME_EMAIL_DAYS))
    day = np.tile(np.asarray(WELCOME_EMAIL_DAYS, dtype=np.int64), n)
    jitter_s = rng.integers(60, 6 * 3600, size=idx.shape[0])
    ts = created_at_us[idx] + (day * SECONDS_PER_DAY + jitter_s) * MICROS_PER_SECOND
    keep = ts <= end_us
    return idx[keep], ts[keep]


def generate_customers(
    rng: np.random.Generator,
    customer_ids: npt.NDArray[np.int64],
    first_order_us: npt.NDArray[np.int64],
) -> Customers:
    """Sign-up dates shortly before the first order, country and acquisition."""
    n = int(customer_ids.shape[0])
    lead_s = (rng.random(n) * MAX_SIGNUP_LEAD_DAYS * SECONDS_PER_DAY).astype(np.int64)
    return Customers(
        customer_id=customer_ids,
        created_at_us=first_order_us - lead_s * MICROS_PER_SECOND,
        country=draw_personas(rng, n, _COUNTRY_WEIGHTS),
        acquisition_channel=draw_personas(rng, n, _ACQUISITION_WEIGHTS),
    )


def generate_engagement(
    rng: np.random.Generator,
    customer_ids: npt.NDArray[np.int64],
    created_at_us: npt.NDArray[np.int64],
    channel_persona: npt.NDArray[np.int8],
    calendar: Calendar,
) -> EngagementEvents:
    """Engagement events over each customer's lifetime (see module docstring)."""
    end_us = calendar.end_of_history_us
    months = (end_us - created_at_us) / _MICROS_PER_MONTH
    idx = np.arange(customer_ids.shape[0], dtype=np.int64)

    sent_n = rng.poisson(_SENT_RATE[channel_persona] * months)
    sent_cust = np.repeat(idx, sent_n)
    sent_end = np.full(sent_cust.shape[0], end_us, dtype=np.int64)
    sent_ts = calendar.uniform_timestamps_us(rng, created_at_us[sent_cust], sent_end)
    welcome_cust, welcome_ts = _welcome_series(rng, created_at_us, end_us)
    sent_cust = np.concatenate([welcome_cust, sent_cust])
    sent_ts = np.concatenate([welcome_ts, sent_ts])

    opened = rng.random(int(sent_cust.shape[0])) < _OPEN_RATE[channel_persona[sent_cust]]
    open_cust = sent_cust[opened]
    open_delay = rng.exponential(_MEAN_OPEN_DELAY_S, int(open_cust.shape[0])).astype(np.int64) + 1
    open_ts = np.minimum(sent_ts[opened] + open_delay * MICROS_PER_SECOND, end_us)

    clicked = rng.random(open_cust.shape[0]) < _CLICK_RATE[channel_persona[open_cust]]
    click_cust = open_cust[clicked]
    click_delay = rng.integers(5, _MAX_CLICK_DELAY_S, size=click_cust.shape[0])
    click_ts = np.minimum(open_ts[clicked] + click_delay * MICROS_PER_SECOND, end_us)

    parts_cust = [sent_cust, open_cust, click_cust]
    parts_ts = [sent_ts, open_ts, click_ts]
    parts_type = [
        np.full(sent_cust.shape[0], 0, np.int8),
        np.full(open_cust.shape[0], 1, np.int8),
        np.full(click_cust.shape[0], 2, np.int8),
    ]
    for k in range(_OTHER_RATES.shape[1]):
        counts = rng.poisson(_OTHER_RATES[channel_persona, k] * months)
        cust = np.repeat(idx, counts)
        ts = calendar.uniform_timestamps_us(rng, created_at_us[cust], np.full(cust.shape[0], end_us, dtype=np.int64))
        parts_cust.append(cust)
        parts_ts.append(ts)
        parts_type.append(np.full(cust.shape[0], 3 + k, np.int8))

    cust_all = np.concatenate(parts_cust)
    ts_all = np.concatenate(parts_ts)
    type_all = np.concatenate(parts_type)
    # One int64 sort key (customer, second, type) is much cheaper than a lexsort.
    seconds = ts_all // MICROS_PER_SECOND
    sort_key = (cust_all << 36 | seconds - seconds.min()) << 3 | type_all
    order = np.argsort(sort_key, kind="stable")
    type_sorted = type_all[order]
    return EngagementEvents(
        customer_id=customer_ids[cust_all[order]],
        occurred_at_us=ts_all[order],
        event_type=type_sorted,
        channel=_EVENT_CHANNEL_OF_TYPE[type_sorted],
    )
