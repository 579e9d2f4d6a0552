-- Matrix transport: the rooms the bot is in, and one direct-message room
-- per Matrix user (mirrored to the bot's m.direct account data).

CREATE TABLE matrix_rooms (
	room_id TEXT PRIMARY KEY,
	joined_at INTEGER NOT NULL DEFAULT 0, -- origin_server_ts (ms) of the bot's join
	encrypted INTEGER NOT NULL DEFAULT 0,
	warned INTEGER NOT NULL DEFAULT 0,    -- told that encryption is unsupported
	members INTEGER NOT NULL DEFAULT -1,  -- joined members, -1 unknown
	direct_user TEXT                      -- the other party of a DM
);

CREATE TABLE matrix_dm (
	user_id TEXT PRIMARY KEY,
	room_id TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX matrix_dm_room ON matrix_dm(room_id);
