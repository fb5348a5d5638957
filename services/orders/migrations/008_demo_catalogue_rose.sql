-- A second IGP at the price of the Grenache, so an unavailable Grenache has an equivalent wine
-- at the same price to offer.
INSERT INTO catalogue_prices (sku, name, price_cents, valid_from) VALUES
    ('IGP-COTES-CATALANES-ROSE-2024', 'IGP Côtes Catalanes rosé 2024', 690, '2026-01-01T00:00:00Z');
