-- What a user waits on outside the forms, one row per (user, what): a checked roster file
-- awaiting its confirmation, a sign-in card whose name is being picked. JSON text; committed
-- before the message that offers its buttons is sent, so a restart resumes it.
CREATE TABLE user_state (
    user_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
) WITHOUT ROWID;

-- python-telegram-bot's persistence is gone: the two waits it still held move over, and its
-- tables are emptied (a user's data must not outlive /forgetme there) but kept, so that an
-- older build started on this file still finds them.
INSERT INTO user_state (user_id, name, data, updated_at)
SELECT user_id, 'roster_import', json_extract(data, '$.roster_import'), datetime('now')
FROM ptb_user_data WHERE json_type(data, '$.roster_import') = 'object';
INSERT INTO user_state (user_id, name, data, updated_at)
SELECT user_id, 'checkin_pick', json_extract(data, '$.checkin_pick'), datetime('now')
FROM ptb_user_data WHERE json_type(data, '$.checkin_pick') = 'object';
DELETE FROM ptb_user_data;
DELETE FROM ptb_chat_data;
DELETE FROM ptb_bot_data;
DELETE FROM ptb_conversations;
