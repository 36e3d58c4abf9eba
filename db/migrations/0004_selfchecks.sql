-- Self-checks (/selfcheck): one row per finished check, kept per branch with its date so the
-- next check shows the change. Answers are the item codes answered "yes"/"no", in order.

CREATE TABLE selfchecks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('eight', 'six', 'weak')),
    answers TEXT NOT NULL,                           -- e.g. "yynyyyny"
    score INTEGER NOT NULL,
    total INTEGER NOT NULL,
    checked_on TEXT NOT NULL,                        -- local YYYY-MM-DD
    source_key TEXT NOT NULL UNIQUE,                 -- chat:message of the card: saved once
    created_at TEXT NOT NULL
);
CREATE INDEX selfchecks_branch ON selfchecks(branch_id, kind, id);
