"""Indaba's storage: SQLAlchemy 2 async models and data access."""
