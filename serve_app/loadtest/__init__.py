"""Flash-sale load testing: many shoppers racing for one hot product, then an audit.

`commerce loadtest flash-sale` drives the HTTP API (`command.py`), the audit
proves nothing was oversold or lost (`audit.py`), and `locustfile.py` runs the
same scenario under Locust. Pure parts (schedule, statistics, audit rules) do
no I/O so unit tests drive them directly.
"""
