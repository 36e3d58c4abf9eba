-- A monthly custom reminder may fall on a weekday of the month (每月第二个周五, 每月最后一个周一)
-- instead of a day: week_of_month 1–4 or -1 (the last) with weekday Monday 0 … Sunday 6, and
-- day_of_month NULL. NULL keeps the day of the month, as every reminder set up before had.
ALTER TABLE custom_reminders ADD COLUMN week_of_month INTEGER
    CHECK (week_of_month IS NULL OR week_of_month IN (-1, 1, 2, 3, 4));
