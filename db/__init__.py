"""Storage: one embedded SQLite file, numbered migrations and async repository functions."""

from db.database import Database, DatabaseError

__all__ = ["Database", "DatabaseError"]
