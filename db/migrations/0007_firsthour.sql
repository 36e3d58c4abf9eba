-- Custom reminders may also be daily or on every Chinese working day. SQLite cannot change a
-- CHECK constraint in place, so the table is copied into one with the wider check (every row
-- kept; nothing references custom_reminders by foreign key).
CREATE TABLE custom_reminders_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    created_by INTEGER NOT NULL,
    text TEXT NOT NULL,
    rule TEXT NOT NULL CHECK (rule IN ('once', 'daily', 'workday', 'weekly', 'monthly',
                                       'quarterly')),
    on_date TEXT,                                    -- once: YYYY-MM-DD
    weekday INTEGER CHECK (weekday IS NULL OR weekday BETWEEN 0 AND 6),
    day_of_month INTEGER CHECK (day_of_month IS NULL OR day_of_month BETWEEN 1 AND 31),
    quarter_month INTEGER NOT NULL DEFAULT 1 CHECK (quarter_month BETWEEN 1 AND 3),
    at_time TEXT NOT NULL,                           -- local HH:MM
    paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO custom_reminders_new SELECT id, branch_id, created_by, text, rule, on_date, weekday,
    day_of_month, quarter_month, at_time, paused, created_at, updated_at FROM custom_reminders;
DROP TABLE custom_reminders;
ALTER TABLE custom_reminders_new RENAME TO custom_reminders;
CREATE INDEX custom_reminders_branch ON custom_reminders(branch_id);

-- The last 换届 may be known only to the month ("2024年6月"): elected_on is then that month's
-- first day and is shown as the month.
ALTER TABLE branch_settings ADD COLUMN elected_month_only INTEGER NOT NULL DEFAULT 0
    CHECK (elected_month_only IN (0, 1));

-- A roster typed in bit by bit does not replace the member counts entered at registration
-- until the secretary confirms it is complete (bot.member_counts).
ALTER TABLE branches ADD COLUMN roster_complete INTEGER NOT NULL DEFAULT 0
    CHECK (roster_complete IN (0, 1));
