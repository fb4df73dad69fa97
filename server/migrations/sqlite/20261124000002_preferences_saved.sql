-- Set when the person first saves their preferences (until then the portal suggests the
-- browser's time zone).
ALTER TABLE users ADD COLUMN preferences_saved_at INTEGER;
