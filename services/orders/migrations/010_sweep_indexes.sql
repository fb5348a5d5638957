-- The timed passes' work lists read an index, not the whole read model: each ran as a
-- sequential scan of order_view twice a second, so its cost grew with every order ever placed
-- (make bench, pg_stat_statements: 4-9 ms per pass at 8,000 orders, a third of the server's time).

-- confirmed orders not invoiced yet (the invoicing pass); set by the projection of InvoiceIssued
ALTER TABLE order_view ADD COLUMN invoiced boolean NOT NULL DEFAULT false;
UPDATE order_view SET invoiced = true WHERE order_id IN (SELECT order_id FROM invoice_view);
CREATE INDEX order_view_invoice_due ON order_view (confirmed_at)
    WHERE confirmed_at IS NOT NULL AND NOT invoiced;

-- orders with a line change (the unavailable-line passes): a partial index, which the planner
-- takes for "line_changes <> '{}'"; it preferred a sequential scan to 007's index of the
-- expression
DROP INDEX order_view_lines_waiting;
CREATE INDEX order_view_lines_changed ON order_view (order_id) WHERE line_changes <> '{}';
