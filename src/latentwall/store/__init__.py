"""Store: every response persisted as it arrives, in SQLite, resumable and shared."""

from latentwall.store._sqlite import DB_NAME, ResultRecord, Store, StoreError

__all__ = ["DB_NAME", "ResultRecord", "Store", "StoreError"]
