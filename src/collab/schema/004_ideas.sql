-- Organisations' PDSA change ideas, recorded in ako. The lake's change_ideas reference
-- table is an import path (`ako ideas import`): its rows arrive with source 'lake', and
-- the same organisation, date and title is one idea however often it is imported.
CREATE TABLE ideas (
    idea_id     INTEGER PRIMARY KEY,
    org_code    TEXT NOT NULL,
    title       TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    started     TEXT NOT NULL CHECK (started GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    source      TEXT NOT NULL CHECK (source IN ('ako', 'lake')),
    created_at  TEXT NOT NULL,
    UNIQUE (org_code, started, title)
) STRICT;

CREATE TABLE idea_tags (
    idea_id INTEGER NOT NULL REFERENCES ideas (idea_id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (idea_id, tag)
) STRICT;

-- Each dated move of an idea through plan, do, study, act; the latest is its stage.
CREATE TABLE idea_stages (
    idea_id INTEGER NOT NULL REFERENCES ideas (idea_id) ON DELETE CASCADE,
    stage   TEXT NOT NULL CHECK (stage IN ('plan', 'do', 'study', 'act')),
    since   TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (idea_id, seq)
) STRICT;

-- An analyst's decision on a proposed rebase: the limits of the organisation's chart of
-- `indicator` restart at `period`. Only an accepted one changes what dashboards draw.
CREATE TABLE rebase_decisions (
    idea_id    INTEGER NOT NULL REFERENCES ideas (idea_id) ON DELETE CASCADE,
    indicator  TEXT NOT NULL,
    period     TEXT NOT NULL,
    decision   TEXT NOT NULL CHECK (decision IN ('accepted', 'rejected')),
    decided_at TEXT NOT NULL,
    PRIMARY KEY (idea_id, indicator)
) STRICT;
