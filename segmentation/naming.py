"""Deterministic, readable segment names from profiles.

A name is built from the segment's most unusual features (largest |z-score| of at
least ``MIN_Z``, total value weighted up and basket size down), up to three of them
and one per behaviour (an email open rate and email opens per month are one fact),
each turned into a phrase by a small lexicon:
high ``monetary_total`` reads "high value", low ``recency_days`` reads "recent", a high
``cat_share__outdoor`` reads "outdoor focused", a high ``discount_share`` reads
"bargain hunters". The phrases are put in a fixed reading order (value, frequency,
recency, then the rest) so names look alike across segments: "High value, frequent,
recent", "Lapsed, infrequent, low value". A segment with nothing unusual is "Typical
customers". A segment with fewer than two such features gets its strongest features
from ``|z| >= 0.3`` as well, so "Recent" becomes "High value, recent".

Names are computed when a model is fitted and stored with it, so they do not flicker
between scoring runs; at a refit, a segment matched to a previous one that moved
less than half the match threshold, in a refit with the same k, keeps its name (see
:mod:`segmentation.pipeline`).
User overrides from the ``segments__segment_name_overrides`` seed are applied on top in SQL and
therefore survive refits.

Duplicates within a view are resolved deterministically: the segment with the lower
id keeps the short name, the other gets its next distinguishing phrase, and as a last
resort " (segment <id>)".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MIN_Z = 0.5
WEAK_Z = 0.3  # admitted only to give a name at least MIN_PHRASES phrases
MIN_PHRASES = 2
MAX_PHRASES = 3


@dataclass(frozen=True)
class Phrase:
    order: int
    text: str
    strength: float


def humanise(slug: str) -> str:
    """A column name or part of one as words: ``email_open`` reads "email open"."""
    return re.sub(r"[_\-]+", " ", slug).strip()


# (pattern, reading order, phrase when high, phrase when low); {x} is the glob's suffix.
_LEXICON: tuple[tuple[str, int, str, str], ...] = (
    (r"monetary_total", 10, "high value", "low value"),
    (r"avg_order_value", 12, "big baskets", "small baskets"),
    (r"frequency", 20, "frequent", "infrequent"),
    (r"recency_days", 30, "lapsed", "recent"),
    (r"tenure_days", 35, "long-standing", "new"),
    (r"cat_share__other", 40, "mixed categories", ""),
    (r"cat_share__(?P<x>.+)", 40, "{x} focused", ""),
    (r"top_category=(?P<x>.+)", 41, "{x} focused", ""),
    (r"category_breadth", 45, "broad explorers", "narrow shoppers"),
    (r"category_concentration", 46, "single-category", "varied baskets"),
    (r"discount_share", 50, "bargain hunters", "full-price buyers"),
    (r"chan_share__(?P<x>.+)", 60, "{x}-first", ""),
    (r"channel_breadth", 65, "omnichannel", "single-channel"),
    (r"email_open_rate", 70, "email engaged", "email unresponsive"),
    (r"email_click_rate", 71, "clickers", "non-clickers"),
    (r"events_per_month__email_sent", 79, "heavily emailed", "rarely emailed"),
    (r"events_per_month__(?P<x>.+)", 80, "active on {x}", "quiet on {x}"),
    (r"engagement_events_total", 85, "highly engaged", "disengaged"),
)


# How much a feature's |z| counts when picking the three phrases: total value is what a
# marketer asks about first, basket size is usually a consequence of it.
_WEIGHTS: dict[str, float] = {"monetary_total": 1.5, "avg_order_value": 0.8}


def phrase_for(feature: str, z: float, min_z: float = MIN_Z) -> Phrase | None:
    """The phrase for one feature at z-score ``z``, or ``None`` if unremarkable."""
    if abs(z) < min_z:
        return None
    for pattern, order, high, low in _LEXICON:
        match = re.fullmatch(pattern, feature)
        if not match:
            continue
        template = high if z > 0 else low
        if not template:
            return None
        suffix = humanise(match.groupdict().get("x") or "")
        return Phrase(order, template.format(x=suffix), abs(z) * _WEIGHTS.get(feature, 1.0))
    text = f"{'high' if z > 0 else 'low'} {humanise(feature)}"
    return Phrase(90, text, abs(z))


def _topic(feature: str) -> str:
    """What a feature measures, so two measures of one behaviour give one phrase.

    ``email_open_rate`` and ``events_per_month__email_open`` both describe email
    opens; "email unresponsive, quiet on email open" says the same thing twice.
    """
    return re.sub(r"^events_per_month__|_rate$", "", feature)


def _phrases(z_scores: Mapping[str, float | None], min_z: float) -> list[Phrase]:
    candidates: list[tuple[Phrase, str]] = []
    for feature in sorted(z_scores):
        z = z_scores[feature]
        if z is None:
            continue
        phrase = phrase_for(feature, float(z), min_z)
        if phrase is not None:
            candidates.append((phrase, _topic(feature)))
    candidates.sort(key=lambda candidate: (-candidate[0].strength, candidate[0].order, candidate[0].text))
    phrases: list[Phrase] = []
    seen: set[str] = set()
    for phrase, topic in candidates:
        if phrase.text not in seen and topic not in seen:
            phrases.append(phrase)
            seen.update((phrase.text, topic))
    return phrases


def _ranked_phrases(z_scores: Mapping[str, float | None]) -> list[Phrase]:
    """Phrases with |z| >= MIN_Z, topped up from |z| >= WEAK_Z to MIN_PHRASES."""
    strong = _phrases(z_scores, MIN_Z)
    if len(strong) >= MIN_PHRASES:
        return strong
    texts = {p.text for p in strong}
    weak = [p for p in _phrases(z_scores, WEAK_Z) if p.text not in texts]
    return strong + weak[: MIN_PHRASES - len(strong)]


def _compose(phrases: Iterable[Phrase]) -> str:
    ordered = sorted(phrases, key=lambda p: (p.order, p.text))
    if not ordered:
        return "Typical customers"
    text = ", ".join(p.text for p in ordered)
    return text[0].upper() + text[1:]


def segment_name(z_scores: Mapping[str, float | None], n_phrases: int = MAX_PHRASES) -> str:
    """Name of one segment from its z-scores (see the module docstring)."""
    return _compose(_ranked_phrases(z_scores)[:n_phrases])


def name_segments(
    z_by_segment: Mapping[int, Mapping[str, float | None]],
    outlier_id: int | None = None,
    keep: Mapping[int, str] | None = None,
) -> dict[int, str]:
    """Unique names for all segments of a view, deterministic in the segment ids.

    ``keep`` holds names that must not change (segments matched to a previous model);
    they are reserved first and new segments are named around them.
    """
    names: dict[int, str] = {seg: name for seg, name in (keep or {}).items() if seg in z_by_segment}
    used: set[str] = set(names.values())
    for seg in sorted(z_by_segment):
        if seg in names:
            continue
        if outlier_id is not None and seg == outlier_id:
            names[seg] = "Outliers"
            used.add("Outliers")
            continue
        ranked = _ranked_phrases(z_by_segment[seg])
        name = _compose(ranked[:MAX_PHRASES])
        extra = MAX_PHRASES
        while name in used and extra < len(ranked):
            extra += 1
            name = _compose(ranked[:extra])
        if name in used:
            name = f"{name} (segment {seg})"
        names[seg] = name
        used.add(name)
    return names
