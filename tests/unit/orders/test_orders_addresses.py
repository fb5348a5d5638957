"""Art. 12 screening of delivery addresses: given an address, when screened, then refused, held
for the seller's check, or accepted (a street is a street whatever its words)."""

from __future__ import annotations

import pytest

from services.orders.addresses import REFUSAL, Finding, screen

STREETS_THAT_ARE_STREETS = [
    "12 place de l'Hôtel de Ville", "3 rue de l'Hôtel-de-Ville", "Place de l'Hotel de Ville",
    "1 parvis de l'Hôtel de Ville", "Rue de l'Hôtel Dieu", "4 quai de l'Hôtel-Dieu",
    "Hôtel de Ville", "7 rue de l'Hôtel des Postes", "2 place de l'Hôtel de Région",
    "5 rue du Camping", "14 chemin du Camping", "avenue du Camping", "8 impasse de la Poste",
    "12 rue de la Poste", "9 bis rue de la Poste", "Place des Hôtels", "2 allée des Chambres",
    "18 chemin des Chambres", "Résidence les Pins", "Lieu-dit Le Mas", "Chemin du Mas",
    "avenue de la Gare", "place de la Bastide", "22, boulevard des Motels",
    "Lotissement le Camping", "Hameau des Hôtes", "10 rue Bernard Palissy",
    "6 B rue de l'Hôtel de Ville", "Le Bourg", "Domaine de la Bastide",
    "3 cours de l'Hôtel de Police", "35 ter avenue Jean Jaurès", "Quartier Saint-Roch",
    "1 rue des Boîtes", "15 route de Perpignan",
]

REFUSED = [
    ("street", "BP 32", "BP 32"), ("street", "B.P. 45", "B.P. 45"),
    ("street", "Boîte postale 7", "Boîte postale 7"), ("street", "boite postale 12",
                                                         "boite postale 12"),
    ("street", "CS 30012", "CS 30012"), ("street", "TSA 10001", "TSA 10001"),
    ("street", "12 rue des Vignes BP 4", "BP 4"),
    ("street", "rue Bernard Palissy (BP 12)", "BP 12"), ("street", "BP n° 8", "BP n° 8"),
    ("street", "Poste restante", "Poste restante"),
    ("street", "Poste-restante", "Poste-restante"), ("street", "P.O. Box 12", "P.O. Box"),
    ("street", "poste\u2013restante", "poste\u2013restante"), ("street", "posterestante",
                                                                 "posterestante"),
    ("street_extra", "PO Box 12", "PO Box"), ("city", "Perpignan Poste Restante",
                                              "Poste Restante"),
    ("street_extra", "Poste restante, bureau principal", "Poste restante"),
    ("recipient", "Hôtel du Lac", "Hôtel"), ("recipient", "Hôtel du Centre", "Hôtel"),
    ("recipient", "L'Hôtel des Voyageurs", "Hôtel"), ("recipient", "Camping Les Pins", "Camping"),
    ("recipient", "Chambres d'hôtes La Vigne", "Chambres d'hôtes"),
    ("recipient", "B&B Hotel Nîmes", "B&B"), ("recipient", "Bed and Breakfast Mas",
                                              "Bed and Breakfast"),
    ("recipient", "Jeanne Martin, Hôtel du Lac", "Hôtel"),
    ("recipient", "Jeanne Martin c/o Camping les Flots", "Camping"),
    ("street_extra", "Camping des Flots Bleus", "Camping"),
    ("street_extra", "Camping les Pins", "Camping"),
    ("street_extra", "Chambre d’hôte Le Clos", "Chambre d’hôte"),
    ("street_extra", "Bât. A, Camping les Pins", "Camping"),
    ("street_extra", "Auberge de jeunesse du Port", "Auberge de jeunesse"),
]

HELD = [
    ("street", "Hôtel Ibis, 10 avenue du Maréchal Foch", "Hôtel"),
    ("street", "10 avenue du Maréchal Foch, Hôtel Ibis", "Hôtel"),
    ("street", "Camping municipal, route de Sète", "Camping"),
    ("street", "Camping Les Pins", "Camping"), ("street", "Ibis Hôtel", "Hôtel"),
    ("street", "rue Bernard Palissy (BP)", "BP"),
    ("street_extra", "Hôtel de Sully", "Hôtel"), ("street_extra", "Hotel Ibis chambre 12",
                                                  "Hotel"),
    ("recipient", "Jeanne Hotel", "Hotel"),
]


@pytest.mark.parametrize("street", STREETS_THAT_ARE_STREETS)
def test_given_an_ordinary_street_when_screened_then_accepted(street: str) -> None:
    assert screen("Jeanne Martin", street, None) is None


@pytest.mark.parametrize("extra", ["Résidence du Camping", "Bâtiment B, escalier 3",
                                   "Chambre 12", "Appartement 4, Résidence l'Hôtel de Ville",
                                   "Mairie, Hôtel de Ville"])
def test_given_an_ordinary_complement_when_screened_then_accepted(extra: str) -> None:
    assert screen("Jeanne Martin", "12 rue des Vignes", extra) is None


@pytest.mark.parametrize("recipient", ["Jeanne Martin", "Mairie de Thuir, Hôtel de Ville",
                                       "Hôtel-Dieu de Lyon, service achats", "M. Boîtard"])
def test_given_a_person_or_an_institution_as_recipient_when_screened_then_accepted(
        recipient: str) -> None:
    assert screen(recipient, "12 rue des Vignes") is None


def _address(field: str, text: str) -> dict[str, str]:
    return {"recipient": "Jeanne Martin", "street": "12 rue des Vignes", field: text}


@pytest.mark.parametrize(("field", "text", "found"), REFUSED)
def test_given_a_po_box_poste_restante_or_a_lodging_as_recipient_then_refused(
        field: str, text: str, found: str) -> None:
    finding = screen(**_address(field, text))

    assert finding == Finding(field, found, "refuse")  # type: ignore[arg-type]
    assert finding.reason == f"{REFUSAL} (found {found!r})"


@pytest.mark.parametrize(("field", "text", "found"), HELD)
def test_given_an_address_that_may_be_a_lodging_then_held_for_a_check(
        field: str, text: str, found: str) -> None:
    finding = screen(**_address(field, text))

    assert finding == Finding(field, found, "hold")  # type: ignore[arg-type]
    assert f"delivery_address.{field}" in finding.reason and text not in finding.reason


def test_given_a_refusal_and_a_doubt_then_the_refusal_wins() -> None:
    finding = screen("Jeanne Hotel", "BP 12")

    assert finding is not None and (finding.field, finding.verdict) == ("street", "refuse")


def test_decomposed_accents_are_read_like_composed_ones() -> None:
    finding = screen("Ho\u0302tel du Lac", "12 rue des Vignes")

    assert finding is not None and finding.verdict == "refuse"
