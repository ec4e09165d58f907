-- Learning sessions and their breakout groups. A session pins the lake version it was
-- created at, so its charts do not change when a new month arrives mid-session.
CREATE TABLE sessions (
    session_id   INTEGER PRIMARY KEY,
    title        TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    date         TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    grouping     TEXT NOT NULL CHECK (grouping IN ('size', 'challenge', 'config')),
    lake_version INTEGER,
    created_at   TEXT NOT NULL
) STRICT;

-- One breakout a group; `position` keeps the order the grouping gave.
CREATE TABLE breakout_groups (
    group_id   INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    position   INTEGER NOT NULL,
    moderator  TEXT CHECK (moderator IS NULL OR length(moderator) BETWEEN 1 AND 100),
    UNIQUE (session_id, name),
    UNIQUE (group_id, session_id)
) STRICT;

-- Every organisation of a session is in exactly one of its groups, with the reason.
CREATE TABLE members (
    session_id INTEGER NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
    org_code   TEXT NOT NULL,
    group_id   INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    PRIMARY KEY (session_id, org_code),
    -- A member's group is one of its own session's.
    FOREIGN KEY (group_id, session_id) REFERENCES breakout_groups (group_id, session_id)
        ON DELETE CASCADE
) STRICT;

CREATE INDEX members_by_group ON members (group_id);
