"""The operators' and auditors' command line: ``python -m services.ops --help``.

Built on the log and the services' stores, never on a private copy: ``tail`` follows the topics,
``order`` reads each service's event store, ``lag`` the consumer groups' offsets and the relays'
outboxes, ``dlq`` the dead-letter topics, ``rebuild``/``verify``/``proof`` call the platform's and
the refunds' own code, ``export`` the buyer-facing views. The pieces that compute (``lag``,
``dlq``, ``timeline``, ``export``) return plain data and know nothing of the terminal, so another
front end (the web console) can use them too; ``cli`` draws them with Rich.
See docs/decisions/0013-ops-command-line.md.
"""
