"""Memory: every finding of every night, with its evidence, searchable by meaning and by signature.

`store.MemoryStore` is the synchronous core (chroma + the SQLite audit trail); `service` offers the
same operations as async functions for the MCP tools; `reindex` and `cli` migrate between embeddings.
"""
