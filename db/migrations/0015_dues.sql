-- 党费: each party member's monthly amount and each month's payment, in fen (分). The amount is
-- what the secretary set (from a base through the brackets, a fixed amount, or a category's);
-- the base itself is not kept. A member who leaves the roster keeps their payments (member_id
-- becomes NULL, the name stays) so the year's ledger still adds up; their amount goes with them.
CREATE TABLE dues_rates (
    member_id INTEGER PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    basis TEXT NOT NULL CHECK (basis IN ('base', 'retired', 'fixed', 'student', 'farmer',
                                         'unemployed', 'low_income')),
    quarterly INTEGER NOT NULL DEFAULT 0 CHECK (quarterly IN (0, 1)), -- 按季度交 (支部同意)
    since TEXT NOT NULL,                   -- YYYY-MM the amount was first set (kept on changes)
    set_by INTEGER NOT NULL,
    set_at TEXT NOT NULL
);
CREATE INDEX dues_rates_branch ON dues_rates(branch_id);

CREATE TABLE dues_payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    member_id INTEGER REFERENCES members(id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    month TEXT NOT NULL,                   -- YYYY-MM the payment is for
    due_fen INTEGER NOT NULL CHECK (due_fen >= 0),
    paid_fen INTEGER NOT NULL CHECK (paid_fen >= 0),
    paid_on TEXT NOT NULL,                 -- YYYY-MM-DD
    recorded_by INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (member_id, month)
);
CREATE INDEX dues_payments_branch ON dues_payments(branch_id, month);
