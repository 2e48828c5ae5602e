-- How many slots the last statement on a row took: an instance takes the slots of all its
-- first attempts waiting in one statement, and reads back where the first of them lies.
ALTER TABLE rate_slots ADD COLUMN IF NOT EXISTS last_taken integer NOT NULL DEFAULT 1;
