-- Stock of the orders service's demo IGP rosé (the equivalent of the sold-out Grenache).
INSERT INTO stock (sku, on_hand) VALUES ('IGP-COTES-CATALANES-ROSE-2024', 100000);
