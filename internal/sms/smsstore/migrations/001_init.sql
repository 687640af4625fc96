-- owl's SMS tables, for SQLite and PostgreSQL alike: the types are the
-- common subset (BIGINT has integer affinity in SQLite), and BLOB is the one
-- word the migrator rewrites, to BYTEA on PostgreSQL.
--
-- Users: the phone number only as ciphertext (key id kept for rotation) and
-- blind index. Times are Unix microseconds.
CREATE TABLE sms_users (
    user_id        TEXT PRIMARY KEY,
    phone_ct       BLOB NOT NULL,
    phone_key      BIGINT NOT NULL,
    phone_index    BLOB NOT NULL,
    time_zone      TEXT NOT NULL,
    streak_days    BIGINT NOT NULL,
    last_active_at BIGINT NOT NULL,
    opted_out      BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX sms_users_zone ON sms_users (time_zone, user_id);
CREATE INDEX sms_users_index ON sms_users (phone_index);
CREATE INDEX sms_users_key ON sms_users (phone_key);

-- One row per reminder: the primary key is the UNIQUE(user_id, local_date)
-- that makes a reminder exactly once.
CREATE TABLE sms_sends (
    user_id     TEXT NOT NULL,
    local_date  TEXT NOT NULL,
    zone        TEXT NOT NULL,
    deadline    BIGINT NOT NULL,
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    message_id  TEXT NOT NULL DEFAULT '',
    attempts    BIGINT NOT NULL DEFAULT 0,
    intent_at   BIGINT NOT NULL DEFAULT 0,
    job_id      BIGINT NOT NULL DEFAULT 0,
    lease_job   BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0,
    cpu_ns      BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, local_date)
);
CREATE INDEX sms_sends_date_state ON sms_sends (local_date, state);
CREATE INDEX sms_sends_open ON sms_sends (state, lease_until) WHERE state IN ('queued', 'pending');

-- The selection of one zone's batch: how many users it chose and passed over.
CREATE TABLE sms_batches (
    local_date  TEXT NOT NULL,
    zone        TEXT NOT NULL,
    eligible    BIGINT NOT NULL,
    skipped     TEXT NOT NULL,
    selected_at BIGINT NOT NULL,
    PRIMARY KEY (local_date, zone)
);
