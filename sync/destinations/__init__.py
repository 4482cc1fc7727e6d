"""CRM destinations: Salesforce (Bulk API 2.0) and HubSpot (batch API, lists)."""

from __future__ import annotations

from sync.config import Destination, HubSpotDestination, RetryPolicy, SalesforceDestination
from sync.destinations.base import Connector
from sync.secrets import hubspot_credentials, salesforce_credentials


def connect(dest: Destination, retry: RetryPolicy) -> Connector:
    """Open a connector for ``dest`` with credentials from the environment."""
    if isinstance(dest, SalesforceDestination):
        from sync.destinations.salesforce import SalesforceConnector

        return SalesforceConnector(dest, salesforce_credentials(), retry)
    if isinstance(dest, HubSpotDestination):
        from sync.destinations.hubspot import HubSpotConnector

        return HubSpotConnector(dest, hubspot_credentials(), retry)
    raise TypeError(f"unknown destination type {type(dest).__name__}")
