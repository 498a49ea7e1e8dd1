"""Payments: the gateway port and its adapters, use cases, webhook verification.

Rules: actors/payments/state.py (pure). SQL: storage/payments.py. The worker
that charges and refunds: actors/payments/worker.py.
"""
