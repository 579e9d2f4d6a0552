/*
 * The measurable information security objectives (OBJ-n, ISO/IEC 27001
 * clause 6.2): added with a target and a due date, measured as time goes
 * on (6.2 d: monitored), then achieved or missed. The measurements give
 * the trend that the management review and the report show.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "objective.h"
#include "register.h"

#define OBJECTIVE_VALUE_MAX 32 /* bytes of a measured number as typed */

static const char *const objective_states[] = {"open", "achieved", "missed"};

static int
objective_add(struct cmd_ctx *ctx)
{
	const char *target = NULL;
	char obj[32], due_s[16], *text;
	int64_t due;
	int rc = -1;

	text = reg_text(ctx, 0, REG_TEXT_MAX, "the objective");
	if (text == NULL)
		return -1;
	if (reg_key_text(ctx, "target", REG_NAME_MAX, 1, &target) < 0 ||
	    reg_key_date(ctx, "due", 1, &due) < 0)
		goto out;
	if (db_exec(ctx->st,
		    "INSERT INTO objectives(text, target, due_at, created_by, "
		    "created_at, updated_at) VALUES (?,?,?,?,?,?)",
		    "ttiiii", text, target, due, ctx->me.id, ctx->now,
		    ctx->now) < 0)
		goto out;
	reg_obj(obj, "OBJ", db_last_id(ctx->st));
	time_date(due, due_s);
	if (cmd_audit(ctx, "objective.add", obj,
		      json_pack("{s:s,s:s,s:s}", "text", text, "target", target,
				"due", due_s)) < 0)
		goto out;
	cmd_reply(ctx, "Objective %s added: %s (target: %s, due %s).", obj,
		  text, target, due_s);
	rc = 0;
out:
	free(text);
	return rc;
}

static int
objective_status(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	int k;

	k = ctx->cl->npos != 2
		? -1
		: reg_one_of(ctx->cl->pos[1], objective_states, 3);
	if (k < 0)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "OBJ", &ref) < 0)
		return -1;
	if (strcmp(ref.status, objective_states[k]) == 0)
		return cmd_error(ctx, "%s is already %s", ref.obj, ref.status);
	if (db_exec(ctx->st,
		    "UPDATE objectives SET status = ?, updated_at = ? WHERE "
		    "id = ?",
		    "tii", objective_states[k], ctx->now, ref.id) < 0 ||
	    cmd_audit(ctx, "objective.status", ref.obj,
		      json_pack("{s:[s,s]}", "status", ref.status,
				objective_states[k])) < 0)
		return -1;
	cmd_reply(ctx, "%s is now %s.", ref.obj, objective_states[k]);
	return 0;
}

/*
 * A measured number: decimal, finite, as typed (a trailing % is allowed
 * and dropped, "85%" is 85). 0, or -1 with an error reply.
 */
static int
objective_value(struct cmd_ctx *ctx, const char *v, char *out, size_t len)
{
	char *end;
	double d;
	size_t n = strlen(v);

	if (n > 0 && v[n - 1] == '%')
		n--;
	if (n == 0 || n >= len || n >= OBJECTIVE_VALUE_MAX)
		goto bad;
	memcpy(out, v, n);
	out[n] = '\0';
	d = strtod(out, &end);
	if (*end != '\0' || !isfinite(d) || strspn(out, "+-.0123456789") != n)
		goto bad;
	return 0;
bad:
	return cmd_error(ctx,
			 "value= must be a number like 85 or 4.5, got "
			 "\"%.40s\"",
			 v);
}

static int
objective_measure(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	const char *v = NULL, *note = NULL;
	char value[OBJECTIVE_VALUE_MAX], day_s[16], *trend = NULL;
	int64_t day = 0;
	int given, rc = -1;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "OBJ", &ref) < 0 ||
	    reg_key_text(ctx, "value", OBJECTIVE_VALUE_MAX, 1, &v) < 0 ||
	    objective_value(ctx, v, value, sizeof(value)) < 0 ||
	    reg_key_text(ctx, "note", REG_TEXT_MAX, 0, &note) < 0 ||
	    (given = reg_key_date(ctx, "date", 0, &day)) < 0)
		return -1;
	/* a measurement is of a day that has begun: today by default */
	if (!given) {
		time_date(ctx->now, day_s);
		time_parse_date(day_s, &day);
	}
	if (day > ctx->now)
		return cmd_error(ctx,
				 "date=%s is in the future: record a "
				 "measurement once it is taken",
				 cmd_key(ctx, "date"));
	if (strcmp(ref.status, "open") != 0)
		return cmd_error(ctx,
				 "%s is %s: measurements are recorded for "
				 "open objectives",
				 ref.obj, ref.status);
	time_date(day, day_s);
	if (db_exec(ctx->st,
		    "INSERT INTO objective_measurements(objective_id, value, "
		    "measured_at, note, recorded_by, recorded_at) VALUES "
		    "(?,CAST(? AS DOUBLE PRECISION),?,?,?,?)",
		    "ititii", ref.id, value, day, note, ctx->me.id,
		    ctx->now) != 1 ||
	    db_exec(ctx->st,
		    "UPDATE objectives SET updated_at = ? WHERE id = ?", "ii",
		    ctx->now, ref.id) != 1 ||
	    cmd_audit(ctx, "objective.measure", ref.obj,
		      json_pack("{s:s,s:s,s:s?}", "value", value, "date", day_s,
				"note", note)) < 0)
		goto out;
	trend = objective_trend(ctx, ref.id);
	if (trend == NULL) {
		rc = cmd_error(ctx, "database error");
		goto out;
	}
	cmd_reply(ctx, "%s measured %s on %s: %s.", ref.obj, value, day_s,
		  trend);
	rc = 0;
out:
	free(trend);
	return rc;
}

char *
objective_trend(struct cmd_ctx *ctx, int64_t id)
{
	struct db_stmt *s;
	char *v = NULL;

	s = db_prepare(
	    ctx->st,
	    "SELECT COUNT(*), (SELECT printf('%g', value) FROM "
	    "objective_measurements WHERE objective_id = ?1 ORDER BY "
	    "measured_at, id LIMIT 1), (SELECT printf('%g', value) FROM "
	    "objective_measurements WHERE objective_id = ?1 ORDER BY "
	    "measured_at DESC, id DESC LIMIT 1), (SELECT date(measured_at, "
	    "'unixepoch') FROM objective_measurements WHERE objective_id = ?1 "
	    "ORDER BY measured_at DESC, id DESC LIMIT 1), (SELECT (SELECT "
	    "value FROM objective_measurements WHERE objective_id = ?1 ORDER "
	    "BY measured_at DESC, id DESC LIMIT 1) - (SELECT value FROM "
	    "objective_measurements WHERE objective_id = ?1 ORDER BY "
	    "measured_at, id LIMIT 1)) FROM objective_measurements WHERE "
	    "objective_id = ?1",
	    "i", id);
	if (s == NULL)
		return NULL;
	if (db_step(s) == DB_ROW) {
		int64_t n = db_col_int(s, 0);
		const char *diff = db_col(s, 4);

		if (n == 0)
			v = xstrdup("");
		else if (n == 1)
			v = xasprintf("measured %s on %s", db_col(s, 2),
				      db_col(s, 3));
		else
			v = xasprintf("from %s to %s (%lld measurements, "
				      "%s; last %s)",
				      db_col(s, 1), db_col(s, 2), (long long)n,
				      *diff == '-'		 ? "falling"
				      : strtod(diff, NULL) > 0.0 ? "rising"
								 : "unchanged",
				      db_col(s, 3));
	}
	db_finish(ctx->st, s);
	return v;
}

/*
 * Objectives one line each: "OBJ-1 [open, due D, PAST DUE] text
 * (target: T)" and the trend when measured; lead goes between lines.
 */
static int
objective_lines(struct cmd_ctx *ctx, const char *lead)
{
	struct db_stmt *s;
	int64_t ids[256];
	size_t n = 0, k;

	/* ids first: the trend of each is a statement of its own */
	s = db_prepare(ctx->st, "SELECT id FROM objectives ORDER BY due_at, id",
		       NULL);
	if (s == NULL)
		return -1;
	while (n < ARRAY_LEN(ids) && db_step(s) == DB_ROW)
		ids[n++] = db_col_int(s, 0);
	db_finish(ctx->st, s);
	for (k = 0; k < n; k++) {
		char *trend = objective_trend(ctx, ids[k]);

		s = trend ? db_prepare(ctx->st,
				       "SELECT status, date(due_at, "
				       "'unixepoch'), status = 'open' AND "
				       "due_at + 86400 <= ?, text, target FROM "
				       "objectives WHERE id = ?",
				       "ii", ctx->now, ids[k])
			  : NULL;
		if (s == NULL || db_step(s) != DB_ROW) {
			db_finish(ctx->st, s);
			free(trend);
			return -1;
		}
		cmd_reply(
		    ctx, "%sOBJ-%lld [%s, due %s%s] %s (target: %s)%s%s",
		    k ? lead : "", (long long)ids[k], db_col(s, 0),
		    db_col(s, 1), (int)db_col_int(s, 2) ? ", PAST DUE" : "",
		    db_col(s, 3), db_col(s, 4), *trend ? "; " : "", trend);
		db_finish(ctx->st, s);
		free(trend);
	}
	return (int)n;
}

int
objective_fulfilment_write(struct cmd_ctx *ctx, const char *none)
{
	int n = objective_lines(ctx, "\n  ");

	if (n < 0)
		return cmd_error(ctx, "database error");
	if (n == 0)
		cmd_reply(ctx, "%s", none);
	return 0;
}

int
objective_measurements_write(struct cmd_ctx *ctx, int64_t since,
			     const char *none)
{
	struct db_stmt *s;
	int n = 0;

	s = db_prepare(ctx->st,
		       "SELECT 'OBJ-' || o.id || ' ' || printf('%g', m.value) "
		       "|| ' on ' || date(m.measured_at, 'unixepoch') || ' (' "
		       "|| o.text || ', target: ' || o.target || ')' || "
		       "COALESCE(': ' || m.note, '') FROM "
		       "objective_measurements m JOIN objectives o ON o.id = "
		       "m.objective_id WHERE m.recorded_at >= ? ORDER BY "
		       "o.id, m.measured_at, m.id",
		       "i", since);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW)
		cmd_reply(ctx, "%s%.300s", n++ ? "\n  " : "", db_col(s, 0));
	db_finish(ctx->st, s);
	if (n == 0)
		cmd_reply(ctx, "%s", none);
	return 0;
}

int
objective_report_write(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int64_t total;

	s = db_prepare(ctx->st,
		       "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = "
		       "'open' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE "
		       "WHEN status = 'achieved' THEN 1 ELSE 0 END), 0), "
		       "COALESCE(SUM(CASE WHEN status = 'missed' THEN 1 "
		       "ELSE 0 END), 0), COALESCE(SUM(CASE WHEN status = "
		       "'open' AND due_at + 86400 <= ? THEN 1 ELSE 0 END), "
		       "0) FROM objectives",
		       "i", ctx->now);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return cmd_error(ctx, "database error");
	}
	total = db_col_int(s, 0);
	if (total == 0)
		cmd_reply(ctx, "Objectives: none set.");
	else
		cmd_reply(
		    ctx,
		    "Objectives: %lld open (%lld past due), %lld "
		    "achieved, %lld missed.",
		    (long long)db_col_int(s, 1), (long long)db_col_int(s, 4),
		    (long long)db_col_int(s, 2), (long long)db_col_int(s, 3));
	db_finish(ctx->st, s);
	if (total > 0)
		cmd_reply(ctx, "\n  ");
	if (total > 0 && objective_lines(ctx, "\n  ") < 0)
		return cmd_error(ctx, "database error");
	return 0;
}

static int
objective_list(struct cmd_ctx *ctx)
{
	int n;

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	n = objective_lines(ctx, "\n");
	if (n < 0)
		return cmd_error(ctx, "database error");
	if (n == 0)
		cmd_reply(ctx, "No objectives yet.");
	return 0;
}

static int
objective_show(struct cmd_ctx *ctx)
{
	struct reg_ref ref;
	struct db_stmt *s;
	char *trend;
	int n = 0;

	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	if (reg_arg(ctx, 0, "OBJ", &ref) < 0)
		return -1;
	trend = objective_trend(ctx, ref.id);
	s = trend ? db_prepare(ctx->st,
			       "SELECT target, date(due_at, 'unixepoch'), "
			       "status = 'open' AND due_at + 86400 <= ? FROM "
			       "objectives WHERE id = ?",
			       "ii", ctx->now, ref.id)
		  : NULL;
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		free(trend);
		return cmd_error(ctx, "database error");
	}
	cmd_reply(ctx, "%s %s\nTarget: %s, due %s%s. Status: %s.\n", ref.obj,
		  ref.title, db_col(s, 0), db_col(s, 1),
		  (int)db_col_int(s, 2) ? " (PAST DUE)" : "", ref.status);
	db_finish(ctx->st, s);
	cmd_reply(ctx, "Trend: %s", *trend ? trend : "not measured yet");
	free(trend);
	s = db_prepare(ctx->st,
		       "SELECT date(m.measured_at, 'unixepoch') || ' ' || "
		       "printf('%g', m.value) || ' (by ' || p.handle || ')' || "
		       "COALESCE(': ' || m.note, '') FROM "
		       "objective_measurements m JOIN people p ON p.id = "
		       "m.recorded_by WHERE m.objective_id = ? ORDER BY "
		       "m.measured_at, m.id",
		       "i", ref.id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW)
		cmd_reply(ctx, "%s  %.300s", n++ ? "\n" : "\nMeasurements:\n",
			  db_col(s, 0));
	db_finish(ctx->st, s);
	return 0;
}

static const struct cmd_entry objective_commands[] = {
    {
	.verb = "add",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "target,due",
	.usage = "<text> target=... due=YYYY-MM-DD",
	.help = "add a measurable information security objective",
	.exec = objective_add,
    },
    {
	.verb = "status",
	.roles = ROLE_ISMS_MANAGER,
	.usage = "OBJ-n open|achieved|missed",
	.help = "record whether an objective was met",
	.exec = objective_status,
    },
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.usage = "",
	.help = "objectives and their status",
	.exec = objective_list,
    },
    {
	.verb = "measure",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "value,date,note",
	.usage = "OBJ-n value=<number> [date=YYYY-MM-DD] [note=...]",
	.help = "record a measurement of an open objective (its trend)",
	.exec = objective_measure,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "OBJ-n",
	.help = "an objective with its measurements and trend",
	.exec = objective_show,
    },
    {0},
};

const struct cmd_object objective_object = {
    .name = "objective",
    .help = "measurable information security objectives",
    .commands = objective_commands,
};
