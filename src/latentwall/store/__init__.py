"""Store: every response persisted as it arrives, in SQLite, resumable and shared.

Writes live in `_sqlite.py`; every read - the runner's work state, the typed `Result` rows
the analyses, reports and exports read, run lookup and metadata, the viewer's queries - in
`_query.py`. No SQL lives outside this package.
"""

from latentwall.store._connect import StoreError, connect_readonly, store_error
from latentwall.store._lock import RunLock, RunLockedError, run_is_live
from latentwall.store._query import (
    DB_NAME,
    DEFAULT_RUN_DIR,
    RUN_DIR_ENV,
    VIEWER_PAGE_MAX,
    QueryError,
    RunRef,
    StoreUnavailable,
    ViewerQueries,
    default_run_dir,
    live_status,
    resolve_runs,
    run_judge,
    run_meta,
    select_run_ids,
)
from latentwall.store._sqlite import ResultRecord, Store, cacheable

__all__ = [
    "DB_NAME",
    "DEFAULT_RUN_DIR",
    "RUN_DIR_ENV",
    "VIEWER_PAGE_MAX",
    "QueryError",
    "ResultRecord",
    "RunLock",
    "RunLockedError",
    "RunRef",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "ViewerQueries",
    "cacheable",
    "connect_readonly",
    "default_run_dir",
    "live_status",
    "resolve_runs",
    "run_is_live",
    "run_judge",
    "run_meta",
    "select_run_ids",
    "store_error",
]
