"""The embedded DuckDB store: versioned schema, one transaction per ingested source."""

from vendorwatch.store.db import Store, default_db_path

__all__ = ["Store", "default_db_path"]
