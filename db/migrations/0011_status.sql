-- Indexes for the screens about one branch (/status, /history, /partyday, /log, one branch's
-- reminders), so that their cost follows that branch, not the whole database.

-- /status in a group: which branch this group is bound to.
CREATE INDEX branch_settings_group ON branch_settings(group_chat_id);

-- A branch's missed reminders since a day (/status): with (branch_id, state) alone SQLite took
-- the (state, not_before) index and read every branch's missed rows.
DROP INDEX outbox_branch;
CREATE INDEX outbox_branch ON outbox(branch_id, state, expires_at);
