-- Reminders: per-branch settings, custom reminders, snoozes, the daily sweep's runs, and the
-- outbox every reminder goes through (a unique key per decision: nothing lost, nothing doubled).

CREATE TABLE branch_settings (
    branch_id INTEGER PRIMARY KEY REFERENCES branches(id) ON DELETE CASCADE,
    reminder_time TEXT NOT NULL DEFAULT '09:00',     -- local HH:MM of the daily sweep
    lead_days TEXT NOT NULL DEFAULT '[7, 2]',        -- JSON: days before a deadline
    frequencies TEXT NOT NULL DEFAULT '{}',          -- JSON: obligation -> monthly/.../off
    muted TEXT NOT NULL DEFAULT '[]',                -- JSON: obligations shown but not reminded
    to_private INTEGER NOT NULL DEFAULT 1 CHECK (to_private IN (0, 1)),
    to_group INTEGER NOT NULL DEFAULT 1 CHECK (to_group IN (0, 1)),
    group_chat_id INTEGER,                           -- the branch's bound group chat
    elected_on TEXT,                                 -- last 换届 (YYYY-MM-DD)
    term_years INTEGER NOT NULL DEFAULT 3 CHECK (term_years BETWEEN 1 AND 5),
    updated_at TEXT NOT NULL
);

CREATE TABLE custom_reminders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    created_by INTEGER NOT NULL,
    text TEXT NOT NULL,
    rule TEXT NOT NULL CHECK (rule IN ('once', 'weekly', 'monthly', 'quarterly')),
    on_date TEXT,                                    -- once: YYYY-MM-DD
    weekday INTEGER CHECK (weekday IS NULL OR weekday BETWEEN 0 AND 6),
    day_of_month INTEGER CHECK (day_of_month IS NULL OR day_of_month BETWEEN 1 AND 31),
    quarter_month INTEGER NOT NULL DEFAULT 1 CHECK (quarter_month BETWEEN 1 AND 3),
    at_time TEXT NOT NULL,                           -- local HH:MM
    paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX custom_reminders_branch ON custom_reminders(branch_id);

CREATE TABLE snoozes (
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    period_start TEXT NOT NULL,
    until TEXT NOT NULL,                             -- YYYY-MM-DD: remind again that day
    PRIMARY KEY (branch_id, code, period_start)
);

CREATE TABLE sweep_runs (
    day TEXT PRIMARY KEY,                            -- local YYYY-MM-DD the sweep decided for
    ran_at TEXT NOT NULL
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,                        -- the decision: branch, what, period, stage, chat
    branch_id INTEGER REFERENCES branches(id) ON DELETE CASCADE,
    chat_id INTEGER NOT NULL,
    text TEXT NOT NULL,                              -- rendered Telegram HTML
    buttons TEXT NOT NULL DEFAULT '[]',              -- JSON rows of [label, callback data]
    not_before TEXT NOT NULL,                        -- UTC ISO: not sent earlier
    expires_at TEXT,                                 -- UTC ISO: later it is reported missed
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'missed', 'blocked', 'cancelled', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    message_id INTEGER
);
CREATE INDEX outbox_pending ON outbox(state, not_before);
CREATE INDEX outbox_branch ON outbox(branch_id, state);

CREATE TABLE blocked_chats (
    chat_id INTEGER PRIMARY KEY,                     -- a chat that answered 403: not sent to
    blocked_at TEXT NOT NULL
);

CREATE TABLE obligation_marks (
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    code TEXT NOT NULL,                              -- e.g. party_dues: done outside a meeting
    period_start TEXT NOT NULL,
    marked_by INTEGER NOT NULL,
    marked_at TEXT NOT NULL,
    PRIMARY KEY (branch_id, code, period_start)
);
