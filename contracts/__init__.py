"""The published language shared by every service.

* ``contracts.orders``, ``contracts.payments``, ``contracts.fulfilment``, ``contracts.refunds``:
  the events each service emits on its topic (one frozen pydantic model per event type);
* ``contracts.vocabulary``: the types shared by APIs, domains and events (cents, SKUs, quantities,
  block reasons, delivery methods, addresses);
* ``contracts.envelope``: the envelope, sealing into the hash chain, decoding and upcasting;
* ``contracts.registry``: every event type, derived from the service modules;
* ``contracts.topics``, ``contracts.hashing``, ``contracts.identifiers``; ``contracts.policies``:
  deadlines, surcharge schedules and the legal-interest rate table.
"""
