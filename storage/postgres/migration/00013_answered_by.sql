-- +goose Up
-- Answers on someone's behalf (issue 12): a patrol or cadre who checked on
-- a villager records its answer for it. The latest answer (deliveries) and
-- the history (acks) keep who recorded it: '' when the member answered
-- itself (every answer stored before this version), else the id of the
-- member who answered for it. A column with a constant default is added
-- without rewriting the table.
ALTER TABLE deliveries ADD COLUMN answered_by text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE acks ADD COLUMN by_id text COLLATE "C" NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE acks DROP COLUMN by_id;
ALTER TABLE deliveries DROP COLUMN answered_by;
