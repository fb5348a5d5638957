-- Paybox Direct's NUMQUESTION: 1 to 2147483647 (the platform's maximum, as public clients
-- such as ActiveMerchant's bound it), unique: the number of each question is taken from this
-- sequence and recorded (PaymentCaptureAsked, RefundPayoutOrdered) before the bank is asked,
-- so that asking again asks the same question. It starts at a random point: a database made
-- afresh against a bank that remembers the numbers already asked (the simulator's ledger kept
-- across runs, the real platform within its day) does not ask them again with other content.
CREATE SEQUENCE direct_questions AS integer MINVALUE 1 MAXVALUE 2147483647 CYCLE;
SELECT setval('direct_questions', 1 + floor(random() * 2000000000)::bigint);
