"""The Redis adapter of the storage port."""
