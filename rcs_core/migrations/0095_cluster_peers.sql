-- Receipts that land on another installation of the cluster (issue 19). Every installation
-- binds to the operator with the same account, and the operator delivers a receipt on any
-- bind: a receipt parked here in pending_receipts may belong to a peer's message.

-- The live peers of this installation, as its cluster agent last read them from etcd
-- (rcs_cluster/peers_store.py rewrites the table when the registry changes), so that core's
-- receipt forwarder (rcs_core/delivery/receipt_forwarder.py) needs no etcd call.
CREATE TABLE cluster_peers (
    installation_id integer PRIMARY KEY,
    core_endpoint text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now()
);

-- When the forwarder offers a parked receipt to the peers next, and how often it did:
-- the offer is repeated with backoff (the peer may not have recorded the id yet, or be down).
ALTER TABLE pending_receipts
    ADD COLUMN forward_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN forward_after timestamptz NOT NULL DEFAULT now();
CREATE INDEX pending_receipts_forward_idx ON pending_receipts (forward_after);
