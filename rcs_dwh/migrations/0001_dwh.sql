-- The DWH database (its own, not an installation's). Every row is tagged with its cluster
-- and keyed by (installation, table, primary key); lsn is the source change's WAL position,
-- so an older or replayed event never overwrites a newer one.

-- Installation registry: which cluster an installation belongs to. Filled from
-- RCS_DWH_INSTALLATIONS at start; the cluster agent may feed it too.
CREATE TABLE dwh_installations (
  installation_id integer PRIMARY KEY,
  cluster text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Kafka offsets, committed in the same transaction as the rows they carried.
CREATE TABLE dwh_offsets (
  consumer_group text NOT NULL,
  topic text NOT NULL,
  kafka_partition integer NOT NULL,
  next_offset bigint NOT NULL,
  PRIMARY KEY (consumer_group, topic, kafka_partition)
);

-- Settings per cluster, current: one row per (cluster, table, primary key), from whichever
-- installation was the master when it changed.
CREATE TABLE dwh_settings_current (
  cluster text NOT NULL,
  table_name text NOT NULL,
  pk text NOT NULL,
  installation_id integer NOT NULL,
  lsn bigint NOT NULL,
  op char(1) NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  data jsonb,
  source_at timestamptz NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (cluster, table_name, pk)
);

-- Settings per cluster, history: every change once.
CREATE TABLE dwh_settings_history (
  installation_id integer NOT NULL,
  table_name text NOT NULL,
  pk text NOT NULL,
  lsn bigint NOT NULL,
  op char(1) NOT NULL,
  cluster text NOT NULL,
  data jsonb,
  source_at timestamptz NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (installation_id, table_name, pk, lsn, op)
);
CREATE INDEX dwh_settings_history_cluster_idx ON dwh_settings_history (cluster, table_name, source_at);

-- Transactions per cluster, partitioned by month (partitions made by the ingester).
CREATE TABLE dwh_messages (
  installation_id integer NOT NULL,
  id bigint NOT NULL,
  created_at timestamptz NOT NULL,
  cluster text NOT NULL,
  partner_id bigint NOT NULL,
  channel smallint NOT NULL,
  destination text NOT NULL,
  sender text NOT NULL,
  status smallint NOT NULL,
  error_code integer NOT NULL,
  status_at timestamptz NOT NULL,
  interface_id text,
  part_count integer NOT NULL,
  traffic_type smallint,
  mailing text NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  lsn bigint NOT NULL,
  source_at timestamptz NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (installation_id, id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX dwh_messages_cluster_idx ON dwh_messages (cluster, created_at);

CREATE TABLE dwh_status_events (
  installation_id integer NOT NULL,
  event_id bigint NOT NULL,
  created_at timestamptz NOT NULL,
  cluster text NOT NULL,
  message_id bigint NOT NULL,
  partner_id bigint NOT NULL,
  status smallint NOT NULL,
  error_code integer NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  lsn bigint NOT NULL,
  source_at timestamptz NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (installation_id, event_id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX dwh_status_events_cluster_idx ON dwh_status_events (cluster, created_at);

-- Events that could not be applied, with the reason; ingestion goes on past them.
CREATE TABLE dwh_dead_letters (
  id bigserial PRIMARY KEY,
  topic text NOT NULL,
  kafka_partition integer NOT NULL,
  kafka_offset bigint NOT NULL,
  reason text NOT NULL,
  detail text NOT NULL,
  record_key text,
  record_value text,
  parked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (topic, kafka_partition, kafka_offset)
);
