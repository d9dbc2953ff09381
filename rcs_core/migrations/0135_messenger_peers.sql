-- Subscribers a messenger names by its own id, not by number (issue 17: VK's user id):
-- per (receipt scope, peer) the number and sender of the last message sent to them and
-- its id, written when a receipt names the peer (VK's message_reply), so that the
-- subscriber's replies, which name only the peer, reach the partner owning that sender.
-- One row per subscriber and account: it outlives the message's partition on purpose.
CREATE TABLE messenger_peers (
  interface_id text NOT NULL,
  peer text NOT NULL,
  message_id bigint NOT NULL,
  phone text NOT NULL,
  sender text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (interface_id, peer)
);
