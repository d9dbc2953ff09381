"""An SMSC simulator: accepts SMPP binds and submits, sends receipts with a configurable
delay and outcome mix, can emit MO, and counts what it received."""
