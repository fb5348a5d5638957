-- The demo catalogue: wines of the Roussillon estate of the shop's terms, prices VAT included.
INSERT INTO catalogue_prices (sku, name, price_cents, valid_from) VALUES
    ('COTES-ROUSSILLON-ROUGE-2022', 'Côtes du Roussillon rouge 2022', 890, '2026-01-01T00:00:00Z'),
    ('COTES-ROUSSILLON-BLANC-2024', 'Côtes du Roussillon blanc 2024', 850, '2026-01-01T00:00:00Z'),
    ('COTES-ROUSSILLON-ROSE-2025', 'Côtes du Roussillon rosé 2025', 790, '2026-01-01T00:00:00Z'),
    ('VILLAGES-TRADITION-2021', 'Côtes du Roussillon Villages Tradition 2021', 1250, '2026-01-01T00:00:00Z'),
    ('MUSCAT-RIVESALTES-2023', 'Muscat de Rivesaltes 2023', 1190, '2026-01-01T00:00:00Z'),
    ('RIVESALTES-AMBRE-2012', 'Rivesaltes Ambré hors d''âge 2012', 2400, '2026-01-01T00:00:00Z'),
    ('RIVESALTES-GRENAT-2019', 'Rivesaltes Grenat 2019', 1590, '2026-01-01T00:00:00Z'),
    ('IGP-COTES-CATALANES-2024', 'IGP Côtes Catalanes Grenache 2024', 690, '2026-01-01T00:00:00Z'),
    ('VILLAGES-TRADITION-2021', 'Côtes du Roussillon Villages Tradition 2021', 1290, '2026-09-01T00:00:00Z');

INSERT INTO delivery_methods (code, label, charge_cents) VALUES
    ('standard', 'Standard delivery, metropolitan France', 990),
    ('express', 'Express delivery, metropolitan France', 1890);

-- sha256 of the general terms of sale text (shared/seeds/003_3b0151caf2530e04.txt)
INSERT INTO terms_versions (version, sha256, published_at) VALUES
    ('CGV-2026-01', 'e475e4b48d89be9dafafb1c78c49b3e3fe2b00e692d3daafc71847fa8310da33',
     '2026-01-01T00:00:00Z');
