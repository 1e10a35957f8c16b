-- Classroom mode: one class per `lab serve --classroom` run (resumed when the server
-- restarts), its students with their display names, browser sessions, and each
-- student's stack (project, port block, state).
CREATE TABLE classes (
    id                     INTEGER PRIMARY KEY,
    lab                    TEXT    NOT NULL,
    join_code              TEXT    NOT NULL,
    joining_open           INTEGER NOT NULL DEFAULT 1,
    secret                 TEXT    NOT NULL,      -- key for the students' rejoin links
    instructor_token_hash  TEXT,                  -- sha256 of the current login token
    settings               TEXT    NOT NULL,      -- JSON: public host, capacity, ports, idle
    created_at             INTEGER NOT NULL,
    ended_at               INTEGER
);

CREATE TABLE class_members (
    student_id    INTEGER PRIMARY KEY REFERENCES students (id) ON DELETE CASCADE,
    class_id      INTEGER NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    display_name  TEXT    NOT NULL,
    name_key      TEXT    NOT NULL,              -- lower-cased, spaces folded: names are unique per class
    joined_at     INTEGER NOT NULL,
    UNIQUE (class_id, name_key)
);

-- Browser sessions; only a hash of the cookie's token is kept.
CREATE TABLE sessions (
    token_hash    TEXT    PRIMARY KEY,
    class_id      INTEGER NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    student_id    INTEGER REFERENCES students (id) ON DELETE CASCADE,   -- NULL for the instructor
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
);

CREATE INDEX sessions_by_student ON sessions (student_id);

CREATE TABLE student_stacks (
    student_id  INTEGER PRIMARY KEY REFERENCES students (id) ON DELETE CASCADE,
    class_id    INTEGER NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    project     TEXT    NOT NULL UNIQUE,
    port_base   INTEGER NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('none', 'queued', 'starting', 'ready', 'failed', 'stopped')),
    detail      TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    UNIQUE (class_id, port_base)
);
