"""PostgreSQL: the system of record. Pool, migrations, embedded server."""
