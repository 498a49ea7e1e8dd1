"""The shopping cart: schemas, pure rules, use cases (SQL in storage/cart.py)."""
