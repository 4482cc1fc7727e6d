"""Suggested marketing actions for segments and RFM cells.

A segment card that only says "High value, frequent, lapsed" leaves the marketer to
work out what to do. The suggestion is derived from the same z-scores that named the
segment, with one rule set per view, so it changes when the segment's profile
changes and it never contradicts the name. The rules are deliberately plain (a
threshold on a few features); they are a starting point to discuss, not a decision.
"""

from __future__ import annotations

from collections.abc import Mapping

# The bars of the segment names: |z| >= MIN_Z makes a defining trait of a segment,
# WEAK_Z a weaker one that a name may still mention.
from segmentation.naming import MIN_Z, WEAK_Z

RFM_ACTIONS: dict[str, str] = {
    "Champions": "Reward them: early access, loyalty perks, ask for reviews and referrals. No discounts needed.",
    "Loyal": "Upsell and cross-sell higher-value ranges; invite to the loyalty programme.",
    "Potential Loyalists": "Offer membership or a loyalty tier; recommend a second category.",
    "New Customers": "Onboarding series; make the second order easy (replenishment, tips).",
    "Promising": "Build familiarity: best-sellers, social proof, a small incentive to return.",
    "Need Attention": "Time-limited offer based on what they bought before.",
    "About to Sleep": "Reactivate with popular products and a modest incentive before they lapse.",
    "At Risk": "Personal win-back message; remind them of what they liked; survey why.",
    "Can't Lose Them": "High-value and slipping: personal outreach, service call, strongest win-back offer.",
    "Hibernating": "Low-cost reactivation: one relevant offer; otherwise reduce contact.",
    "Lost": "One last win-back attempt, then suppress from paid media to save budget.",
}

_CHANNEL_TOUCH: dict[str, str] = {
    "app": "push notifications and in-app messages",
    "web": "on-site personalisation and email",
    "store": "in-store events and clienteling",
    "phone": "outbound calls from the service team",
    "marketplace": "marketplace listings, and an invitation to buy direct",
    "email": "email",
    "social": "paid and organic social",
}


def rfm_action(cell_name: str) -> str:
    """The playbook line for a named RFM cell (unknown names get a neutral line)."""
    return RFM_ACTIONS.get(cell_name, "Review this group's recent behaviour before targeting it.")


def _z(z_scores: Mapping[str, float | None], name: str) -> float:
    value = z_scores.get(name)
    return float(value) if value is not None else 0.0


def _top_suffixes(z_scores: Mapping[str, float | None], prefix: str, n: int) -> list[str]:
    """Suffixes of the ``prefix*`` features with the largest positive z (above the trait bar)."""
    ranked = sorted(
        (
            (float(v), k[len(prefix) :])
            for k, v in z_scores.items()
            if k.startswith(prefix) and v is not None and float(v) >= MIN_Z
        ),
        reverse=True,
    )
    return [suffix.replace("_", " ") for _, suffix in ranked[:n] if suffix != "other"]


def _value_action(z: Mapping[str, float | None]) -> str:
    lapsed = _z(z, "recency_days")
    valuable = max(_z(z, "monetary_total"), _z(z, "frequency"))
    basket = _z(z, "avg_order_value")
    if valuable >= MIN_Z and lapsed >= WEAK_Z:
        return (
            "Win back before they churn: valuable customers going quiet. Personal outreach "
            "or a tailored offer on what they bought before."
        )
    if valuable >= MIN_Z:
        return "Retain and reward: VIP perks, early access and referral asks; keep them out of blanket discounts."
    if lapsed >= WEAK_Z:
        return "Low-cost reactivation: one win-back message, then suppress from paid media if there is no response."
    if lapsed <= -WEAK_Z:
        return "Build the habit: welcome series and a second-purchase nudge while they are still engaged."
    if basket >= WEAK_Z:
        return "Big baskets, few orders: replenishment reminders and bundles to raise frequency."
    return "Nurture: regular newsletter and cross-sell to lift order frequency."


def _behavioral_action(z: Mapping[str, float | None]) -> str:
    parts: list[str] = []
    categories = _top_suffixes(z, "cat_share__", 2)
    if categories:
        parts.append(
            f"Lead with {' and '.join(categories)} in creative and recommendations; "
            "cross-sell the categories next to them."
        )
    if _z(z, "discount_share") >= MIN_Z:
        parts.append("Price-sensitive: reach them with promotions and bundles.")
    elif _z(z, "discount_share") <= -MIN_Z:
        parts.append("Full-price buyers: sell on newness and quality, not discounts.")
    if _z(z, "category_breadth") >= MIN_Z:
        parts.append("Broad explorers: new arrivals across categories.")
    if not parts:
        parts.append("No strong category preference: test category-affinity campaigns.")
    return " ".join(parts)


def _channel_action(z: Mapping[str, float | None]) -> str:
    parts: list[str] = []
    channels = _top_suffixes(z, "chan_share__", 1)
    if channels:
        channel = channels[0]
        touch = _CHANNEL_TOUCH.get(channel, f"the {channel} channel")
        parts.append(f"Reach them where they buy: {touch}.")
    open_rate = _z(z, "email_open_rate")
    if open_rate >= MIN_Z:
        parts.append("Email works for them: make it the lead channel.")
    elif open_rate <= -MIN_Z:
        parts.append("Email goes unread: cut email frequency and use other channels.")
    if _z(z, "events_per_month__support_ticket") >= MIN_Z:
        parts.append("Frequent support contact: resolve open issues before any promotion.")
    if not parts:
        parts.append("No dominant channel: keep a balanced multichannel plan.")
    return " ".join(parts)


def segment_action(view: str, z_scores: Mapping[str, float | None], *, outlier: bool = False) -> str:
    """A one or two sentence suggestion for a segment of ``view``."""
    if outlier:
        return "Unusual customers that fit no segment: review by hand before targeting."
    if view == "value":
        return _value_action(z_scores)
    if view == "behavioral":
        return _behavioral_action(z_scores)
    if view == "channel":
        return _channel_action(z_scores)
    return "Review the defining traits below before targeting this segment."
