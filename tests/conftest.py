"""Fixtures shared by the test tiers: the Cosmos DB emulator is started once per session, when a test needs it."""

from tests.integration.cosmos_support import cosmos_settings

__all__ = ["cosmos_settings"]
