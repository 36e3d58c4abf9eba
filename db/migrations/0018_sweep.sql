-- The sweep decides a branch only when something can be due for it (bot/reminders.py): each
-- branch's row says on which day it was last decided, with which rules, at which count of
-- changes, and the first later day a reminder could fall on. Every write to what the sweep reads
-- about a branch counts a change here in the same transaction (the triggers below), so a branch
-- whose facts changed since it was decided is decided again at the next sweep, whoever wrote.
--
-- A new table the sweep's decision reads (bot/reminders.py) gets the same
-- three triggers on its table in its migration:
--   CREATE TRIGGER sweep_<table>_insert AFTER INSERT ON <table> BEGIN
--     INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
--       ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
--   END;
--   (… _update with NEW and OLD, … _delete with OLD)
CREATE TABLE sweep_state (
    branch_id INTEGER PRIMARY KEY,     -- no foreign key: a cascade's triggers write here too
    changes INTEGER NOT NULL DEFAULT 1, -- counted by the triggers
    decided INTEGER,                   -- `changes` as read before the last decision
    decided_on TEXT,                   -- the local day it was decided for (YYYY-MM-DD)
    next_on TEXT,                      -- the first later day a reminder could fall on; NULL: none
    rules TEXT                         -- the rules' version it was decided by
);
CREATE INDEX sweep_state_next ON sweep_state(next_on);

CREATE TRIGGER sweep_branches_gone AFTER DELETE ON branches BEGIN
    DELETE FROM sweep_state WHERE branch_id = OLD.id;
END;
CREATE TRIGGER sweep_branches_update AFTER UPDATE ON branches BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

CREATE TRIGGER sweep_branch_settings_insert AFTER INSERT ON branch_settings BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_branch_settings_update AFTER UPDATE ON branch_settings BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_branch_settings_delete AFTER DELETE ON branch_settings BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

CREATE TRIGGER sweep_meetings_insert AFTER INSERT ON meetings BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_meetings_update AFTER UPDATE ON meetings BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_meetings_delete AFTER DELETE ON meetings BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

CREATE TRIGGER sweep_obligation_marks_insert AFTER INSERT ON obligation_marks BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_obligation_marks_update AFTER UPDATE ON obligation_marks BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_obligation_marks_delete AFTER DELETE ON obligation_marks BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

CREATE TRIGGER sweep_party_day_plans_insert AFTER INSERT ON party_day_plans BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_party_day_plans_update AFTER UPDATE ON party_day_plans BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_party_day_plans_delete AFTER DELETE ON party_day_plans BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

CREATE TRIGGER sweep_snoozes_insert AFTER INSERT ON snoozes BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_snoozes_update AFTER UPDATE ON snoozes BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_snoozes_delete AFTER DELETE ON snoozes BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

CREATE TRIGGER sweep_memberships_insert AFTER INSERT ON memberships BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_memberships_update AFTER UPDATE ON memberships BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_memberships_delete AFTER DELETE ON memberships BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

CREATE TRIGGER sweep_custom_reminders_insert AFTER INSERT ON custom_reminders BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_custom_reminders_update AFTER UPDATE ON custom_reminders BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_custom_reminders_delete AFTER DELETE ON custom_reminders BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

CREATE TRIGGER sweep_members_insert AFTER INSERT ON members BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_members_update AFTER UPDATE ON members BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_members_delete AFTER DELETE ON members BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

-- 发展党员 steps: the timeline's reminders and an extended 预备期's 转正.
CREATE TRIGGER sweep_recruitment_steps_insert AFTER INSERT ON recruitment_steps BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_recruitment_steps_update AFTER UPDATE ON recruitment_steps BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_recruitment_steps_delete AFTER DELETE ON recruitment_steps BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

-- A chat blocked or unblocked changes where its branches' reminders go.
CREATE TRIGGER sweep_blocked_insert AFTER INSERT ON blocked_chats BEGIN
    INSERT INTO sweep_state (branch_id)
        SELECT branch_id FROM (
            SELECT branch_id FROM memberships
             WHERE user_id = NEW.chat_id AND role IN ('secretary', 'deputy')
            UNION SELECT branch_id FROM branch_settings WHERE group_chat_id = NEW.chat_id
        ) WHERE true
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_blocked_update AFTER UPDATE ON blocked_chats BEGIN
    INSERT INTO sweep_state (branch_id)
        SELECT branch_id FROM (
            SELECT branch_id FROM memberships
             WHERE user_id = NEW.chat_id AND role IN ('secretary', 'deputy')
            UNION SELECT branch_id FROM branch_settings WHERE group_chat_id = NEW.chat_id
        ) WHERE true
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
    INSERT INTO sweep_state (branch_id)
        SELECT branch_id FROM (
            SELECT branch_id FROM memberships
             WHERE user_id = OLD.chat_id AND role IN ('secretary', 'deputy')
            UNION SELECT branch_id FROM branch_settings WHERE group_chat_id = OLD.chat_id
        ) WHERE true
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
CREATE TRIGGER sweep_blocked_delete AFTER DELETE ON blocked_chats BEGIN
    INSERT INTO sweep_state (branch_id)
        SELECT branch_id FROM (
            SELECT branch_id FROM memberships
             WHERE user_id = OLD.chat_id AND role IN ('secretary', 'deputy')
            UNION SELECT branch_id FROM branch_settings WHERE group_chat_id = OLD.chat_id
        ) WHERE true
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

-- /overview's summary (db/overview_data.py): for each branch, obligation and year, the months
-- it was done in (a record that month, or that month marked done), as a bit mask (bit m for
-- month m), kept by the triggers below in the writer's transaction: a record added sets its
-- months' bits, any other change works its branch's year out again from the records.
CREATE TABLE done_months (
    year INTEGER NOT NULL,
    branch_id INTEGER NOT NULL,
    code TEXT NOT NULL,
    months INTEGER NOT NULL,
    PRIMARY KEY (year, branch_id, code)
) WITHOUT ROWID;

INSERT INTO done_months (year, branch_id, code, months)
SELECT year, branch_id, code, SUM(DISTINCT 1 << month) FROM (
    SELECT CAST(substr(held_on, 1, 4) AS INTEGER) AS year, branch_id, kind AS code,
           CAST(substr(held_on, 6, 2) AS INTEGER) AS month
      FROM meetings WHERE deleted_at IS NULL
    UNION ALL
    SELECT CAST(substr(meetings.held_on, 1, 4) AS INTEGER), meetings.branch_id, counted.value,
           CAST(substr(meetings.held_on, 6, 2) AS INTEGER)
      FROM meetings, json_each(meetings.also_counts_as) AS counted
     WHERE meetings.deleted_at IS NULL AND meetings.also_counts_as != '[]'
    UNION ALL
    SELECT CAST(substr(period_start, 1, 4) AS INTEGER), branch_id, code,
           CAST(substr(period_start, 6, 2) AS INTEGER)
      FROM obligation_marks
) GROUP BY year, branch_id, code;

CREATE TRIGGER done_months_meetings_insert AFTER INSERT ON meetings
WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO done_months (year, branch_id, code, months)
    SELECT CAST(substr(NEW.held_on, 1, 4) AS INTEGER), NEW.branch_id, code,
           1 << CAST(substr(NEW.held_on, 6, 2) AS INTEGER)
      FROM (SELECT NEW.kind AS code UNION SELECT value FROM json_each(NEW.also_counts_as))
     WHERE true
    ON CONFLICT (year, branch_id, code) DO UPDATE SET months = months | excluded.months;
END;
CREATE TRIGGER done_months_meetings_update
AFTER UPDATE OF branch_id, kind, held_on, also_counts_as, deleted_at ON meetings BEGIN
    DELETE FROM done_months
     WHERE year = CAST(substr(OLD.held_on, 1, 4) AS INTEGER) AND branch_id = OLD.branch_id;
    INSERT INTO done_months (year, branch_id, code, months)
    SELECT CAST(substr(OLD.held_on, 1, 4) AS INTEGER), OLD.branch_id, code, SUM(DISTINCT 1 << month) FROM (
        SELECT kind AS code, CAST(substr(held_on, 6, 2) AS INTEGER) AS month FROM meetings
         WHERE branch_id = OLD.branch_id AND deleted_at IS NULL
           AND held_on >= substr(OLD.held_on, 1, 4) || '-01-01' AND held_on < printf('%04d-01-01', substr(OLD.held_on, 1, 4) + 1)
        UNION ALL
        SELECT counted.value, CAST(substr(meetings.held_on, 6, 2) AS INTEGER)
          FROM meetings, json_each(meetings.also_counts_as) AS counted
         WHERE meetings.branch_id = OLD.branch_id AND meetings.deleted_at IS NULL
           AND meetings.held_on >= substr(OLD.held_on, 1, 4) || '-01-01' AND meetings.held_on < printf('%04d-01-01', substr(OLD.held_on, 1, 4) + 1)
           AND meetings.also_counts_as != '[]'
        UNION ALL
        SELECT code, CAST(substr(period_start, 6, 2) AS INTEGER) FROM obligation_marks
         WHERE branch_id = OLD.branch_id AND period_start >= substr(OLD.held_on, 1, 4) || '-01-01' AND period_start < printf('%04d-01-01', substr(OLD.held_on, 1, 4) + 1)
    ) GROUP BY code;
    DELETE FROM done_months
     WHERE year = CAST(substr(NEW.held_on, 1, 4) AS INTEGER) AND branch_id = NEW.branch_id;
    INSERT INTO done_months (year, branch_id, code, months)
    SELECT CAST(substr(NEW.held_on, 1, 4) AS INTEGER), NEW.branch_id, code, SUM(DISTINCT 1 << month) FROM (
        SELECT kind AS code, CAST(substr(held_on, 6, 2) AS INTEGER) AS month FROM meetings
         WHERE branch_id = NEW.branch_id AND deleted_at IS NULL
           AND held_on >= substr(NEW.held_on, 1, 4) || '-01-01' AND held_on < printf('%04d-01-01', substr(NEW.held_on, 1, 4) + 1)
        UNION ALL
        SELECT counted.value, CAST(substr(meetings.held_on, 6, 2) AS INTEGER)
          FROM meetings, json_each(meetings.also_counts_as) AS counted
         WHERE meetings.branch_id = NEW.branch_id AND meetings.deleted_at IS NULL
           AND meetings.held_on >= substr(NEW.held_on, 1, 4) || '-01-01' AND meetings.held_on < printf('%04d-01-01', substr(NEW.held_on, 1, 4) + 1)
           AND meetings.also_counts_as != '[]'
        UNION ALL
        SELECT code, CAST(substr(period_start, 6, 2) AS INTEGER) FROM obligation_marks
         WHERE branch_id = NEW.branch_id AND period_start >= substr(NEW.held_on, 1, 4) || '-01-01' AND period_start < printf('%04d-01-01', substr(NEW.held_on, 1, 4) + 1)
    ) GROUP BY code;
END;
CREATE TRIGGER done_months_meetings_delete AFTER DELETE ON meetings BEGIN
    DELETE FROM done_months
     WHERE year = CAST(substr(OLD.held_on, 1, 4) AS INTEGER) AND branch_id = OLD.branch_id;
    INSERT INTO done_months (year, branch_id, code, months)
    SELECT CAST(substr(OLD.held_on, 1, 4) AS INTEGER), OLD.branch_id, code, SUM(DISTINCT 1 << month) FROM (
        SELECT kind AS code, CAST(substr(held_on, 6, 2) AS INTEGER) AS month FROM meetings
         WHERE branch_id = OLD.branch_id AND deleted_at IS NULL
           AND held_on >= substr(OLD.held_on, 1, 4) || '-01-01' AND held_on < printf('%04d-01-01', substr(OLD.held_on, 1, 4) + 1)
        UNION ALL
        SELECT counted.value, CAST(substr(meetings.held_on, 6, 2) AS INTEGER)
          FROM meetings, json_each(meetings.also_counts_as) AS counted
         WHERE meetings.branch_id = OLD.branch_id AND meetings.deleted_at IS NULL
           AND meetings.held_on >= substr(OLD.held_on, 1, 4) || '-01-01' AND meetings.held_on < printf('%04d-01-01', substr(OLD.held_on, 1, 4) + 1)
           AND meetings.also_counts_as != '[]'
        UNION ALL
        SELECT code, CAST(substr(period_start, 6, 2) AS INTEGER) FROM obligation_marks
         WHERE branch_id = OLD.branch_id AND period_start >= substr(OLD.held_on, 1, 4) || '-01-01' AND period_start < printf('%04d-01-01', substr(OLD.held_on, 1, 4) + 1)
    ) GROUP BY code;
END;
CREATE TRIGGER done_months_marks_insert AFTER INSERT ON obligation_marks BEGIN
    INSERT INTO done_months (year, branch_id, code, months)
    VALUES (CAST(substr(NEW.period_start, 1, 4) AS INTEGER), NEW.branch_id, NEW.code,
            1 << CAST(substr(NEW.period_start, 6, 2) AS INTEGER))
    ON CONFLICT (year, branch_id, code) DO UPDATE SET months = months | excluded.months;
END;
CREATE TRIGGER done_months_marks_update AFTER UPDATE ON obligation_marks BEGIN
    DELETE FROM done_months
     WHERE year = CAST(substr(OLD.period_start, 1, 4) AS INTEGER) AND branch_id = OLD.branch_id;
    INSERT INTO done_months (year, branch_id, code, months)
    SELECT CAST(substr(OLD.period_start, 1, 4) AS INTEGER), OLD.branch_id, code, SUM(DISTINCT 1 << month) FROM (
        SELECT kind AS code, CAST(substr(held_on, 6, 2) AS INTEGER) AS month FROM meetings
         WHERE branch_id = OLD.branch_id AND deleted_at IS NULL
           AND held_on >= substr(OLD.period_start, 1, 4) || '-01-01' AND held_on < printf('%04d-01-01', substr(OLD.period_start, 1, 4) + 1)
        UNION ALL
        SELECT counted.value, CAST(substr(meetings.held_on, 6, 2) AS INTEGER)
          FROM meetings, json_each(meetings.also_counts_as) AS counted
         WHERE meetings.branch_id = OLD.branch_id AND meetings.deleted_at IS NULL
           AND meetings.held_on >= substr(OLD.period_start, 1, 4) || '-01-01' AND meetings.held_on < printf('%04d-01-01', substr(OLD.period_start, 1, 4) + 1)
           AND meetings.also_counts_as != '[]'
        UNION ALL
        SELECT code, CAST(substr(period_start, 6, 2) AS INTEGER) FROM obligation_marks
         WHERE branch_id = OLD.branch_id AND period_start >= substr(OLD.period_start, 1, 4) || '-01-01' AND period_start < printf('%04d-01-01', substr(OLD.period_start, 1, 4) + 1)
    ) GROUP BY code;
    DELETE FROM done_months
     WHERE year = CAST(substr(NEW.period_start, 1, 4) AS INTEGER) AND branch_id = NEW.branch_id;
    INSERT INTO done_months (year, branch_id, code, months)
    SELECT CAST(substr(NEW.period_start, 1, 4) AS INTEGER), NEW.branch_id, code, SUM(DISTINCT 1 << month) FROM (
        SELECT kind AS code, CAST(substr(held_on, 6, 2) AS INTEGER) AS month FROM meetings
         WHERE branch_id = NEW.branch_id AND deleted_at IS NULL
           AND held_on >= substr(NEW.period_start, 1, 4) || '-01-01' AND held_on < printf('%04d-01-01', substr(NEW.period_start, 1, 4) + 1)
        UNION ALL
        SELECT counted.value, CAST(substr(meetings.held_on, 6, 2) AS INTEGER)
          FROM meetings, json_each(meetings.also_counts_as) AS counted
         WHERE meetings.branch_id = NEW.branch_id AND meetings.deleted_at IS NULL
           AND meetings.held_on >= substr(NEW.period_start, 1, 4) || '-01-01' AND meetings.held_on < printf('%04d-01-01', substr(NEW.period_start, 1, 4) + 1)
           AND meetings.also_counts_as != '[]'
        UNION ALL
        SELECT code, CAST(substr(period_start, 6, 2) AS INTEGER) FROM obligation_marks
         WHERE branch_id = NEW.branch_id AND period_start >= substr(NEW.period_start, 1, 4) || '-01-01' AND period_start < printf('%04d-01-01', substr(NEW.period_start, 1, 4) + 1)
    ) GROUP BY code;
END;
CREATE TRIGGER done_months_marks_delete AFTER DELETE ON obligation_marks BEGIN
    DELETE FROM done_months
     WHERE year = CAST(substr(OLD.period_start, 1, 4) AS INTEGER) AND branch_id = OLD.branch_id;
    INSERT INTO done_months (year, branch_id, code, months)
    SELECT CAST(substr(OLD.period_start, 1, 4) AS INTEGER), OLD.branch_id, code, SUM(DISTINCT 1 << month) FROM (
        SELECT kind AS code, CAST(substr(held_on, 6, 2) AS INTEGER) AS month FROM meetings
         WHERE branch_id = OLD.branch_id AND deleted_at IS NULL
           AND held_on >= substr(OLD.period_start, 1, 4) || '-01-01' AND held_on < printf('%04d-01-01', substr(OLD.period_start, 1, 4) + 1)
        UNION ALL
        SELECT counted.value, CAST(substr(meetings.held_on, 6, 2) AS INTEGER)
          FROM meetings, json_each(meetings.also_counts_as) AS counted
         WHERE meetings.branch_id = OLD.branch_id AND meetings.deleted_at IS NULL
           AND meetings.held_on >= substr(OLD.period_start, 1, 4) || '-01-01' AND meetings.held_on < printf('%04d-01-01', substr(OLD.period_start, 1, 4) + 1)
           AND meetings.also_counts_as != '[]'
        UNION ALL
        SELECT code, CAST(substr(period_start, 6, 2) AS INTEGER) FROM obligation_marks
         WHERE branch_id = OLD.branch_id AND period_start >= substr(OLD.period_start, 1, 4) || '-01-01' AND period_start < printf('%04d-01-01', substr(OLD.period_start, 1, 4) + 1)
    ) GROUP BY code;
END;
-- A branch deleted: its rows go (its records' triggers wrote them again on the way out).
CREATE TRIGGER done_months_branch_gone AFTER DELETE ON branches BEGIN
    DELETE FROM done_months WHERE branch_id = OLD.id;
END;

-- The sweep's batches read of the roster only how many party members each branch has and its
-- probationary and mobile ones (db/sweep_data.py): neither reads the members' rows.
CREATE INDEX members_party ON members(branch_id, status);
CREATE INDEX members_watched ON members(branch_id, name, status, joined_on, mobile, left_on,
                                        last_report_on)
    WHERE status IN ('formal', 'probationary') AND (status = 'probationary' OR mobile = 1);
-- The sweep reads a batch of branches' months done (db/sweep_data.py).
CREATE INDEX done_months_branch ON done_months(branch_id, year, code, months);
