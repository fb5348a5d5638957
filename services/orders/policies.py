"""Reactions of the orders service to other services' events (``when_<event>_<action>``).

None yet: the sale becomes final on the payments service's capture
(``when_payment_captured_confirm_order``), which arrives with payments. Each policy turns the
event into a command and calls its handler in ``handlers.py``; ``subscriptions.py`` wires them.
"""

from __future__ import annotations

__all__: list[str] = []
