CREATE TABLE shifts (
    name       TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE shift_leases (
    shift      TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    fence      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE shift_history (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    shift  TEXT NOT NULL,
    at     BIGINT NOT NULL,
    kind   TEXT NOT NULL,
    state  TEXT NOT NULL,
    step   INTEGER NOT NULL,
    to_bp  INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX shift_history_by_shift ON shift_history (shift, id);
CREATE TABLE shift_requests (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    shift   TEXT NOT NULL,
    command TEXT NOT NULL,
    by_whom TEXT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX shift_requests_by_shift ON shift_requests (shift, id);
