"""An in-memory adapter built on queues: for tests, benchmarks and embedding Indaba."""

from adapters.memory.adapter import MemoryAdapter

__all__ = ["MemoryAdapter"]
