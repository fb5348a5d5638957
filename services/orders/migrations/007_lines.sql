-- Unavailable and cancelled lines: per SKU, what happened (unavailable until when, notified,
-- cancelled with its refund, or exchanged for which wine).
ALTER TABLE order_view ADD COLUMN line_changes jsonb NOT NULL DEFAULT '{}';
CREATE INDEX order_view_lines_waiting ON order_view ((line_changes <> '{}'))
    WHERE status = 'placed' OR status = 'confirmed';
