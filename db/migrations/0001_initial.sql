-- Users, branches, the roles linking them, the audit log, and python-telegram-bot's persistence.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,                -- Telegram user id; no names are stored
    current_branch_id INTEGER REFERENCES branches(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE branches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    organization_name TEXT NOT NULL,
    organization_type TEXT NOT NULL,
    formation_mode TEXT NOT NULL,
    formal_members INTEGER NOT NULL CHECK (formal_members >= 0),
    probationary_members INTEGER NOT NULL CHECK (probationary_members >= 0),
    has_committee INTEGER NOT NULL CHECK (has_committee IN (0, 1)),
    has_party_groups INTEGER NOT NULL CHECK (has_party_groups IN (0, 1)),
    party_day INTEGER NOT NULL CHECK (party_day BETWEEN 1 AND 31),
    created_by INTEGER NOT NULL,
    -- the registration draft this branch came from, so a repeated "save" cannot create it twice
    draft_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE memberships (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('secretary', 'deputy', 'committee', 'viewer')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, branch_id)
);
CREATE INDEX memberships_branch ON memberships(branch_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user_id INTEGER,
    branch_id INTEGER,
    action TEXT NOT NULL,                  -- create / update / delete / ...
    entity TEXT NOT NULL,                  -- branch / membership / ...
    entity_id INTEGER,
    changes TEXT NOT NULL DEFAULT '{}'     -- JSON: {field: [old, new]}
);
CREATE INDEX audit_log_branch ON audit_log(branch_id, at);

CREATE TABLE ptb_user_data (
    user_id INTEGER PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE ptb_chat_data (
    chat_id INTEGER PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE ptb_bot_data (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    data TEXT NOT NULL
);

CREATE TABLE ptb_conversations (
    name TEXT NOT NULL,
    conversation_key TEXT NOT NULL,        -- JSON list, e.g. [chat_id, user_id]
    state TEXT NOT NULL,                   -- JSON value
    PRIMARY KEY (name, conversation_key)
);
