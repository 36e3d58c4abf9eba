-- Meeting records (三会一课, 组织生活会, 民主评议, 谈心谈话, 主题党日), their photos, and the
-- monthly 主题党日 plans. Records are soft-deleted: the row stays, hidden, and the audit log keeps
-- who deleted it and when.

CREATE TABLE party_day_plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    month TEXT NOT NULL,                   -- YYYY-MM
    planned_on TEXT NOT NULL,              -- YYYY-MM-DD
    theme TEXT NOT NULL,
    activity_form TEXT NOT NULL,
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (branch_id, month)
);

CREATE TABLE meetings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    held_on TEXT NOT NULL,                 -- YYYY-MM-DD
    start_time TEXT,                       -- HH:MM
    place TEXT NOT NULL DEFAULT '',
    host TEXT NOT NULL DEFAULT '',         -- 主持人; for a 谈心谈话 the one who talks
    recorder TEXT NOT NULL DEFAULT '',
    speaker TEXT NOT NULL DEFAULT '',      -- 党课主讲人
    counterpart TEXT NOT NULL DEFAULT '',  -- 谈心谈话的对象
    title TEXT NOT NULL DEFAULT '',        -- 党课题目 / 主题党日主题
    activity_form TEXT NOT NULL DEFAULT '',
    expected INTEGER CHECK (expected IS NULL OR expected >= 0),
    present INTEGER CHECK (present IS NULL OR present >= 0),
    on_leave INTEGER CHECK (on_leave IS NULL OR on_leave >= 0),
    absentees TEXT NOT NULL DEFAULT '[]',  -- JSON [[name, reason], ...]
    agenda TEXT NOT NULL DEFAULT '[]',     -- JSON [item, ...]
    content TEXT NOT NULL DEFAULT '',
    resolutions TEXT NOT NULL DEFAULT '',
    also_counts_as TEXT NOT NULL DEFAULT '[]',     -- JSON: other obligations this sitting met
    accepted_warnings TEXT NOT NULL DEFAULT '[]',  -- JSON: rule warnings saved anyway
    plan_id INTEGER REFERENCES party_day_plans(id) ON DELETE SET NULL,
    created_by INTEGER NOT NULL,
    draft_key TEXT UNIQUE,                 -- the logging draft, so "save" twice saves once
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    deleted_by INTEGER
);
CREATE INDEX meetings_branch_date ON meetings(branch_id, held_on);

CREATE TABLE meeting_photos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    file_id TEXT NOT NULL,                 -- Telegram's file id: the photo itself stays there
    file_unique_id TEXT NOT NULL,
    UNIQUE (meeting_id, file_unique_id)
);
CREATE INDEX meeting_photos_meeting ON meeting_photos(meeting_id, position);
