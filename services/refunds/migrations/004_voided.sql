-- A refund whose cause did not take effect (a termination the delivery came before,
-- RefundVoided): the day it was voided and why. It is then neither overdue nor escalated.
ALTER TABLE refund_view ADD COLUMN voided_on date;
ALTER TABLE refund_view ADD COLUMN void_reason text;
