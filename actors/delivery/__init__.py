"""The `delivery` worker: shipments for paid orders, driven by a courier.

`shipment.py` holds the pure rules (status moves, what the simulator does
next); `webhook.py` the partner's signed report; `service.py` writes a step
and its DELIVERY_* event in one transaction; `handler.py` is the consumer;
`simulator.py` the embedded courier; `worker.py` wires them.
"""
