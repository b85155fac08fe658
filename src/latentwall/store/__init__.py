"""Store: every response persisted as it arrives, in SQLite, resumable and shared."""

from latentwall.store._lock import RunLock, RunLockedError, run_is_live
from latentwall.store._sqlite import (
           DB_NAME,
           ResultRecord,
           Store,
           StoreError,
           cacheable,
           connect_readonly,
    store_error,
)

__all__ = ["DB_NAME", "ResultRecord", "RunLock", "RunLockedError", "Store", "StoreError", "cacheable",
           "connect_readonly", "run_is_live", "store_error"]
