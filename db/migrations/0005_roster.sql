-- The roster, invitations, the superior organization's admins, group sign-in cards with their
-- 补学 items, and the admins' notices. Only names and party statuses are kept: no ID numbers, no
-- phone numbers. Deleting a branch deletes all of these with it (ON DELETE CASCADE).

CREATE TABLE members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('formal', 'probationary', 'candidate', 'activist',
                                           'applicant')),
    joined_on TEXT,                        -- 入党日期, or 接收为预备党员日期 (YYYY-MM-DD)
    party_group TEXT NOT NULL DEFAULT '',  -- 党小组
    committee_role TEXT NOT NULL DEFAULT '', -- 支委会中的职务 (书记、组织委员…), '' if none
    mobile INTEGER NOT NULL DEFAULT 0 CHECK (mobile IN (0, 1)), -- 流动党员
    destination TEXT NOT NULL DEFAULT '',  -- 外出去向
    left_on TEXT,                          -- 外出日期
    last_report_on TEXT,                   -- 最近一次思想汇报/联系日期
    user_id INTEGER,                       -- the Telegram user who signed in as this member
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (branch_id, name),
    UNIQUE (branch_id, user_id)
);
CREATE INDEX members_user ON members(user_id);

CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,           -- sha256 of the link's token; the token is not kept
    branch_id INTEGER REFERENCES branches(id) ON DELETE CASCADE, -- NULL for an admin invitation
    role TEXT NOT NULL CHECK (role IN ('deputy', 'committee', 'viewer', 'admin')),
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,              -- UTC ISO
    used_by INTEGER,
    used_at TEXT,                          -- set once: a used link stays used
    revoked_at TEXT,                       -- withdrawn before use
    source_key TEXT UNIQUE                 -- chat:message of the tap that made it: made once
);
CREATE INDEX invitations_branch ON invitations(branch_id);

CREATE TABLE admins (
    user_id INTEGER PRIMARY KEY,           -- invited admins; admin_ids in the config are admins too
    invited_by INTEGER,
    created_at TEXT NOT NULL
);

CREATE TABLE checkins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    chat_id INTEGER NOT NULL,
    message_id INTEGER,                    -- the card in the group
    held_on TEXT NOT NULL,                 -- YYYY-MM-DD
    kind TEXT,                             -- the meeting kind, if chosen
    opened_by INTEGER NOT NULL,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    meeting_id INTEGER REFERENCES meetings(id) ON DELETE SET NULL
);
CREATE INDEX checkins_branch ON checkins(branch_id, held_on);
CREATE INDEX checkins_chat ON checkins(chat_id, closed_at);

CREATE TABLE checkin_marks (
    checkin_id INTEGER NOT NULL REFERENCES checkins(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('present', 'leave')),
    reason TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (checkin_id, member_id)
);

CREATE TABLE makeups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    checkin_id INTEGER NOT NULL REFERENCES checkins(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    done_at TEXT,
    done_by INTEGER,
    UNIQUE (checkin_id, member_id)
);
CREATE INDEX makeups_open ON makeups(branch_id, done_at);

CREATE TABLE notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sent_by INTEGER NOT NULL,
    text TEXT NOT NULL,
    audience TEXT NOT NULL DEFAULT '{}',   -- JSON: the filter the admin chose
    draft_key TEXT UNIQUE,                 -- the admin's draft, so "发送" twice sends once
    created_at TEXT NOT NULL
);

CREATE TABLE notice_targets (
    notice_id INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    read_by INTEGER,
    read_at TEXT,
    PRIMARY KEY (notice_id, branch_id)
);
CREATE INDEX notice_targets_branch ON notice_targets(branch_id);
