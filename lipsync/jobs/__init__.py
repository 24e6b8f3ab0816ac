"""Job history (SQLite) and the one-at-a-time job runner."""
from .runner import JobRunner, Ticket
from .store import JobStore

__all__ = ["JobStore", "JobRunner", "Ticket"]
