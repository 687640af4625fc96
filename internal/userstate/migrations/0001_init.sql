-- Learners, their per-word memory state and review history, and the result
-- submissions already applied (the idempotency keys). Written for both
-- SQLite and PostgreSQL: times are Unix nanoseconds in BIGINT columns.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    listening_off BOOLEAN NOT NULL DEFAULT FALSE,
    speaking_off  BOOLEAN NOT NULL DEFAULT FALSE,
    length        INTEGER NOT NULL DEFAULT 0,
    updated_ns    BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE word_states (
    user_id    TEXT             NOT NULL,
    course     TEXT             NOT NULL,
    word       TEXT             NOT NULL,
    last_ns    BIGINT           NOT NULL,
    last_grade INTEGER          NOT NULL,
    seen       INTEGER          NOT NULL,
    correct    INTEGER          NOT NULL,
    stability  DOUBLE PRECISION NOT NULL,
    difficulty DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (user_id, course, word)
);

CREATE TABLE reviews (
    user_id      TEXT    NOT NULL,
    course       TEXT    NOT NULL,
    word         TEXT    NOT NULL,
    at_ns        BIGINT  NOT NULL,
    grade        INTEGER NOT NULL,
    session_id   TEXT    NOT NULL,
    challenge_id TEXT    NOT NULL
);
CREATE INDEX reviews_word ON reviews (user_id, course, word, at_ns);

CREATE TABLE applied_results (
    user_id      TEXT   NOT NULL,
    session_id   TEXT   NOT NULL,
    challenge_id TEXT   NOT NULL,
    course       TEXT   NOT NULL,
    applied_ns   BIGINT NOT NULL,
    PRIMARY KEY (user_id, session_id, challenge_id)
);
