-- PostgreSQL only: the SQLite functions and the collation the SQL of the
-- program uses, under their SQLite names, so that one SQL text serves
-- both engines (docs/postgresql.md). Run once on a new database, before
-- migration 001 and in the same transaction, in the schema the tables go
-- to (no schema is named here). Times are UTC, as SQLite's are.
--
-- Only the forms the program uses are given: date(x, 'unixepoch'[, mod]),
-- strftime(fmt, x, 'unixepoch'[, mod]), strftime(fmt, 'YYYY-MM-DD...'),
-- printf('%g', x), group_concat(x[, sep]), json_extract(json, path),
-- instr(text, part), role_names(roles), isms_lastval() and COLLATE
-- NOCASE. A form SQLite would read differently is an error here rather
-- than a different answer, except where SQLite itself answers NULL (a
-- malformed time or modifier).

-- An instant in seconds since 1970 as a UTC timestamp.
CREATE OR REPLACE FUNCTION isms_epoch_ts(bigint) RETURNS timestamp
IMMUTABLE STRICT LANGUAGE sql AS
$$ SELECT TIMESTAMP '1970-01-01 00:00:00' + $1 * INTERVAL '1 second' $$;

-- t when within SQLite's years (to 9999; from year 1 here, where SQLite
-- also has year 0), else NULL.
CREATE OR REPLACE FUNCTION isms_in_range(t timestamp) RETURNS timestamp
IMMUTABLE STRICT LANGUAGE sql AS
$$ SELECT CASE WHEN t >= TIMESTAMP '0001-01-01' AND t < TIMESTAMP '10000-01-01'
	THEN t END $$;

-- A timestamp from year, month and day as SQLite computes it: any day
-- 1-31 in any month, the days past the month's end running into the
-- next (2001-02-29 is 2001-03-01), plus the time of day.
CREATE OR REPLACE FUNCTION isms_ymd_ts(y int, m int, d int, tod interval)
RETURNS timestamp IMMUTABLE STRICT LANGUAGE sql AS
$$ SELECT CASE WHEN y BETWEEN 1 AND 9999 THEN
	make_date(y, m, 1)::timestamp + (d - 1) * INTERVAL '1 day' + tod END $$;

-- One SQLite date modifier applied to t: '[+-]N year(s)', 'month(s)',
-- 'day(s)', 'hour(s)', 'minute(s)', 'second(s)'. Years and months as
-- SQLite adds them (the day of the month kept, then normalised: 29
-- February plus a year is 1 March). NULL for a malformed modifier, as
-- in SQLite; other SQLite modifiers ('start of month', 'weekday N',
-- 'localtime', ...) are an error.
CREATE OR REPLACE FUNCTION isms_modify(t timestamp, modifier text)
RETURNS timestamp IMMUTABLE STRICT LANGUAGE plpgsql AS
$$
DECLARE
	p text[];
	n numeric;
	u text;
	y int;
	mo int;
	total int;
BEGIN
	p := regexp_match(lower(modifier),
		'^\s*([+-]?[0-9]+(?:\.[0-9]*)?)\s*(year|month|day|hour|minute|second)s?\s*$');
	IF p IS NULL THEN
		IF lower(modifier) ~ '^\s*(start of|weekday|localtime|utc|unixepoch|julianday|auto|subsec|ceiling|floor)' THEN
			RAISE EXCEPTION 'date modifier "%" is not supported on PostgreSQL', modifier;
		END IF;
		RETURN NULL;
	END IF;
	n := p[1]::numeric;
	u := p[2];
	IF u IN ('year', 'month') THEN
		IF n <> trunc(n) THEN
			RAISE EXCEPTION 'date modifier "%": a fraction of a % is not supported on PostgreSQL', modifier, u;
		END IF;
		y := extract(year FROM t)::int;
		mo := extract(month FROM t)::int;
		IF u = 'year' THEN
			y := y + n::int;
		ELSE
			total := y * 12 + (mo - 1) + n::int;
			y := floor(total / 12.0)::int;
			mo := total - y * 12 + 1;
		END IF;
		RETURN isms_ymd_ts(y, mo, extract(day FROM t)::int,
				   t - date_trunc('day', t));
	END IF;
	RETURN t + n * CASE u WHEN 'day' THEN INTERVAL '1 day'
		WHEN 'hour' THEN INTERVAL '1 hour'
		WHEN 'minute' THEN INTERVAL '1 minute'
		ELSE INTERVAL '1 second' END;
END
$$;

-- An instant in seconds and SQLite modifiers, the first 'unixepoch'.
CREATE OR REPLACE FUNCTION isms_epoch_mods(x bigint, mods text[])
RETURNS timestamp IMMUTABLE STRICT LANGUAGE plpgsql AS
$$
DECLARE
	t timestamp;
	i int;
BEGIN
	IF array_length(mods, 1) IS NULL OR lower(mods[1]) <> 'unixepoch' THEN
		RAISE EXCEPTION 'date and strftime of a number need ''unixepoch'' on PostgreSQL (SQLite reads a Julian day)';
	END IF;
	t := isms_in_range(isms_epoch_ts(x));
	FOR i IN 2 .. array_length(mods, 1) LOOP
		EXIT WHEN t IS NULL;
		t := isms_in_range(isms_modify(t, mods[i]));
	END LOOP;
	RETURN t;
END
$$;

-- A time string SQLite reads: 'YYYY-MM-DD', optionally followed by
-- ' HH:MM', ':SS', '.SSS' (or 'T' for the space) and 'Z'. NULL when
-- malformed, as in SQLite; 'now', Julian day numbers and time zone
-- offsets are an error.
CREATE OR REPLACE FUNCTION isms_text_ts(s text) RETURNS timestamp
IMMUTABLE STRICT LANGUAGE plpgsql AS
$$
DECLARE
	p text[];
BEGIN
	p := regexp_match(s, '^\s*([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2}(?:\.[0-9]+)?))?)?\s*([zZ])?\s*$');
	IF p IS NULL THEN
		IF s ~ '^\s*([+-]?[0-9.]+|now|[0-9]{4}-[0-9]{2}-[0-9]{2}.*[+-][0-9]{2}:[0-9]{2})\s*$' THEN
			RAISE EXCEPTION 'time value "%" is not supported on PostgreSQL', s;
		END IF;
		RETURN NULL;
	END IF;
	IF p[2]::int NOT BETWEEN 1 AND 12 OR p[3]::int NOT BETWEEN 1 AND 31
	   OR COALESCE(p[4]::int, 0) > 23 OR COALESCE(p[5]::int, 0) > 59
	   OR COALESCE(p[6]::numeric, 0) >= 60 THEN
		RETURN NULL;
	END IF;
	RETURN isms_ymd_ts(p[1]::int, p[2]::int, p[3]::int,
		COALESCE(p[4]::int, 0) * INTERVAL '1 hour'
		+ COALESCE(p[5]::int, 0) * INTERVAL '1 minute'
		+ COALESCE(p[6]::numeric, 0) * INTERVAL '1 second');
END
$$;

-- strftime's conversions as SQLite 3.40 has them (%d %f %H %j %m %M %s
-- %S %w %W %Y %%); %J is an error, an unknown one gives NULL as in SQLite.
CREATE OR REPLACE FUNCTION isms_strftime(fmt text, t timestamp) RETURNS text
IMMUTABLE STRICT LANGUAGE plpgsql AS
$$
DECLARE
	res text := '';
	i int := 1;
	c text;
	n int := length(fmt);
	yday int := extract(doy FROM t)::int - 1;
BEGIN
	WHILE i <= n LOOP
		c := substr(fmt, i, 1);
		IF c <> '%' THEN
			res := res || c;
			i := i + 1;
			CONTINUE;
		END IF;
		c := substr(fmt, i + 1, 1);
		i := i + 2;
		IF c = 'J' THEN
			RAISE EXCEPTION 'strftime %%J is not supported on PostgreSQL';
		END IF;
		res := res || CASE c
			WHEN 'd' THEN to_char(t, 'DD')
			WHEN 'f' THEN to_char(least(round(extract(second FROM t), 3), 59.999), 'FM00.000')
			WHEN 'H' THEN to_char(t, 'HH24')
			WHEN 'j' THEN to_char(yday + 1, 'FM000')
			WHEN 'm' THEN to_char(t, 'MM')
			WHEN 'M' THEN to_char(t, 'MI')
			WHEN 's' THEN floor(extract(epoch FROM t))::bigint::text
			WHEN 'S' THEN to_char(t, 'SS')
			WHEN 'w' THEN extract(dow FROM t)::int::text
			WHEN 'W' THEN to_char((yday + 7 - (extract(isodow FROM t)::int - 1)) / 7, 'FM00')
			WHEN 'Y' THEN to_char(extract(year FROM t)::int, 'FM0000')
			WHEN '%' THEN '%'
			END;
		IF res IS NULL THEN
			RETURN NULL;
		END IF;
	END LOOP;
	RETURN res;
END
$$;

-- date(x, 'unixepoch'[, modifier]): 'YYYY-MM-DD' of an instant.
CREATE OR REPLACE FUNCTION date(bigint, text) RETURNS text
IMMUTABLE STRICT LANGUAGE sql AS
$$ SELECT to_char(isms_epoch_mods($1, ARRAY[$2]), 'YYYY-MM-DD') $$;
CREATE OR REPLACE FUNCTION date(bigint, text, text) RETURNS text
IMMUTABLE STRICT LANGUAGE sql AS
$$ SELECT to_char(isms_epoch_mods($1, ARRAY[$2, $3]), 'YYYY-MM-DD') $$;

-- strftime(fmt, x, 'unixepoch'[, modifier]) and strftime(fmt, time text).
CREATE OR REPLACE FUNCTION strftime(text, bigint, text) RETURNS text
IMMUTABLE STRICT LANGUAGE sql AS
$$ SELECT isms_strftime($1, isms_epoch_mods($2, ARRAY[$3])) $$;
CREATE OR REPLACE FUNCTION strftime(text, bigint, text, text) RETURNS text
IMMUTABLE STRICT LANGUAGE sql AS
$$ SELECT isms_strftime($1, isms_epoch_mods($2, ARRAY[$3, $4])) $$;
CREATE OR REPLACE FUNCTION strftime(text, text) RETURNS text
IMMUTABLE STRICT LANGUAGE sql AS
$$ SELECT isms_strftime($1, isms_text_ts($2)) $$;

-- printf('%g', x): six significant digits, trailing zeros dropped, the
-- exponent form below 1e-4 and from 1e6 on, as C's %g. NULL prints as
-- 0, as SQLite's printf does. Other formats are an error.
CREATE OR REPLACE FUNCTION printf(fmt text, v double precision) RETURNS text
IMMUTABLE LANGUAGE plpgsql SET extra_float_digits = 3 AS
$$
DECLARE
	num numeric;
	r numeric;
	res text;
	e int;
BEGIN
	IF fmt IS DISTINCT FROM '%g' THEN
		RAISE EXCEPTION 'printf format "%" is not supported on PostgreSQL', fmt;
	END IF;
	IF v IS NULL OR v = 0 THEN
		RETURN '0';
	ELSIF v = 'Infinity' THEN
		RETURN 'Inf';
	ELSIF v = '-Infinity' THEN
		RETURN '-Inf';
	ELSIF v = 'NaN' THEN
		RETURN NULL;
	END IF;
	-- all 17 digits (extra_float_digits, below): 1.0000005 is stored as
	-- 1.00000049999999997 and prints as 1, as in C
	num := v::text::numeric;
	-- rounded to six significant digits (9.999995 makes 10.0000)
	e := floor(log(abs(num)))::int;
	r := round(num, 5 - e);
	IF floor(log(abs(r))) > e THEN
		e := e + 1;
		r := round(num, 5 - e);
	END IF;
	IF e < -4 OR e >= 6 THEN
		-- the six digits as d.ddddd
		res := left(ltrim(replace(abs(r)::text, '.', ''), '0') || '00000', 6);
		res := rtrim(rtrim(left(res, 1) || '.' || substr(res, 2), '0'), '.');
		RETURN CASE WHEN r < 0 THEN '-' ELSE '' END || res || 'e' || CASE WHEN e < 0 THEN '-' ELSE '+' END
			|| CASE WHEN abs(e) < 10 THEN '0' ELSE '' END || abs(e);
	END IF;
	RETURN trim_scale(r)::text;
END
$$;

-- group_concat(x[, sep]): the values that are not NULL as text, joined
-- by sep (',' by default); NULL when there are none. In the order the
-- rows come, as in SQLite: an ordered subquery gives the order.
CREATE OR REPLACE FUNCTION isms_gc_step(acc text, v anyelement, sep text)
RETURNS text IMMUTABLE LANGUAGE sql AS
$$ SELECT CASE WHEN v IS NULL THEN acc WHEN acc IS NULL THEN v::text
	ELSE acc || COALESCE(sep, '') || v::text END $$;
CREATE OR REPLACE FUNCTION isms_gc_step1(acc text, v anyelement)
RETURNS text IMMUTABLE LANGUAGE sql AS
$$ SELECT isms_gc_step(acc, v, ',') $$;
CREATE OR REPLACE AGGREGATE group_concat(anyelement, text)
	(SFUNC = isms_gc_step, STYPE = text);
CREATE OR REPLACE AGGREGATE group_concat(anyelement)
	(SFUNC = isms_gc_step1, STYPE = text);

-- json_extract(json, path) for the paths '$', '$.key', '$[n]' and their
-- chains: a string without its quotes, a number as written, true and
-- false as 1 and 0 (SQLite's integers), null or a missing path as NULL,
-- an object or array as its JSON text as stored (json, not jsonb, keeps
-- its spacing and key order, as SQLite does). Always text: compare a
-- number with CAST(json_extract(...) AS INTEGER).
CREATE OR REPLACE FUNCTION isms_json_at(text, text) RETURNS json
IMMUTABLE STRICT LANGUAGE sql AS
$$ SELECT CASE WHEN $2 = '$' THEN $1::json
	ELSE $1::json #> regexp_split_to_array(regexp_replace(
		regexp_replace(substr($2, 2), '\[(\d+)\]', '.\1', 'g'),
		'^\.', ''), '\.') END $$;

CREATE OR REPLACE FUNCTION json_extract(text, text) RETURNS text
IMMUTABLE STRICT LANGUAGE sql AS
$$ SELECT CASE json_typeof(v)
	WHEN 'boolean' THEN CASE WHEN v::text = 'true' THEN '1' ELSE '0' END
	WHEN 'string' THEN v #>> '{}'
	WHEN 'null' THEN NULL
	ELSE v::text END
   FROM (SELECT isms_json_at($1, $2) AS v) j $$;

-- json_array_length(json, path): the length of the array there, 0 for
-- another value, NULL when there is none.
CREATE OR REPLACE FUNCTION json_array_length(text, text) RETURNS bigint
IMMUTABLE STRICT LANGUAGE sql AS
$$ SELECT CASE json_typeof(v) WHEN 'array' THEN json_array_length(v)
	ELSE 0 END FROM (SELECT isms_json_at($1, $2) AS v) j $$;

-- instr(text, part): where part starts in text, from 1, or 0.
CREATE OR REPLACE FUNCTION instr(text, text) RETURNS bigint
IMMUTABLE STRICT LANGUAGE sql AS $$ SELECT strpos($1, $2)::bigint $$;

-- role_names(roles): the names of the role bits, ';'-separated in bit
-- order (store/store.c role_names, roles_format).
CREATE OR REPLACE FUNCTION role_names(bigint) RETURNS text
IMMUTABLE LANGUAGE sql AS
$$ SELECT COALESCE(string_agg(r.name, ';' ORDER BY r.bit), '')
   FROM unnest(ARRAY['staff', 'manager', 'risk_owner', 'isms_manager',
		     'auditor', 'admin', 'management'])
	WITH ORDINALITY AS r(name, bit)
   WHERE (COALESCE($1, 0) & (1::bigint << (r.bit::int - 1))) <> 0 $$;

-- COLLATE NOCASE: equal and ordered without regard to case (ICU, so all
-- of Unicode is folded, where SQLite folds ASCII only).
CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2',
	deterministic = false);

-- SQLite's last_insert_rowid() for the store's db_last_id: the session's
-- last identity value, or 0 before its first insert (lastval() would
-- fail, and the failure abort the transaction).
CREATE OR REPLACE FUNCTION isms_lastval() RETURNS bigint
VOLATILE LANGUAGE plpgsql AS
$$ BEGIN RETURN lastval();
   EXCEPTION WHEN object_not_in_prerequisite_state THEN RETURN 0; END $$;
