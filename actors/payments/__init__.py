"""Payments: the pure payment state machine and the `payments` event worker.

The use cases (charging through a gateway, refunds, webhook reconciliation)
live in `serve_app/payments/`; SQL in `storage/payments.py`.
"""
