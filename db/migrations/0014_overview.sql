-- Indexes sized to the superior organization's /overview and to the sweep's batches: each
-- covers its query (deleted_at included, so SQLite reads nothing else), and neither reads the
-- meetings themselves (a city's are over a gigabyte).

-- /overview: this year's records of every branch, by day (db/overview_data.py).
CREATE INDEX meetings_by_day ON meetings(held_on, branch_id, kind, also_counts_as, deleted_at)
    WHERE deleted_at IS NULL;
CREATE INDEX obligation_marks_by_period ON obligation_marks(period_start, branch_id, code);
CREATE INDEX party_day_plans_by_month ON party_day_plans(month, branch_id, planned_on);

-- The sweep and /status: a batch of branches' (or one branch's) records (db/sweep_data.py).
CREATE INDEX meetings_facts
    ON meetings(branch_id, held_on, kind, also_counts_as, counterpart, deleted_at)
    WHERE deleted_at IS NULL;
