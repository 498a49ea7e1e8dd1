"""The `notifications` worker: domain events -> stored messages -> email / SMS.

`plan.py` is pure (which messages an event makes for whom); `handler.py`
stores them in the consumer's transaction; `dispatcher.py` sends them after
commit; `worker.py` wires the two into the worker deployment.
"""
