-- The inbox: every update from Telegram is stored here before Telegram is told it arrived, and
-- marked handled in the same transaction as the effects it had (the persistence commit). What
-- is unhandled at start is handled first, in order.
-- Once handled, only the id is kept (for a day, against Telegram sending it again): the text
-- and the sender are cleared, and /forgetme deletes the sender's unhandled ones.
CREATE TABLE inbox (
    update_id INTEGER PRIMARY KEY,
    data TEXT NOT NULL,                    -- the update as Telegram's JSON (cleaned text)
    user_id INTEGER,                       -- the sender, NULL once handled
    chat_id INTEGER,                       -- the chat, NULL once handled
    received_at TEXT NOT NULL,             -- ISO-8601 UTC
    handled_at TEXT                        -- NULL until its handlers finished
);
CREATE INDEX inbox_unhandled ON inbox(update_id) WHERE handled_at IS NULL;
CREATE INDEX inbox_user ON inbox(user_id);

-- Small facts about the running bot that must survive a restart: when it last polled
-- (heartbeat, for `python -m bot check`), which day's sweep has run, when the last backup was.
CREATE TABLE runtime_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
