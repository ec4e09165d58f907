-- Participants' notes to their breakout group: what worked, questions, ideas. The
-- organisation is the participant's; others see it by peer code.
CREATE TABLE notes (
    note_id    INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    group_id   INTEGER NOT NULL,
    org_code   TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('worked', 'question', 'idea')),
    text       TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    posted_at  TEXT NOT NULL,
    answered   INTEGER NOT NULL DEFAULT 0 CHECK (answered IN (0, 1)),
    FOREIGN KEY (group_id, session_id) REFERENCES breakout_groups (group_id, session_id)
        ON DELETE CASCADE
) STRICT;

CREATE INDEX notes_by_group ON notes (group_id, note_id);
