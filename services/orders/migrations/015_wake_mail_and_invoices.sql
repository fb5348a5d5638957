-- The mailer runs as soon as an order is paid, unblocked or verified (its confirmation may be
-- due) or a line is unavailable (its notice is due); the invoicing pass as soon as an order is
-- confirmed. Not at their next interval.
CREATE TRIGGER mail_due AFTER INSERT ON events FOR EACH ROW
    WHEN (NEW.type IN ('OrderPaid', 'OrderUnblocked', 'OrderVerified', 'LineUnavailable'))
    EXECUTE FUNCTION wake_timed_work('mail');
CREATE TRIGGER invoices_due AFTER INSERT ON events FOR EACH ROW
    WHEN (NEW.type = 'OrderConfirmed')
    EXECUTE FUNCTION wake_timed_work('invoices');
