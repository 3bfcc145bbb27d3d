-- +goose Up
-- A row's send now starts with a state of its own: StartSending moves a
-- claimed row to 'sending' right before the provider is asked, so a
-- claimed row was never handed to the provider (a cancel may stop it) and
-- only a sending one is in doubt. A row claimed before this version may
-- have been handed over: it becomes sending, in doubt as it was.
UPDATE outbox SET state = 'sending' WHERE state = 'claimed';

-- +goose Down
UPDATE outbox SET state = 'claimed' WHERE state = 'sending';
