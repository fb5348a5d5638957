-- The orders' decision state now keeps the day the seller received a termination
-- (OrderState.terminated_on), so that a delivery reported later with an earlier day voids it
-- (TerminationVoided). States kept before it lack it: each terminated order gets it from its
-- ContractTerminated event, as folding its stream again would give.
UPDATE streams s SET state = jsonb_set(s.state, '{terminated_on}',
                                       e.envelope -> 'payload' -> 'received_on')
FROM events e
WHERE e.order_id = s.order_id AND e.type = 'ContractTerminated'
  AND s.state ->> 'status' = 'terminated' AND s.state ->> 'terminated_on' IS NULL;
