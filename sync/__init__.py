"""CRM sync: push customer segments and journey enrollments to Salesforce and HubSpot.

The warehouse is the system of record. Each run reads ``customer_segments`` and
``journey_triggers``, compares every record's mapped values with the hash the
destination last *confirmed* (kept in a ledger inside the warehouse), sends only
what changed, and advances the ledger one record at a time as the destination
confirms it. A crash, a rate limit or a partial failure therefore never loses an
update and never enrolls a customer twice: the next run simply picks up whatever
was not confirmed.

Entry points: :data:`sync.cli.sync_group` (``segments sync``) and ``python -m sync``.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
