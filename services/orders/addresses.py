"""Art. 12 screening of a delivery address: no hotels, camp sites, bed and breakfasts, P.O. boxes
or poste restante. Pure: text in, a finding (or none) out.

Words alone do not decide: "12 place de l'Hôtel de Ville" is a street, not a hotel. The rules,
field by field (recipient, street, street_extra), each line cut into segments at commas,
semicolons, slashes, brackets, dashes, "c/o" and "chez":

* **refuse** what cannot be anything else: a P.O. box *with its number* (``BP 12``, ``B.P. 45``,
  ``boîte postale 7``, ``CS 30012``, ``TSA 10001``), the words "boîte postale", "P.O. box" or
  "poste restante" anywhere (the city included); a recipient segment that *starts* with a
  lodging ("Hôtel du Lac", "Camping Les Pins", "B&B Hotel Nîmes"); a complement line
  (``street_extra``) segment that starts with an unambiguous lodging (camp site, chambres
  d'hôtes, bed and breakfast, motel, youth hostel);
* **hold** for the seller's check (the order is accepted, then blocked for an incorrect
  address) what may be a lodging but may also be a home: a street line that names a lodging
  instead of a thoroughfare ("Hôtel Ibis, 10 avenue X", "Camping municipal, route de Sète");
  a complement that starts with "Hôtel" (an *hôtel particulier* is a town house, often flats);
  a lodging word inside a recipient or complement that is not a street or building name
  ("Jeanne Hotel"); a bare "BP" with no number ("rue Bernard Palissy (BP)");
* **accept** everything else, in particular any segment that starts as a thoroughfare or a
  building ("5 rue du Camping", "Résidence les Pins", "Lieu-dit Le Mas"), and the institutions
  whose name holds "hôtel" (Hôtel de Ville, Hôtel-Dieu, Hôtel de Région, Hôtel des Postes...).

A refusal anywhere wins over a hold anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

__all__ = ["Finding", "screen"]

Verdict = Literal["refuse", "hold"]
Field = Literal["recipient", "street", "street_extra", "city"]

_PO_BOX = re.compile(
    r"\b(?:b\.?\s?p\.?|bo[iî]te\s+postale|bte\s+postale|cs|tsa)\s*(?:n[°o]\.?\s*)?\d+\b"
    r"|\bbo[iî]te\s+postale\b|\bposte[\s\-\u2010-\u2015]*restante\b"
    r"|\bp\.?\s?o\.?\s*box\b", re.IGNORECASE)
_BARE_BP = re.compile(r"\bb\.?p\b\.?", re.IGNORECASE)
_INSTITUTIONS = re.compile(
    r"h[oô]tel[\s-]+(?:de[\s-]+(?:ville|r[ée]gion|police|la[\s-]+pr[ée]fecture)"
    r"|du[\s-]+d[ée]partement|des[\s-]+(?:imp[oô]ts|finances|postes|ventes|monnaies|invalides)"
    r"|dieu)\b|\bh[oô]tels?\s+particuliers?\b", re.IGNORECASE)
_CERTAIN = (r"campings?|camping-cars?|camp[\s-]?sites?|terrain\s+de\s+camping"
            r"|chambres?\s+d['’]\s*h[oô]tes?|bed\s*(?:and|&)\s*breakfast|b\s*&\s*b"
            r"|motels?|auberge\s+de\s+jeunesse")
_HOTEL = r"h[oô]tel(?:s|lerie)?"
_LODGING = re.compile(rf"\b(?:{_CERTAIN}|{_HOTEL})\b", re.IGNORECASE)
_LEAD = r"^(?:n[°o]\.?\s*)?(?:\d+\s*(?:bis|ter|quater|[a-z])?\b\s*,?\s*)?"
_DESIGNATION = re.compile(rf"{_LEAD}(?:(?:le|la|les)\s+|l['’]\s*)?({_CERTAIN}|{_HOTEL})\b",
                          re.IGNORECASE)
_UNAMBIGUOUS = re.compile(rf"(?:{_CERTAIN})$", re.IGNORECASE)
_ORDINARY = re.compile(
    _LEAD + r"(?:rue|ruelle|avenue|av|bd|boulevard|place|pl|chemin|ch|impasse|imp|all[ée]e|"
    r"route|rte|quai|cours|square|passage|sentier|sente|voie|venelle|traverse|mont[ée]e|"
    r"descente|rond-point|esplanade|parvis|promenade|faubourg|fbg|mail|lieu-?dit|ld|hameau|"
    r"lotissement|lot|r[ée]sidence|r[ée]s|cit[ée]|clos|chauss[ée]e|parc|cour|port|digue|"
    r"rampe|c[oô]te|carrefour|za|zi|zac|zone|b[aâ]timent|b[aâ]t|immeuble|escalier|esc|"
    r"[ée]tage|appartement|appt|apt|entr[ée]e|villa|tour|domaine|quartier|mas|ferme|bastide)"
    r"\b", re.IGNORECASE)
_SEGMENTS = re.compile(r"\s*(?:\bc/o\b|\bchez\b|[,;/()\[\]–—]|\s-\s)\s*", re.IGNORECASE)
REFUSAL = "no delivery to temporary residences, P.O. boxes or poste restante"


@dataclass(frozen=True)
class Finding:
    """What the screening found in one field: the words found and what to do with the order."""

    field: Field
    found: str
    verdict: Verdict

    @property
    def reason(self) -> str:
        """Why, in the buyer's or the operator's words (never more of the address than
        ``found``: a hold's reason goes into an event in clear)."""
        if self.verdict == "refuse":
            return f"{REFUSAL} (found {self.found!r})"
        return (f"delivery_address.{self.field} may name a temporary residence or a P.O. box "
                f"(found {self.found!r}): check the address with the buyer (Art. 12)")


def screen(recipient: str, street: str, street_extra: str | None = None,
           city: str = "") -> Finding | None:
    """Screen a delivery address against Art. 12 (rules in the module docstring): the first
    refusal, else the first hold, else None. The city is screened for a P.O. box or poste
    restante only ("Perpignan Poste Restante"): a town may be named after anything."""
    lines: tuple[tuple[Field, str], ...] = (
        ("recipient", recipient), ("street", street), ("street_extra", street_extra or ""))
    found = [found for name, text in lines if (found := _screen_line(name, text))]
    if postal := _PO_BOX.search(unicodedata.normalize("NFC", city)):
        found.append(Finding("city", postal.group(0), "refuse"))
    return _first(found)


def _screen_line(field: Field, text: str) -> Finding | None:
    text = unicodedata.normalize("NFC", text)
    postal = _PO_BOX.search(text)
    if postal:
        return Finding(field, postal.group(0), "refuse")
    text = _INSTITUTIONS.sub(" ", text)
    findings = [found for segment in _SEGMENTS.split(text)
                if (found := _screen_segment(field, segment.strip()))]
    bare = _BARE_BP.search(text)
    if bare:
        findings.append(Finding(field, bare.group(0), "hold"))
    return _first(findings)


def _first(findings: list[Finding]) -> Finding | None:
    """The first refusal, else the first hold, else None."""
    refusals = [found for found in findings if found.verdict == "refuse"]
    return next(iter(refusals or findings), None)


def _screen_segment(field: Field, segment: str) -> Finding | None:
    if _ORDINARY.match(segment):
        return None
    designation = _DESIGNATION.match(segment)
    if designation:
        return Finding(field, designation.group(1), _designation_verdict(field,
                                                                         designation.group(1)))
    word = _LODGING.search(segment)
    return Finding(field, word.group(0), "hold") if word else None


def _designation_verdict(field: Field, lodging: str) -> Verdict:
    """A segment that starts by naming a lodging: the recipient is that lodging (refused); a
    complement line is, unless it is an "hôtel" (town houses bear the name); on the street
    line it stands where the thoroughfare should, so someone checks."""
    if field == "recipient" or (field == "street_extra" and _UNAMBIGUOUS.match(lodging)):
        return "refuse"
    return "hold"
