-- 民主评议党员: each party member's grade in one appraisal (a member_appraisal record), with the
-- reason the secretary gives for 基本合格 and 不合格. A record or a member deleted takes its
-- grades with it.
CREATE TABLE appraisal_grades (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    grade TEXT NOT NULL CHECK (grade IN ('excellent', 'qualified', 'basic', 'unqualified')),
    reason TEXT NOT NULL DEFAULT '',
    graded_by INTEGER NOT NULL,
    graded_at TEXT NOT NULL,
    PRIMARY KEY (meeting_id, member_id)
);
