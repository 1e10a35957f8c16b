-- A stack on Kubernetes can be "restarting" (a pod or node lost, the engine bringing it
-- back). SQLite cannot change a CHECK constraint in place: the table is made again with
-- the new state allowed, and every row copied.
CREATE TABLE student_stacks_new (
    student_id  INTEGER PRIMARY KEY REFERENCES students (id) ON DELETE CASCADE,
    class_id    INTEGER NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    project     TEXT    NOT NULL UNIQUE,
    port_base   INTEGER NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('none', 'queued', 'starting', 'ready', 'failed', 'stopped', 'restarting')),
    detail      TEXT    NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    UNIQUE (class_id, port_base)
);
INSERT INTO student_stacks_new (student_id, class_id, project, port_base, state, detail, updated_at)
    SELECT student_id, class_id, project, port_base, state, detail, updated_at FROM student_stacks;
DROP TABLE student_stacks;
ALTER TABLE student_stacks_new RENAME TO student_stacks;
