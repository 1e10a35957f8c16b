-- Exercise check results. Only changes are recorded, not every poll: a row is added when
-- an exercise's status or criteria differ from the student's latest row for it.
CREATE TABLE check_results (
    id          INTEGER PRIMARY KEY,
    student_id  INTEGER NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    lab         TEXT    NOT NULL,
    exercise    TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('passed', 'failed', 'pending')),
    criteria    TEXT    NOT NULL,             -- JSON array of {name, status, message, hint}
    checked_at  INTEGER NOT NULL              -- unix milliseconds, UTC
);

CREATE INDEX check_results_latest ON check_results (student_id, lab, exercise, id DESC);
