-- The fulfilment decision state now keeps whether a parcel is back for an incorrect address
-- (FulfilmentState.address_to_correct). States kept before it lack it: a parcel back with the
-- seller (outcome returned_to_sender, nothing shipped since) gets it, as folding its stream
-- again would give (migration 011 did the same for the read model).
UPDATE streams SET state = jsonb_set(state, '{address_to_correct}', 'true')
WHERE state ->> 'outcome' = 'returned_to_sender' AND NOT state ? 'address_to_correct';
