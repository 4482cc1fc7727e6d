"""Exception types shared by the sync package.

They are separate from the modules that raise them so the CLI can map each kind
to an exit code and a message without importing the CRM clients.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base class: an error the user can act on; its message is shown as is."""


class ConfigError(SyncError):
    """The YAML configuration is missing, malformed or inconsistent."""


class MissingSecretError(ConfigError):
    """A credential environment variable is not set."""

    def __init__(self, variable: str, purpose: str) -> None:
        self.variable = variable
        super().__init__(
            f"environment variable {variable} is not set: it is needed for {purpose}. "
            "Secrets are read from the environment only, never from the config file."
        )


class WarehouseError(SyncError):
    """The warehouse could not be reached or a table does not match the contract."""


class DestinationError(SyncError):
    """The destination rejected the whole operation (auth, missing field, bad setup)."""


class DailyLimitReached(SyncError):
    """HubSpot answered 429 with the DAILY policy: stop cleanly and resume next run."""
