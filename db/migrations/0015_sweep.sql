-- The sweep decides a branch only when something can be due for it (bot/reminders.py): each
-- branch's row says on which day it was last decided, with which rules, at which count of
-- changes, and the first later day a reminder could fall on. Every write to what the sweep reads
-- about a branch counts a change here in the same transaction (the triggers below), so a branch
-- whose facts changed since it was decided is decided again at the next sweep, whoever wrote.
--
-- A module that adds a duty with a table of its own (bot/reminders.py `Duty`) adds the same
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
