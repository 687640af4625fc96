-- The reference (Alibaba OutId) that the latest provider call of a reminder
-- carried: one SendBatchSms call carries one reference for all its
-- reminders, so an unclear outcome is looked up by number and this
-- reference. Empty for rows written before it existed: their calls carried
-- the reminder's own reference.
ALTER TABLE sms_sends ADD COLUMN attempt_ref TEXT NOT NULL DEFAULT '';
