-- 发展党员: the steps each person on the roster has taken, with their dates (names and dates
-- only: no ID numbers). 考察 repeats every six months; every other step is taken once. The
-- 入党介绍人 are kept by name (two 正式党员 of the roster when they were chosen). A member or a
-- branch deleted takes its steps with it.
CREATE TABLE recruitment_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    step TEXT NOT NULL CHECK (step IN ('applied', 'talked', 'activist', 'exam', 'candidate',
                                       'introducers', 'review', 'training', 'notice',
                                       'admitted', 'extended', 'confirmed')),
    done_on TEXT NOT NULL,                 -- YYYY-MM-DD
    amount INTEGER,                        -- 培训天数或学时, 延长预备期月数
    unit TEXT NOT NULL DEFAULT '' CHECK (unit IN ('', 'days', 'hours', 'months')),
    introducer_a TEXT NOT NULL DEFAULT '',
    introducer_b TEXT NOT NULL DEFAULT '',
    draft_key TEXT UNIQUE,                 -- the form's key: saving twice records once
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX recruitment_steps_branch ON recruitment_steps(branch_id, member_id);
CREATE UNIQUE INDEX recruitment_steps_once ON recruitment_steps(member_id, step)
    WHERE step != 'exam';
