-- Rules the ISMS keeps by itself: what a risk acceptance was given for
-- and until when; when personal data became known in an incident (the
-- 72-hour clock runs from then) and why a late notification was late;
-- why a finding was closed without its corrective actions done; when a
-- person left.

-- The score and residual score a risk was accepted at, and the end of
-- the acceptance: a higher score or residual, or the end, re-opens it.
ALTER TABLE risks ADD COLUMN accepted_score INTEGER;
ALTER TABLE risks ADD COLUMN accepted_residual INTEGER;
ALTER TABLE risks ADD COLUMN accepted_until INTEGER;

-- personal_data_at: when the incident was marked as involving personal
-- data (the breach clock starts there); personal_data_cleared_at: when it
-- was marked as not involving any after all.
ALTER TABLE incidents ADD COLUMN personal_data_at INTEGER;
ALTER TABLE incidents ADD COLUMN personal_data_cleared_at INTEGER;
ALTER TABLE incidents ADD COLUMN breach_delay_reason TEXT;
UPDATE incidents SET personal_data_at = created_at WHERE personal_data <> 0;

ALTER TABLE findings ADD COLUMN close_reason TEXT;

ALTER TABLE people ADD COLUMN deactivated_at INTEGER;

-- Acceptances given before: bound to the scores they stand at, for 12
-- months from their treatment.
UPDATE risks SET accepted_score = score, accepted_residual = residual_score,
	accepted_until = CAST(strftime('%s', treated_at, 'unixepoch',
				       '+12 months') AS INTEGER)
	WHERE treatment = 'accept' AND treated_at IS NOT NULL;

-- A control owner's implementation notes (applicability and its
-- justification are the isms_managers').
ALTER TABLE controls ADD COLUMN notes TEXT;

-- The title of Annex A 7.6 as ISO/IEC 27001:2022 spells it.
UPDATE controls SET title = 'Working in secure areas' WHERE id = '7.6';
