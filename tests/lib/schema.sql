-- schema.sql - a database in the spirit of the plan's ado_primary / ado_analytics:
-- users, tasks, configurations (Tier 1), execution_logs, metrics, user_settings (Tier 2),
-- plus what trips up dump tools: a quoted mixed-case table name with spaces, unicode
-- text, bytea, NULLs, a ~2 MB row, a sequence with a non-trivial value, a second schema.
-- Deterministic: the same rows every time (no random(), no now()).
SET client_min_messages = warning;

CREATE TABLE users (
	id serial PRIMARY KEY,
	email text NOT NULL UNIQUE,
	display_name text,
	created_at timestamptz NOT NULL DEFAULT '2024-01-01 00:00:00+00'
);
INSERT INTO users (email, display_name, created_at)
SELECT 'user' || g || '@example.com',
       CASE WHEN g % 10 = 0 THEN NULL
            WHEN g % 7 = 0 THEN 'Zoë Ångström ' || g
            WHEN g % 11 = 0 THEN '名前 ' || g || ' 🚀'
            ELSE 'User ' || g END,
       '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour'
FROM generate_series(1, 300) g;

CREATE TABLE tasks (
	id bigserial PRIMARY KEY,
	user_id int NOT NULL REFERENCES users (id),
	title text NOT NULL,
	state text NOT NULL CHECK (state IN ('open', 'running', 'done', 'failed')),
	payload jsonb,
	due date
);
INSERT INTO tasks (user_id, title, state, payload, due)
SELECT 1 + g % 300, 'task ' || g, (ARRAY['open', 'running', 'done', 'failed'])[1 + g % 4],
       CASE WHEN g % 5 = 0 THEN NULL ELSE jsonb_build_object('n', g, 'tags', jsonb_build_array('a', 'b')) END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE DATE '2024-06-01' + g END
FROM generate_series(1, 500) g;
CREATE INDEX tasks_user_idx ON tasks (user_id);

CREATE TABLE configurations (
	key text PRIMARY KEY,
	value text,
	blob bytea
);
INSERT INTO configurations
SELECT 'config.' || g, CASE WHEN g % 4 = 0 THEN NULL ELSE 'value ' || g END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE decode(md5(g::text) || '00ff0a0d', 'hex') END
FROM generate_series(1, 200) g;
-- The large row: about 2 MB of text.
INSERT INTO configurations VALUES ('config.large', repeat('0123456789abcdef', 131072), '\x00'::bytea);

CREATE TABLE execution_logs (
	id bigserial PRIMARY KEY,
	task_id bigint REFERENCES tasks (id),
	level text NOT NULL,
	message text,
	logged_at timestamptz NOT NULL
);
INSERT INTO execution_logs (task_id, level, message, logged_at)
SELECT 1 + g % 500, (ARRAY['debug', 'info', 'warn', 'error'])[1 + g % 4],
       CASE WHEN g % 9 = 0 THEN NULL ELSE 'line ' || g || E'\twith tab and \\ backslash' END,
       '2024-03-01 00:00:00+00'::timestamptz + g * interval '1 second'
FROM generate_series(1, 800) g;

CREATE TABLE metrics (
	name text NOT NULL,
	at timestamptz NOT NULL,
	value double precision,
	PRIMARY KEY (name, at)
);
INSERT INTO metrics
SELECT 'cpu.' || (g % 4), '2024-03-01 00:00:00+00'::timestamptz + g * interval '1 minute',
       CASE WHEN g % 13 = 0 THEN NULL ELSE g / 7.0 END
FROM generate_series(1, 600) g;

CREATE TABLE user_settings (
	user_id int PRIMARY KEY REFERENCES users (id),
	settings jsonb NOT NULL DEFAULT '{}',
	theme text
);
INSERT INTO user_settings
SELECT g, jsonb_build_object('lang', CASE WHEN g % 2 = 0 THEN 'de' ELSE 'ja' END), NULLIF('dark', CASE WHEN g % 3 = 0 THEN 'dark' END)
FROM generate_series(1, 250) g;

-- Needs quoting everywhere: mixed case and spaces.
CREATE TABLE "Mixed Case Table" (
	"Id" int PRIMARY KEY,
	"Note" text
);
INSERT INTO "Mixed Case Table" SELECT g, 'ünïcødé ' || g FROM generate_series(1, 120) g;

-- A sequence of its own, advanced well past its start.
CREATE SEQUENCE invoice_seq START 1000;
SELECT setval('invoice_seq', 424242);

-- A second schema, for schema.table names.
CREATE SCHEMA reporting;
CREATE TABLE reporting.daily (day date PRIMARY KEY, total numeric);
INSERT INTO reporting.daily SELECT DATE '2024-01-01' + g, g * 1.5 FROM generate_series(0, 99) g;

ANALYZE;
