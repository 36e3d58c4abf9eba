-- The guided conversations' state (bot/forms): one open conversation per user. The row is
-- committed before the next question is sent, so a crash can never leave the user answering a
-- question the database does not know about. `shown` is the revision of the last question
-- Telegram accepted; `last_update` the last update applied (a replayed update is not applied
-- twice).
CREATE TABLE form_state (
    user_id INTEGER PRIMARY KEY,
    form TEXT NOT NULL,
    data TEXT NOT NULL,
    rev INTEGER NOT NULL,
    shown INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
