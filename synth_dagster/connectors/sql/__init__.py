"""SQL databases through SQLAlchemy."""
