-- One database per service (compose deployment).
CREATE DATABASE orders;
CREATE DATABASE payments;
CREATE DATABASE fulfilment;
CREATE DATABASE refunds;
