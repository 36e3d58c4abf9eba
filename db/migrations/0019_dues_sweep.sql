-- A branch that starts or drops its 党费 ledger is reminded differently (bot/reminders.py: the
-- ledger's month-end reminder stands in for the generic 党费 lead reminders): the sweep decides
-- it again (db/migrations/0018_sweep.sql).
CREATE TRIGGER sweep_dues_rates_insert AFTER INSERT ON dues_rates BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

CREATE TRIGGER sweep_dues_rates_update AFTER UPDATE OF branch_id ON dues_rates BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (NEW.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;

CREATE TRIGGER sweep_dues_rates_delete AFTER DELETE ON dues_rates BEGIN
    INSERT INTO sweep_state (branch_id) VALUES (OLD.branch_id)
        ON CONFLICT (branch_id) DO UPDATE SET changes = changes + 1;
END;
