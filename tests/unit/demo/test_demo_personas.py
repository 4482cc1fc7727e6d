"""The planted personas: present, sized as documented, independent, and recoverable.

Recoverability is checked the way the product will use the data: each view's
features are computed as DESIGN.md defines them (counting lines only, dirty rows
excluded), transformed, standardised and clustered with k-means; the clusters
must match the planted personas with an adjusted Rand index of at least 0.8.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from segmentation.demo.personas import (
    BEHAVIORAL_PERSONAS,
    CATEGORIES,
    CHANNEL_PERSONAS,
    CHANNELS,
    VALUE_PERSONAS,
)

from .conftest import DemoDb

VIEWS = {
    "value_persona": VALUE_PERSONAS,
    "behavioral_persona": BEHAVIORAL_PERSONAS,
    "channel_persona": CHANNEL_PERSONAS,
}

COUNTING_LINES = """
create temp table counting_lines as
with valid as (
    select * from raw.order_lines
    where customer_id is not null and ordered_at is not null and quantity > 0
      and (status is null or lower(status) in ('completed', 'cancelled', 'returned'))
    qualify row_number() over (partition by order_id, line_number order by ordered_at) = 1
)
select v.*, p.category,
    v.quantity * v.unit_price as gross,
    v.quantity * v.unit_price - coalesce(v.discount, 0) as revenue
from valid v left join raw.products p using (product_id)
where v.status is null or lower(v.status) not in ('cancelled', 'returned')
"""


def _frame(db: DemoDb, sql: str) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect(str(db.path), read_only=True)
    try:
        con.execute(COUNTING_LINES)
        return con.execute(sql).df()
    finally:
        con.close()


def _truth(db: DemoDb, column: str, customer_ids: pd.Series) -> np.ndarray:
    truth = pd.DataFrame(
        db.query(f"select customer_id, {column} from raw.demo_personas"),
        columns=["customer_id", column],
    ).set_index("customer_id")
    return truth.loc[customer_ids.to_numpy(), column].to_numpy()


def _ari(features: pd.DataFrame, truth: np.ndarray, k: int) -> float:
    filled = features.astype(float).fillna(features.astype(float).median())
    points = StandardScaler().fit_transform(filled.to_numpy())
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(points)
    return float(adjusted_rand_score(truth, labels))


def test_every_customer_has_one_persona_per_view(demo_db: DemoDb) -> None:
    total, distinct, nulls = demo_db.query(
        "select count(*), count(distinct customer_id), "
        "count(*) filter (where value_persona is null or behavioral_persona is null "
        "or channel_persona is null) from raw.demo_personas"
    )[0]
    assert total == distinct == demo_db.customers
    assert nulls == 0


@pytest.mark.parametrize("column", list(VIEWS))
def test_persona_shares_follow_the_documented_distribution(demo_db: DemoDb, column: str) -> None:
    shares = dict(demo_db.query(f"select {column}, count(*) / sum(count(*)) over () from raw.demo_personas group by 1"))
    documented = {p.name: p.share for p in VIEWS[column]}
    assert set(shares) == set(documented)
    for name, share in documented.items():
        assert abs(shares[name] - share) < 0.03, name
        assert shares[name] > 0.07, f"{name} is too small to be a usable segment"
    assert len(set(documented.values())) > 1, "persona sizes should be unequal"


def test_personas_are_independent_across_views(demo_db: DemoDb) -> None:
    """The value persona must not predict the channel or behavioral persona."""
    rows = demo_db.query("select value_persona, behavioral_persona, channel_persona from raw.demo_personas")
    frame = pd.DataFrame(rows, columns=["value", "behavioral", "channel"])
    for other in ("behavioral", "channel"):
        assert adjusted_rand_score(frame["value"], frame[other]) < 0.01
        overall = frame[other].value_counts(normalize=True)
        for _, group in frame.groupby("value"):
            within = group[other].value_counts(normalize=True)
            assert (within - overall).abs().max() < 0.06


def test_value_personas_are_recoverable_from_rfm_features(demo_db: DemoDb) -> None:
    frame = _frame(
        demo_db,
        """select customer_id,
            date_diff('day', max(ordered_at)::date,
                      (select max(ordered_at)::date + 1 from raw.order_lines)) as recency_days,
            count(distinct order_id) as frequency,
            sum(revenue) as monetary_total,
            sum(revenue) / count(distinct order_id) as avg_order_value
        from counting_lines group by 1 order by 1""",
    )
    features = np.log1p(frame.drop(columns="customer_id").astype(float).clip(lower=0))
    truth = _truth(demo_db, "value_persona", frame["customer_id"])
    medians = frame.assign(t=truth).groupby("t").median(numeric_only=True)
    assert medians.loc["champions", "frequency"] > medians.loc["loyal", "frequency"]
    assert medians.loc["at_risk", "recency_days"] > 180 > medians.loc["loyal", "recency_days"]
    assert medians.loc["lapsed", "recency_days"] > 540
    assert medians.loc["new", "frequency"] <= 2 and medians.loc["lapsed", "frequency"] <= 2
    assert medians.loc["champions", "avg_order_value"] > 1.5 * medians.loc["loyal", "avg_order_value"]
    assert _ari(features, truth, len(VALUE_PERSONAS)) >= 0.8


def test_behavioral_personas_are_recoverable_from_affinity_features(demo_db: DemoDb) -> None:
    pivot = ", ".join(f"'{c}'" for c in CATEGORIES)
    frame = _frame(
        demo_db,
        f"""with per_category as (
                select customer_id, category, sum(revenue) as revenue
                from counting_lines group by all),
            totals as (
                select customer_id, sum(revenue) as revenue,
                    sum(coalesce(discount, 0)) / nullif(sum(gross), 0) as discount_share
                from counting_lines group by 1),
            shares as (
                pivot (select c.customer_id, c.category, c.revenue / nullif(t.revenue, 0) as s
                       from per_category c join totals t using (customer_id))
                on category in ({pivot}) using sum(s) group by customer_id)
        select shares.*, totals.discount_share
        from shares join totals using (customer_id) order by 1""",
    )
    shares = frame[list(CATEGORIES)].astype(float).fillna(0.0)
    features = shares.assign(
        breadth=np.log1p((shares > 0).sum(axis=1)),
        concentration=(shares**2).sum(axis=1),
        discount_share=frame["discount_share"].astype(float),
    )
    truth = _truth(demo_db, "behavioral_persona", frame["customer_id"])
    by_persona = features.assign(t=truth).groupby("t").mean()
    assert by_persona.loc["bargain_hunters", "discount_share"] > 0.15
    assert by_persona.drop(index="bargain_hunters")["discount_share"].max() < 0.05
    assert by_persona.loc["fashion", ["apparel", "footwear", "beauty"]].sum() > 0.8
    assert by_persona.loc["home", ["home", "kitchen"]].sum() > 0.8
    assert _ari(features, truth, len(BEHAVIORAL_PERSONAS)) >= 0.8


def test_channel_personas_are_recoverable_from_channel_features(demo_db: DemoDb) -> None:
    pivot = ", ".join(f"'{c}'" for c in CHANNELS)
    frame = _frame(
        demo_db,
        f"""with orders as (
                select customer_id, order_id, min(ordered_at) as ordered_at,
                    min(channel) as channel
                from counting_lines group by all),
            as_of as (select max(ordered_at)::date + 1 as d from raw.order_lines),
            channel_counts as (
                pivot (select customer_id, channel from orders)
                on channel in ({pivot}) using count(*) group by customer_id),
            events as (
                select customer_id, min(occurred_at) as first_event,
                    count(*) filter (where event_type = 'email_sent') as sent,
                    count(*) filter (where event_type = 'email_open') as opens,
                    count(*) filter (where event_type = 'email_click') as clicks,
                    count(*) filter (where event_type = 'web_visit') as web_visits,
                    count(*) filter (where event_type = 'app_session') as app_sessions,
                    count(*) filter (where event_type = 'support_ticket') as tickets
                from raw.engagement_events, as_of
                where occurred_at < as_of.d and occurred_at >= as_of.d - interval 365 day
                group by 1),
            first_orders as (select customer_id, min(ordered_at) as first_order
                from orders group by 1)
        select c.*, e.sent, e.opens, e.clicks, e.web_visits, e.app_sessions, e.tickets,
            greatest(30, least(365, date_diff('day',
                least(coalesce(e.first_event, f.first_order), f.first_order), as_of.d)))
                as exposure_days
        from channel_counts c join first_orders f using (customer_id)
        left join events e using (customer_id) cross join as_of
        order by 1""",
    )
    counts = frame[list(CHANNELS)].astype(float)
    features = counts.div(counts.sum(axis=1), axis=0)
    months = frame["exposure_days"].astype(float) / 30.4375
    for column in ("sent", "opens", "clicks", "web_visits", "app_sessions", "tickets"):
        features[f"{column}_per_month"] = np.log1p(frame[column].fillna(0).astype(float) / months)
    sent = frame["sent"].astype(float).where(frame["sent"] > 0)
    features["open_rate"] = frame["opens"].astype(float) / sent
    features["click_rate"] = frame["clicks"].astype(float) / sent
    truth = _truth(demo_db, "channel_persona", frame["customer_id"])
    by_persona = features.assign(t=truth).groupby("t").mean()
    assert by_persona.loc["web_email_engaged", "open_rate"] > 0.4
    assert by_persona.drop(index="web_email_engaged")["open_rate"].max() < 0.25
    assert by_persona.loc["app_first", "app"] > 0.7
    assert by_persona.loc["store_loyal", ["store", "phone"]].sum() > 0.8
    assert by_persona.loc["marketplace_deal_seekers", "marketplace"] > 0.7
    assert _ari(features, truth, len(CHANNEL_PERSONAS)) >= 0.8
