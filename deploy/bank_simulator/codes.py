"""The answer codes the simulator gives, as the real bank documents them.

Paybox Direct ``CODEREPONSE`` and Paybox System ``Erreur`` share one table: ``00000`` success,
``000xx`` platform errors, ``001xx`` the card issuer's refusal (``001`` + the authorisation
centre's two-digit code). Labels follow the published Paybox / E-transactions integration
manuals' tables (as reproduced in public clients, e.g. osimatic/helpers-php
``src/Bank/PayBox.php``).
"""

from __future__ import annotations

__all__ = ["LABELS", "comment"]

APPROVED = "00000"
CANCELLED = "00001"  # what the simulator returns when the buyer cancels on the page
PAYBOX_ERROR = "00003"
INVALID_CARD = "00004"  # card number or visual cryptogram (CVV) invalid
INVALID_QUESTION = "00005"
ACCESS_REFUSED = "00006"  # bad HMAC, or site / rang / identifiant incorrect
INVALID_DATE = "00007"
INVALID_EXPIRY = "00008"
INVALID_TYPE = "00009"
UNKNOWN_CURRENCY = "00010"
INVALID_AMOUNT = "00011"  # also: more than authorised / captured
INVALID_REFERENCE = "00012"
UNSUPPORTED_VERSION = "00013"
INCOHERENT_FRAME = "00014"
PREVIOUS_DATA = "00015"  # previously referenced data: already captured, not captured yet
TRANSACTION_NOT_FOUND = "00018"
DO_NOT_HONOUR = "00105"  # issuer: "ne pas honorer"
INSUFFICIENT_FUNDS = "00151"  # issuer: "provision insuffisante ou crédit dépassé"

LABELS = {
    APPROVED: "Opération réussie",
    CANCELLED: "Échec de connexion au centre d'autorisation ou opération abandonnée",
    PAYBOX_ERROR: "Erreur Paybox",
    INVALID_CARD: "Numéro de porteur ou cryptogramme visuel invalide",
    INVALID_QUESTION: "Numéro de question invalide",
    ACCESS_REFUSED: "Accès refusé ou site/rang/identifiant incorrect",
    INVALID_DATE: "Date invalide",
    INVALID_EXPIRY: "Date de fin de validité incorrecte",
    INVALID_TYPE: "Type d'opération invalide",
    UNKNOWN_CURRENCY: "Devise inconnue",
    INVALID_AMOUNT: "Montant incorrect",
    INVALID_REFERENCE: "Référence commande invalide",
    UNSUPPORTED_VERSION: "Cette version n'est plus soutenue",
    INCOHERENT_FRAME: "Trame reçue incohérente",
    PREVIOUS_DATA: "Erreur d'accès aux données précédemment référencées",
    TRANSACTION_NOT_FOUND: "Transaction non trouvée",
    DO_NOT_HONOUR: "Ne pas honorer",
    INSUFFICIENT_FUNDS: "Provision insuffisante ou crédit dépassé",
}


def comment(code: str) -> str:
    """The ``COMMENTAIRE`` the bank gives with ``code``."""
    return f"PAYBOX : {LABELS.get(code, 'Erreur inconnue')}"
