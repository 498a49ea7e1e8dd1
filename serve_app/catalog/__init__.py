"""The catalog: products with JSONB attributes, categories, listings (API.md "Catalog and stock")."""
