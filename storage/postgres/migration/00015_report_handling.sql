-- +goose Up
-- Report handling within time limits (v1.6, issue 16 part 1). A report
-- belongs to the village where it is (village_id); reporter_village_id is
-- the reporter's own. assignee_id, level and overdue say who handles it
-- and whether it is late; reminded, remind_at, escalate_at and county_at
-- are its deadline steps (computed from the policy when it was made);
-- closed_at is when it reached a final status.
ALTER TABLE reports ADD COLUMN reporter_village_id text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN assignee_id text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN level text NOT NULL DEFAULT 'village';
ALTER TABLE reports ADD COLUMN overdue boolean NOT NULL DEFAULT false;
ALTER TABLE reports ADD COLUMN reminded boolean NOT NULL DEFAULT false;
ALTER TABLE reports ADD COLUMN remind_at timestamptz;
ALTER TABLE reports ADD COLUMN escalate_at timestamptz;
ALTER TABLE reports ADD COLUMN county_at timestamptz;
ALTER TABLE reports ADD COLUMN closed_at timestamptz;
UPDATE reports SET reporter_village_id = village_id;
UPDATE reports SET closed_at = updated_at WHERE status IN ('resolved', 'rejected');
CREATE INDEX reports_created_at ON reports (created_at);
CREATE INDEX reports_assignee ON reports (assignee_id) WHERE assignee_id <> '';
CREATE TABLE report_history (
    id bigserial PRIMARY KEY,
    report_id text COLLATE "C" NOT NULL,
    at timestamptz NOT NULL,
    actor text COLLATE "C" NOT NULL,
    change text NOT NULL,
    from_value text NOT NULL DEFAULT '',
    to_value text NOT NULL DEFAULT ''
);
CREATE INDEX report_history_report ON report_history (report_id, id);

-- +goose Down
DROP TABLE report_history;
DROP INDEX reports_assignee;
DROP INDEX reports_created_at;
ALTER TABLE reports DROP COLUMN closed_at;
ALTER TABLE reports DROP COLUMN county_at;
ALTER TABLE reports DROP COLUMN escalate_at;
ALTER TABLE reports DROP COLUMN remind_at;
ALTER TABLE reports DROP COLUMN reminded;
ALTER TABLE reports DROP COLUMN overdue;
ALTER TABLE reports DROP COLUMN level;
ALTER TABLE reports DROP COLUMN assignee_id;
ALTER TABLE reports DROP COLUMN reporter_village_id;
