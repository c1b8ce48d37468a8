"""The Azure Cosmos DB for NoSQL adapter of the storage port (docs/cosmos.md)."""

from core.adapters.cosmos.store import CosmosStore

__all__ = ["CosmosStore"]
