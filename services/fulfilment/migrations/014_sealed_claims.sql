-- What was written about a claim (the buyer's words, the shop's answer) may name or locate the
-- buyer: it is sealed under the order's claims key (contracts.personal.claims_subject), which
-- the buyer's erasure destroys, and opened when read. Claims recorded before keep their words
-- in clear in detail and answer (the log cannot be rewritten).
ALTER TABLE claim_view ADD COLUMN sealed_detail jsonb, ADD COLUMN sealed_answer jsonb;
