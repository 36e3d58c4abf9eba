-- The 主题党日 may be a weekday of the month (每月第二个星期五, 每月最后一个周五) rather than a
-- fixed day: party_week 1–4 or -1 (the last), party_weekday Monday 0 … Sunday 6. Both 0 keep
-- the fixed day in party_day, as every branch registered before had.
ALTER TABLE branches ADD COLUMN party_week INTEGER NOT NULL DEFAULT 0
    CHECK (party_week BETWEEN -1 AND 4);
ALTER TABLE branches ADD COLUMN party_weekday INTEGER NOT NULL DEFAULT 0
    CHECK (party_weekday BETWEEN 0 AND 6);
