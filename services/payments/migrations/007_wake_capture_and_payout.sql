-- The capture pass runs as soon as a payment is authorised (or its hold released), the payout
-- pass as soon as a refund's payout is ordered, not at their next interval.
CREATE TRIGGER capture_due AFTER INSERT ON events FOR EACH ROW
    WHEN (NEW.type IN ('PaymentAuthorised', 'PaymentsReleased'))
    EXECUTE FUNCTION wake_timed_work('capture');
CREATE TRIGGER payout_due AFTER INSERT ON events FOR EACH ROW
    WHEN (NEW.type = 'RefundPayoutOrdered')
    EXECUTE FUNCTION wake_timed_work('payout');
