-- Meeting notices (/notify): a card in the branch's bound group with 参加 / 请假, one answer per
-- member (a later tap replaces it); the record logged for that meeting links back.
CREATE TABLE meeting_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    held_on TEXT NOT NULL,                 -- YYYY-MM-DD, local
    start_time TEXT NOT NULL,              -- HH:MM, local
    place TEXT NOT NULL,
    agenda TEXT NOT NULL,
    chat_id INTEGER NOT NULL,              -- the bound group it was sent to
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    draft_key TEXT NOT NULL UNIQUE,        -- the form's key: 发送 twice (or replayed) sends once
    cancelled_at TEXT,
    meeting_id INTEGER REFERENCES meetings(id) ON DELETE SET NULL
);
CREATE INDEX meeting_notices_branch ON meeting_notices(branch_id, held_on);

CREATE TABLE notice_answers (
    notice_id INTEGER NOT NULL REFERENCES meeting_notices(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('attend', 'leave')),
    reason TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (notice_id, member_id)
);
