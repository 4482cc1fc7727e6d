"""Credentials from environment variables, and redaction of their values.

Secrets never come from the config file: a YAML file gets committed, copied and
attached to tickets. Every secret value read here is registered with the
:class:`Redactor`, which scrubs it (and its URL-encoded form) from log records,
error messages and anything written to the ledger. Redaction is a safety net on
top of not printing secrets in the first place: CRM error bodies and client
exceptions can echo request details we do not control.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

from sync.errors import ConfigError, MissingSecretError

MASK = "***"
# Values shorter than this are not treated as secrets for redaction: replacing
# every "1" or "abc" in the output would destroy messages and protect nothing.
_MIN_SECRET_LENGTH = 6


class Redactor:
    """Process-wide registry of secret values and the function that hides them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: list[str] = []

    def register(self, value: str | None) -> None:
        """Remember ``value`` (and its encodings) so :meth:`redact` hides it."""
        if not value or len(value) < _MIN_SECRET_LENGTH:
            return
        variants = {value, quote(value, safe=""), quote_plus(value)}
        with self._lock:
            for variant in variants:
                if variant not in self._values:
                    self._values.append(variant)
            # Longest first so a secret containing another is masked whole.
            self._values.sort(key=len, reverse=True)

    def redact(self, text: object) -> str:
        """Return ``str(text)`` with every registered secret replaced by ``***``."""
        out = str(text)
        with self._lock:
            values = list(self._values)
        for value in values:
            if value in out:
                out = out.replace(value, MASK)
        return out

    def clear(self) -> None:
        """Forget every value (tests only)."""
        with self._lock:
            self._values.clear()


REDACTOR = Redactor()


def redact(text: object) -> str:
    """Shortcut for :meth:`Redactor.redact` on the process-wide registry."""
    return REDACTOR.redact(text)


def clean_error(exc: BaseException, limit: int | None = None) -> str:
    """An exception's message on one line, redacted, cut at ``limit`` characters if given."""
    return redact(" ".join(str(exc).split()))[:limit]


class RedactingFilter(logging.Filter):
    """Logging filter that renders the message and removes secrets from it.

    Installed on handlers (not loggers) so records from third-party libraries
    (urllib3, simple_salesforce, zeep) are scrubbed too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format in someone else's log call
            message = str(record.msg)
        record.msg = REDACTOR.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, redacted, so the formatter does not
            # re-render the raw exception text later.
            formatter = logging.Formatter()
            record.exc_text = REDACTOR.redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach :class:`RedactingFilter` to every handler of ``logger`` (root by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


@dataclass(frozen=True)
class SalesforceCredentials:
    """How to authenticate to Salesforce: a session, or a username/password login.

    ``repr`` never shows the secret fields.
    """

    instance_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    domain: str = "login"

    @property
    def uses_session(self) -> bool:
        return self.access_token is not None


@dataclass(frozen=True)
class HubSpotCredentials:
    """A HubSpot private-app (or OAuth) access token; ``repr`` hides it."""

    access_token: str = field(repr=False)


def salesforce_credentials(environ: Mapping[str, str] | None = None) -> SalesforceCredentials:
    """Read Salesforce credentials from the environment.

    Either ``SALESFORCE_ACCESS_TOKEN`` + ``SALESFORCE_INSTANCE_URL`` (a session
    from an OAuth flow or ``sf org display``), or ``SALESFORCE_USERNAME`` +
    ``SALESFORCE_PASSWORD`` + ``SALESFORCE_SECURITY_TOKEN`` (optional
    ``SALESFORCE_DOMAIN``: ``login``, ``test`` or a My Domain prefix).
    A missing variable raises :class:`MissingSecretError` naming it.
    """
    env = os.environ if environ is None else environ
    token = _env(env, "SALESFORCE_ACCESS_TOKEN")
    domain = _env(env, "SALESFORCE_DOMAIN") or "login"
    if token is not None:
        instance_url = _env(env, "SALESFORCE_INSTANCE_URL")
        if instance_url is None:
            raise MissingSecretError("SALESFORCE_INSTANCE_URL", "Salesforce access-token authentication")
        if not instance_url.startswith(("https://", "http://")):
            raise ConfigError(
                "SALESFORCE_INSTANCE_URL must be a full URL such as https://yourcompany.my.salesforce.com"
            )
        REDACTOR.register(token)
        return SalesforceCredentials(instance_url=instance_url, access_token=token, domain=domain)
    username = _env(env, "SALESFORCE_USERNAME")
    if username is None:
        raise MissingSecretError(
            "SALESFORCE_ACCESS_TOKEN",
            "Salesforce authentication (or set SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN)",
        )
    password = _env(env, "SALESFORCE_PASSWORD")
    if password is None:
        raise MissingSecretError("SALESFORCE_PASSWORD", "Salesforce username/password login")
    security_token = env.get("SALESFORCE_SECURITY_TOKEN")
    if security_token is None:
        raise MissingSecretError(
            "SALESFORCE_SECURITY_TOKEN",
            "Salesforce username/password login (set it to an empty string if your IP range is trusted)",
        )
    REDACTOR.register(password)
    REDACTOR.register(security_token)
    REDACTOR.register(password + security_token)
    return SalesforceCredentials(
        username=username,
        password=password,
        security_token=security_token.strip(),
        domain=domain,
    )


def hubspot_credentials(environ: Mapping[str, str] | None = None) -> HubSpotCredentials:
    """Read ``HUBSPOT_ACCESS_TOKEN`` (a private-app token) from the environment."""
    env = os.environ if environ is None else environ
    token = _env(env, "HUBSPOT_ACCESS_TOKEN")
    if token is None:
        raise MissingSecretError("HUBSPOT_ACCESS_TOKEN", "HubSpot authentication")
    REDACTOR.register(token)
    return HubSpotCredentials(access_token=token)
