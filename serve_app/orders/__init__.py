"""Checkout and order queries (the OrderActor owns the state: actors/orders/)."""
