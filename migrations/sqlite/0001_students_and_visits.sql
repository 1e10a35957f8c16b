-- Students: solo mode has one implicit student; classroom mode (later) has many.
CREATE TABLE students (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL              -- unix milliseconds, UTC
);

-- Which lab steps a student has opened, so the home page can offer "continue where you left off".
CREATE TABLE step_visits (
    student_id     INTEGER NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    lab            TEXT    NOT NULL,
    step           TEXT    NOT NULL,
    first_seen_at  INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    PRIMARY KEY (student_id, lab, step)
);

CREATE INDEX step_visits_recent ON step_visits (student_id, last_seen_at DESC);
