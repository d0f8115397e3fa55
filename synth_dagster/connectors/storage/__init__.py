"""File and object storage through fsspec, queried with DuckDB."""
