-- A moderator's summary of their group: items that each condense some of its notes,
-- in order, with a short heading and tags; published once the moderator is done.
CREATE TABLE summary_items (
    item_id    INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    group_id   INTEGER NOT NULL,
    heading    TEXT NOT NULL CHECK (length(heading) BETWEEN 1 AND 200),
    tags       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    position   INTEGER NOT NULL,
    FOREIGN KEY (group_id, session_id) REFERENCES breakout_groups (group_id, session_id)
        ON DELETE CASCADE
) STRICT;

-- The notes an item condenses (each note of the item's own group).
CREATE TABLE summary_item_notes (
    item_id INTEGER NOT NULL REFERENCES summary_items (item_id) ON DELETE CASCADE,
    note_id INTEGER NOT NULL REFERENCES notes (note_id) ON DELETE CASCADE,
    PRIMARY KEY (item_id, note_id)
) STRICT;

CREATE TABLE published_summaries (
    group_id     INTEGER PRIMARY KEY REFERENCES breakout_groups (group_id) ON DELETE CASCADE,
    published_at TEXT NOT NULL
) STRICT;
