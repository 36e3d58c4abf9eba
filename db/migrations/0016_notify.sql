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

-- 民主测评 in the bound group: one anonymous Telegram poll per party member of a 民主评议 record
-- (a row is stored before its poll is sent); the tally per grade, from the Poll updates and
-- the final stopPoll, in db.appraisals.GRADES order.
CREATE TABLE appraisal_polls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    chat_id INTEGER NOT NULL,
    message_id INTEGER,
    poll_id TEXT UNIQUE,                   -- Telegram's, once sent
    counts TEXT NOT NULL DEFAULT '[0, 0, 0, 0]',
    voters INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    closed_at TEXT,
    UNIQUE (meeting_id, member_id)
);
