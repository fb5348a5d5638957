"""A payment-server simulator speaking the shape of Crédit Agricole E-transactions (Paybox).

It plays the bank for ``make run`` and the tests: the hosted payment page of Paybox System
(``/cgi/MYchoix_pagepaiement.cgi``), the signed notification to ``PBX_REPONDRE_A`` and the
signed return URLs, and Paybox Direct (``/PPPS.php``) for capture and refund. It is the other
party: it checks what the shop sends with its own code, never with the shop's client library.

Simulator-only test controls live under ``/_simulator/`` (faults, transactions list).
"""

from deploy.bank_simulator.app import create_app
from deploy.bank_simulator.keys import BankKeys, ensure_keys

__all__ = ["BankKeys", "create_app", "ensure_keys"]
