-- A custom reminder remembers the form (or the /remind message) that created it, so the same
-- answer handled twice (a double tap, an update replayed after a crash) creates it once.
ALTER TABLE custom_reminders ADD COLUMN draft_key TEXT;
CREATE UNIQUE INDEX custom_reminders_draft_key ON custom_reminders(draft_key);
