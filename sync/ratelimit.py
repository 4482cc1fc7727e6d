"""Client-side rate limiting and retry backoff.

HubSpot counts requests in a *rolling* 10-second window and answers 429 once a
window holds more than the account's budget. A token bucket with burst ``b`` and
rate ``r`` can send ``b + r·W`` requests in a window ``W``, so to be safe it
must give up ``b`` requests of every window. The limiter here keeps the send
times of the last ``N`` requests instead (a sliding-window log, the exact form
of the same budget): request ``k`` waits until request ``k - N`` is older than
the window. Throughput is then ``N / (W + margin)``, where the small margin
absorbs the difference between when we send and when HubSpot counts.

Backoff for transient failures (5xx, dropped connections) is exponential with
*full jitter*: sleep a uniform random time in ``[0, min(cap, base·2^attempt)]``,
which spreads retries from many clients instead of synchronising them.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sync.config import RetryPolicy


@dataclass
class LimiterStats:
    """What the limiter did, for the run summary and the benchmark."""

    acquired: int = 0
    waited_seconds: float = 0.0
    penalties: int = 0


class RateLimiter:
    """At most ``max_requests`` sends in any ``window_seconds + margin_seconds``."""

    def __init__(
        self,
        max_requests: int,
        window_seconds: float = 10.0,
        margin_seconds: float = 0.25,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1:
            raise ValueError("max_requests must be at least 1")
        self.max_requests = max_requests
        self._floor = max(1, max_requests // 2)
        self.window = window_seconds + margin_seconds
        self._clock = clock
        self._sleep = sleep
        self._sent: collections.deque[float] = collections.deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self.stats = LimiterStats()

    def _delay(self, now: float) -> float:
        while self._sent and now - self._sent[0] >= self.window:
            self._sent.popleft()
        delay = max(0.0, self._blocked_until - now)
        if len(self._sent) >= self.max_requests:
            delay = max(delay, self._sent[0] + self.window - now)
        return delay

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                delay = self._delay(now)
                if delay <= 0:
                    self._sent.append(now)
                    self.stats.acquired += 1
                    self.stats.waited_seconds += waited
                    return waited
                # Sleeping under the lock is deliberate: callers queue in order.
                self._sleep(delay)
                waited += delay

    def penalize(self, seconds: float, shrink: float = 0.9) -> None:
        """The server said 429: pause everyone and give up part of the budget.

        The budget is shared by every app in a HubSpot account; a 429 on the
        rolling window means someone else is using part of it, so the limiter
        keeps a smaller share for the rest of the run (never below half the
        configured budget: a burst of 429s must not stall the sync).
        """
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + max(0.0, seconds))
            self.max_requests = max(self._floor, int(self.max_requests * shrink))
            self.stats.penalties += 1


@dataclass
class Backoff:
    """Exponential backoff with full jitter (seeded for reproducible tests)."""

    policy: RetryPolicy
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        cap = min(self.policy.max_seconds, self.policy.base_seconds * (2 ** (attempt - 1)))
        return self.rng.uniform(0.0, cap) if cap > 0 else 0.0
