"""The few HTML pages of the hosted payment page, escaped, without scripts."""

from __future__ import annotations

from html import escape

__all__ = ["error_page", "payment_page"]

_STYLE = ("body{font-family:sans-serif;max-width:32rem;margin:2rem auto}"
          "label{display:block;margin:.5rem 0}")


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>")


def _euros(amount_cents: int) -> str:
    return f"{amount_cents // 100},{amount_cents % 100:02d} EUR"


def payment_page(session: str, amount_cents: int, reference: str) -> str:
    """The card form of one payment session, with its cancel button."""
    hidden = f'<input type="hidden" name="session" value="{escape(session)}">'
    return _page("E-transactions — paiement", (
        "<h1>E-transactions — paiement</h1>"
        "<p>Simulateur : aucune carte réelle n'est acceptée ni conservée.</p>"
        f'<p>Montant : <strong id="amount">{_euros(amount_cents)}</strong></p>'
        f'<p>Référence : <strong id="reference">{escape(reference)}</strong></p>'
        f'<form method="post" action="/cgi/pay" autocomplete="off">{hidden}'
        '<label>Numéro de carte <input name="card_number" inputmode="numeric" required>'
        "</label>"
        '<label>Date d\'expiration (MM/AA) <input name="expiry" placeholder="MM/AA" required>'
        "</label>"
        '<label>Cryptogramme visuel <input name="cvv" inputmode="numeric" maxlength="3" '
        "required></label>"
        '<button type="submit">Valider le paiement</button></form>'
        f'<form method="post" action="/cgi/cancel">{hidden}'
        '<button type="submit">Annuler</button></form>'))


def error_page(message: str) -> str:
    """The page the bank shows when it refuses the shop's request."""
    return _page("E-transactions — erreur",
                 f"<h1>E-transactions — erreur</h1><p>{escape(message)}</p>")
