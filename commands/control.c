/*
 * The Statement of Applicability: the 93 Annex A controls and the
 * organisation's own, with their applicability, justification, reason
 * for inclusion, implementation, status, owner, evidence and the risks
 * whose treatment uses them.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/mapping.h"
#include "evidence_cmd.h"
#include "register.h"
#include "soa.h"

#define CONTROL_ID_MAX 15 /* bytes of a custom control's id */

static const char *const themes[] = {"organizational", "people", "physical",
				     "technological"};
static const char *const statuses[] = {"not_started", "partial", "implemented"};
static const char *const yes_no[] = {"no", "yes"};
/* Why an applicable control is included, in the order they are stored. */
static const char *const reasons[] = {"risk", "legal", "contract", "business"};

struct control {
	char id[16];
	char obj[24]; /* "A.5.15" for the audit log */
	char theme[16];
	char title[128];
	int applicable;
	int status;	      /* index in statuses */
	char *justification;  /* owned; NULL when none */
	char *notes;	      /* owned; NULL when none */
	char *reason;	      /* owned; "risk,legal"; NULL when none */
	char *implementation; /* owned; NULL when none */
	int custom;
	int64_t owner_id;
};

int
control_lookup(struct cmd_ctx *ctx, const char *word, char id[16], int *custom)
{
	struct db_stmt *s;
	int rc;

	/* Annex A ids are written with or without their "A." */
	if (strncasecmp(word, "A.", 2) == 0 && isdigit((unsigned char)word[2]))
		word += 2;
	s = db_prepare(ctx->st,
		       "SELECT id, custom FROM controls WHERE id = ? COLLATE "
		       "NOCASE",
		       "t", word);
	if (s == NULL)
		return -1;
	rc = db_step(s);
	if (rc == DB_ROW) {
		snprintf(id, 16, "%s", db_col(s, 0));
		*custom = (int)db_col_int(s, 1);
	}
	db_finish(ctx->st, s);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

void
control_obj(char out[24], const char *id, int custom)
{
	snprintf(out, 24, "%s%s", custom ? "" : "A.", id);
}

static void
control_free(struct control *c)
{
	free(c->justification);
	free(c->notes);
	free(c->reason);
	free(c->implementation);
}

/* pos[0] as "5.15" or "A.5.15"; 0, or -1 with an error reply. */
static int
control_arg(struct cmd_ctx *ctx, struct control *c)
{
	char id[16];
	struct db_stmt *s;
	int rc, custom;

	memset(c, 0, sizeof(*c));
	if (ctx->cl->npos != 1)
		return reg_usage(ctx);
	rc = control_lookup(ctx, ctx->cl->pos[0], id, &custom);
	if (rc < 0)
		return cmd_error(ctx, "database error");
	if (rc == 0)
		return cmd_error(ctx,
				 "no Annex A control \"%.20s\" (expected "
				 "an id like 5.15 or 8.7, or a custom "
				 "control's id: control list)",
				 ctx->cl->pos[0]);
	s = db_prepare(ctx->st,
		       "SELECT id, theme, title, applicable, status, "
		       "justification, COALESCE(owner_id, 0), notes, reason, "
		       "implementation, custom FROM controls WHERE id = ?",
		       "t", id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	rc = db_step(s);
	if (rc == DB_ROW) {
		snprintf(c->id, sizeof(c->id), "%s", db_col(s, 0));
		c->custom = (int)db_col_int(s, 10);
		control_obj(c->obj, c->id, c->custom);
		snprintf(c->theme, sizeof(c->theme), "%s", db_col(s, 1));
		snprintf(c->title, sizeof(c->title), "%s", db_col(s, 2));
		c->applicable = (int)db_col_int(s, 3);
		c->status = reg_one_of(db_col(s, 4), statuses, 3);
		if (!db_col_null(s, 5))
			c->justification = xstrdup(db_col(s, 5));
		c->owner_id = db_col_int(s, 6);
		if (!db_col_null(s, 7))
			c->notes = xstrdup(db_col(s, 7));
		if (!db_col_null(s, 8))
			c->reason = xstrdup(db_col(s, 8));
		if (!db_col_null(s, 9))
			c->implementation = xstrdup(db_col(s, 9));
	}
	db_finish(ctx->st, s);
	if (rc != DB_ROW)
		return cmd_error(ctx, "database error");
	return 0;
}

/*
 * reason=risk,legal as the stored list, in the order of reasons[] and
 * each once; NULL with an error reply naming the allowed ones.
 */
static char *
reason_parse(struct cmd_ctx *ctx, const char *v)
{
	char *copy = xstrdup(v), *tok, *save = NULL;
	struct buf b = {0};
	int seen[ARRAY_LEN(reasons)] = {0}, k, any = 0;
	size_t i;

	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		k = reg_one_of(tok, reasons, ARRAY_LEN(reasons));
		if (k < 0) {
			cmd_error(ctx,
				  "reason= must be risk, legal, contract or "
				  "business (or several: reason=risk,legal), "
				  "got \"%.20s\"",
				  tok);
			free(copy);
			return NULL;
		}
		seen[k] = any = 1;
	}
	free(copy);
	if (!any) {
		cmd_error(ctx, "reason= must be risk, legal, contract or "
			       "business");
		return NULL;
	}
	for (i = 0; i < ARRAY_LEN(reasons); i++)
		if (seen[i])
			buf_printf(&b, "%s%s", b.len ? "," : "", reasons[i]);
	return buf_steal(&b);
}

/* Linked risk treatments, one line each; the count, or -1. */
static int
linked_risks(struct cmd_ctx *ctx, const char *id, int list)
{
	struct db_stmt *s = db_prepare(
	    ctx->st,
	    "SELECT r.id, r.level, r.score, r.title, "
	    "COALESCE(r.treatment, 'untreated') FROM risk_controls rc "
	    "JOIN risks r ON r.id = rc.risk_id WHERE rc.control_id = ? "
	    "ORDER BY r.score DESC, r.id",
	    "t", id);
	int n = 0;

	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		if (list)
			cmd_reply(ctx, "\n  RSK-%lld [%s %d] %s (%s)",
				  (long long)db_col_int(s, 0), db_col(s, 1),
				  (int)db_col_int(s, 2), db_col(s, 3),
				  db_col(s, 4));
		n++;
	}
	db_finish(ctx->st, s);
	return n;
}

/*
 * The obligations (OBL-n) that need control id, when this database keeps
 * them (a link table obligation_controls): one line, or nothing.
 */
static int
linked_obligations(struct cmd_ctx *ctx, const char *id)
{
	struct db_stmt *s;
	int64_t have = 0;
	int n = 0;

	have = store_has_table(ctx->st, "obligation_controls");
	if (have < 0)
		return cmd_error(ctx, "database error");
	if (have == 0)
		return 0;
	s = db_prepare(ctx->st,
		       "SELECT obligation_id FROM obligation_controls WHERE "
		       "control_id = ? ORDER BY obligation_id",
		       "t", id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW)
		cmd_reply(ctx, "%sOBL-%lld", n++ ? ", " : "\nObligations: ",
			  (long long)db_col_int(s, 0));
	db_finish(ctx->st, s);
	return n;
}

struct mapped {
	const char *control;
	struct buf *out;
	const char *last; /* the article last written, to write each once */
};

static int
mapped_row(void *arg, const struct mapping_row *r)
{
	struct mapped *m = arg;

	if (strcmp(r->control, m->control) != 0 ||
	    (m->last != NULL && strcmp(m->last, r->article) == 0))
		return 0;
	buf_printf(m->out, "%s%s Art. %s %s", m->out->len ? "; " : "", r->label,
		   r->article, r->title);
	m->last = r->article;
	return 0;
}

/*
 * The points of NIS2 and GDPR (config/mappings/) an Annex A control
 * addresses, as one line; nothing for a control none maps to.
 */
static int
linked_frameworks(struct cmd_ctx *ctx, const char *id, int custom)
{
	struct buf b = {0};
	struct mapped m = {id, &b, NULL};
	const char *fw;
	char err[128];
	int i, rc = 0;

	for (i = 0; !custom && (fw = mapping_framework(i)) != NULL; i++) {
		m.last = NULL;
		if (mapping_each(fw, mapped_row, &m, err, sizeof(err)) < 0) {
			rc = cmd_error(ctx, "%s", err);
			break;
		}
	}
	if (rc == 0 && b.len > 0)
		cmd_reply(ctx, "\nMaps to: %s", buf_str(&b));
	buf_free(&b);
	return rc;
}

static int
control_show(struct cmd_ctx *ctx)
{
	struct control c;
	char *owner = NULL, *changed = NULL, state[96];
	const char *p;
	size_t len;
	int n, rc = -1, readers = has_role(&ctx->me, REG_READERS);

	if (control_arg(ctx, &c) < 0)
		return -1;
	owner = db_text(ctx->st, "SELECT handle FROM people WHERE id = ?", "i",
			c.owner_id);
	changed = db_text(ctx->st,
			  "SELECT date(c.updated_at, 'unixepoch') || ' by ' || "
			  "p.handle FROM controls c JOIN people p ON p.id = "
			  "c.updated_by WHERE c.id = ?",
			  "t", c.id);
	cmd_reply(ctx,
		  "%s %s (%s%s)\nApplicable: %s. Status: %s. Owner: %s.\n"
		  "Justification: %s\nNotes: %s\nLast changed: %s.\n"
		  "Linked risks:",
		  c.id, c.title, c.theme, c.custom ? ", custom" : "",
		  yes_no[c.applicable], statuses[c.status],
		  owner ? owner : "none",
		  c.justification ? c.justification : "-",
		  c.notes ? c.notes : "-", changed ? changed : "never");
	n = linked_risks(ctx, c.id, readers);
	if (n == 0)
		cmd_reply(ctx, " none");
	else if (n > 0 && !readers)
		cmd_reply(ctx,
			  " %d (details for risk owners, managers, "
			  "isms_managers and auditors)",
			  n);
	if (readers && n > 0)
		ctx->rp->confidential = 1;
	/* the reasons given, and risk treatment whenever risks use it */
	cmd_reply(ctx, "\nReason for inclusion: ");
	if (!c.applicable || c.reason == NULL)
		cmd_reply(ctx, "%s", c.applicable ? "-" : "- (not applicable)");
	/* stored "risk,legal", shown "risk, legal" */
	for (p = c.reason; c.applicable && p != NULL && *p; p += len) {
		len = strcspn(p, ",");
		cmd_reply(ctx, "%s%.*s", p == c.reason ? "" : ", ", (int)len,
			  p);
		if (p[len] == ',')
			len++;
	}
	if (c.applicable && n > 0 &&
	    (c.reason == NULL || strstr(c.reason, "risk") == NULL))
		cmd_reply(ctx, "%srisk treatment (%d linked risk%s)",
			  c.reason ? "; " : " ", n, n == 1 ? "" : "s");
	cmd_reply(ctx, "\nImplementation: %s",
		  c.implementation ? c.implementation : "-");
	if (n < 0 || linked_obligations(ctx, c.id) < 0 ||
	    linked_frameworks(ctx, c.id, c.custom) < 0)
		goto out;
	cmd_reply(ctx, "\nEvidence:");
	if (evidence_control_write(ctx, c.id, readers) < 0 ||
	    soa_control_state(ctx, c.id, state, sizeof(state)) < 0)
		goto out;
	cmd_reply(ctx, "\nSoA: %s.", state);
	rc = 0;
out:
	free(owner);
	free(changed);
	control_free(&c);
	return rc;
}

static int
control_set(struct cmd_ctx *ctx)
{
	struct control c;
	struct person owner;
	const char *just = NULL, *notes = NULL, *impl = NULL, *rtext;
	char *old_owner = NULL, *reason = NULL, *subject = NULL, state[96];
	json_t *changes = json_object();
	int applicable, status, r, rc = -1;

	if (control_arg(ctx, &c) < 0)
		goto out;
	if (ctx->cl->nkv == 0) {
		rc = reg_usage(ctx);
		goto out;
	}
	if (reg_may_change(ctx, c.owner_id, c.obj, "owner") < 0)
		goto out;
	applicable = c.applicable;
	status = c.status;
	just = c.justification;
	notes = c.notes;
	impl = c.implementation;
	owner.id = c.owner_id;
	if (reg_key_enum(ctx, "applicable", yes_no, 2, 0, &applicable) < 0 ||
	    reg_key_enum(ctx, "status", statuses, 3, 0, &status) < 0 ||
	    reg_key_text(ctx, "justification", REG_TEXT_MAX, 0, &just) < 0 ||
	    reg_key_text(ctx, "notes", REG_TEXT_MAX, 0, &notes) < 0 ||
	    reg_key_text(ctx, "implementation", REG_TEXT_MAX, 0, &impl) < 0 ||
	    reg_key_text(ctx, "reason", 64, 0, &rtext) < 0)
		goto out;
	if (cmd_key(ctx, "reason") != NULL) {
		reason = reason_parse(ctx, cmd_key(ctx, "reason"));
		if (reason == NULL)
			goto out;
	} else if (c.reason != NULL) {
		reason = xstrdup(c.reason);
	}
	/*
	 * The Statement of Applicability is the isms_managers' (clause
	 * 6.1.3 d): whether a control applies, and why, changes only by them
	 * and always with a justification; owners record status and notes.
	 */
	if ((applicable != c.applicable ||
	     cmd_key(ctx, "justification") != NULL ||
	     cmd_key(ctx, "reason") != NULL) &&
	    !has_role(&ctx->me, ROLE_ISMS_MANAGER)) {
		rc = cmd_error(ctx,
			       "not allowed: only an isms_manager decides "
			       "whether %s applies and why (the Statement of "
			       "Applicability); as its owner you set status=, "
			       "implementation= and notes=",
			       c.id);
		goto out;
	}
	/* a reason says why a control is in; an excluded one has none */
	if (!applicable && cmd_key(ctx, "reason") != NULL) {
		rc = cmd_error(ctx,
			       "reason= says why an applicable control is "
			       "included; %s is not applicable (its "
			       "justification says why it is excluded)",
			       c.id);
		goto out;
	}
	if (!applicable) {
		free(reason);
		reason = NULL;
	}
	if (applicable != c.applicable &&
	    str_is_blank(cmd_key(ctx, "justification"))) {
		rc = cmd_error(ctx,
			       "applicable=%s needs a justification in the "
			       "same command (justification=\"why the control "
			       "is %s\")",
			       yes_no[applicable],
			       applicable ? "included" : "excluded");
		goto out;
	}
	if (cmd_key(ctx, "owner") != NULL) {
		if (!has_role(&ctx->me, ROLE_ISMS_MANAGER)) {
			rc = cmd_error(ctx, "not allowed: only an isms_manager "
					    "may give a control an owner");
			goto out;
		}
		if (reg_key_person(ctx, "owner", &owner) < 0)
			goto out;
	}
	if (!applicable && str_is_blank(just)) {
		rc = cmd_error(ctx, "applicable=no needs a justification "
				    "(justification=\"why the control is "
				    "excluded\")");
		goto out;
	}
	if (!applicable && c.applicable) {
		r = linked_risks(ctx, c.id, 0);
		if (r != 0) {
			if (r > 0)
				rc =
				    cmd_error(ctx,
					      "control %s is used by %d "
					      "risk treatment%s (control "
					      "show %s); change them "
					      "first",
					      c.id, r, r == 1 ? "" : "s", c.id);
			goto out;
		}
	}
	old_owner = db_text(ctx->st, "SELECT handle FROM people WHERE id = ?",
			    "i", c.owner_id);
	reg_diff(changes, "applicable", yes_no[c.applicable],
		 yes_no[applicable]);
	reg_diff(changes, "status", statuses[c.status], statuses[status]);
	reg_diff(changes, "justification", c.justification, just);
	reg_diff(changes, "notes", c.notes, notes);
	reg_diff(changes, "reason", c.reason, reason);
	reg_diff(changes, "implementation", c.implementation, impl);
	if (owner.id != c.owner_id)
		reg_diff(changes, "owner", old_owner, owner.handle);
	if (json_object_size(changes) == 0) {
		rc =
		    cmd_error(ctx, "control %s already has these values", c.id);
		goto out;
	}
	if (db_exec(ctx->st,
		    "UPDATE controls SET applicable = ?, status = ?, "
		    "justification = ?, notes = ?, owner_id = NULLIF(?, 0), "
		    "updated_by = ?, updated_at = ?, reason = ?, "
		    "implementation = ? WHERE id = ?",
		    "itttiiittt", (int64_t)applicable, statuses[status], just,
		    notes, owner.id, ctx->me.id, ctx->now, reason, impl,
		    c.id) < 0 ||
	    cmd_audit(ctx, "control.set", c.obj,
		      json_pack("{s:O}", "changes", changes)) < 0)
		goto out;
	if (owner.id != c.owner_id) {
		subject = xasprintf("You own control %s %s in the Statement of "
				    "Applicability: keep its status, "
				    "implementation and evidence current "
				    "(control show %s)",
				    c.obj, c.title, c.id);
		if (reg_tell(ctx, owner.id, subject, subject) < 0)
			goto out;
	}
	cmd_reply(ctx, "Control %s %s: applicable %s, status %s.", c.id,
		  c.title, yes_no[applicable], statuses[status]);
	r = soa_control_state(ctx, c.id, state, sizeof(state));
	if (r < 0)
		goto out;
	if (r == 1)
		cmd_reply(ctx, " SoA: %s; soa approve by top management.",
			  state);
	rc = 0;
out:
	json_decref(changes);
	free(old_owner);
	free(reason);
	free(subject);
	control_free(&c);
	return rc;
}

static int
control_list(struct cmd_ctx *ctx)
{
	struct db_stmt *s;
	int theme = -1, status = -1, applicable = -1, n = 0;
	int64_t counts[4] = {0}; /* not applicable, not_started, partial,
				    implemented */

	if (ctx->cl->npos != 0)
		return reg_usage(ctx);
	if (reg_key_enum(ctx, "theme", themes, 4, 0, &theme) < 0 ||
	    reg_key_enum(ctx, "status", statuses, 3, 0, &status) < 0 ||
	    reg_key_enum(ctx, "applicable", yes_no, 2, 0, &applicable) < 0)
		return -1;
	s = db_prepare(ctx->st,
		       "SELECT c.id, c.title, c.applicable, c.status, "
		       "COALESCE(p.handle, '-'), c.custom FROM controls c "
		       "LEFT JOIN "
		       "people p ON p.id = c.owner_id WHERE (?1 IS NULL OR "
		       "c.theme = ?1) AND (?2 IS NULL OR c.status = ?2) AND "
		       "(?3 < 0 OR c.applicable = ?3) ORDER BY c.seq",
		       "tti", theme >= 0 ? themes[theme] : NULL,
		       status >= 0 ? statuses[status] : NULL,
		       (int64_t)applicable);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	while (db_step(s) == DB_ROW) {
		int app = (int)db_col_int(s, 2);
		int st = reg_one_of(db_col(s, 3), statuses, 3);

		counts[app ? st + 1 : 0]++;
		cmd_reply(ctx, "%s%-5s [%s] %s (owner %s%s)", n ? "\n" : "",
			  db_col(s, 0), app ? statuses[st] : "not applicable",
			  db_col(s, 1), db_col(s, 4),
			  db_col_int(s, 5) ? "; custom" : "");
		n++;
	}
	db_finish(ctx->st, s);
	if (n == 0) {
		cmd_reply(ctx, "No controls match.");
		return 0;
	}
	cmd_reply(ctx,
		  "\n%d control%s: %lld implemented, %lld partial, %lld "
		  "not started, %lld not applicable.",
		  n, n == 1 ? "" : "s", (long long)counts[3],
		  (long long)counts[2], (long long)counts[1],
		  (long long)counts[0]);
	return 0;
}

/*
 * A custom id: letters, digits, dots and dashes, starting with a letter
 * so that it can never be (or later become) an Annex A id, and not
 * "A.": that prefix names Annex A.
 */
static int
custom_id_ok(const char *id)
{
	size_t i, n = strlen(id);

	if (n == 0 || n > CONTROL_ID_MAX || !isalpha((unsigned char)id[0]) ||
	    strncasecmp(id, "A.", 2) == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '.' &&
		    id[i] != '-')
			return 0;
	return 1;
}

static int
control_add(struct cmd_ctx *ctx)
{
	char id[CONTROL_ID_MAX + 1], found[16], *title = NULL;
	int theme = 0, custom, rc = -1;
	int64_t seq;
	size_t i;

	if (ctx->cl->npos < 2)
		return reg_usage(ctx);
	if (!custom_id_ok(ctx->cl->pos[0]))
		return cmd_error(ctx,
				 "a custom control's id is a letter followed "
				 "by letters, digits, dots or dashes, at most "
				 "%d characters, not starting with A. (like "
				 "X.1 or ORG-1), got \"%.20s\"",
				 CONTROL_ID_MAX, ctx->cl->pos[0]);
	/* ids in capitals: "org-1" and "ORG-1" are the same control */
	for (i = 0; ctx->cl->pos[0][i]; i++)
		id[i] = (char)toupper((unsigned char)ctx->cl->pos[0][i]);
	id[i] = '\0';
	rc = control_lookup(ctx, id, found, &custom);
	if (rc != 0) {
		if (rc > 0)
			cmd_error(ctx,
				  "control %s already exists (control show %s)",
				  found, found);
		else
			cmd_error(ctx, "database error");
		return -1;
	}
	rc = -1;
	title = reg_text(ctx, 1, REG_NAME_MAX, "a title");
	if (title == NULL)
		return -1;
	if (reg_key_enum(ctx, "theme", themes, 4, 0, &theme) < 0)
		goto out;
	/* after the 93 of Annex A, in the order they were added */
	if (db_int(ctx->st, &seq,
		   "SELECT CASE WHEN MAX(seq) > 1000 THEN MAX(seq) + 1 WHEN "
		   "MAX(seq) IS NOT NULL THEN 1001 END FROM controls",
		   NULL) != 1 ||
	    db_exec(ctx->st,
		    "INSERT INTO controls(id, seq, theme, title, custom, "
		    "updated_by, updated_at) VALUES (?,?,?,?,1,?,?)",
		    "tittii", id, seq, themes[theme], title, ctx->me.id,
		    ctx->now) != 1 ||
	    cmd_audit(ctx, "control.add", id,
		      json_pack("{s:s,s:s,s:b}", "title", title, "theme",
				themes[theme], "custom", 1)) < 0) {
		cmd_error(ctx, "database error");
		goto out;
	}
	cmd_reply(ctx,
		  "Custom control %s added: %s (%s), applicable, status "
		  "not_started. It is a draft change of the SoA until "
		  "soa approve.",
		  id, title, themes[theme]);
	rc = 0;
out:
	free(title);
	return rc;
}

static const struct cmd_entry control_commands[] = {
    {
	.verb = "list",
	.flags = CMD_READONLY,
	.keys = "theme,status,applicable",
	.usage = "[theme=organizational|people|physical|technological] "
		 "[status=not_started|partial|implemented] [applicable=yes|no]",
	.help = "the Statement of Applicability (93 Annex A controls and "
		"custom ones)",
	.exec = control_list,
    },
    {
	.verb = "show",
	.flags = CMD_READONLY,
	.usage = "5.15",
	.help = "a control, its status, the risks it treats, its evidence "
		"and whether it is as approved in the SoA",
	.exec = control_show,
    },
    {
	.verb = "add",
	.roles = ROLE_ISMS_MANAGER,
	.keys = "theme",
	.usage = "<id> <title> "
		 "[theme=organizational|people|physical|technological]",
	.help = "a custom control of the organisation's own (id like X.1 "
		"or ORG-1)",
	.exec = control_add,
    },
    {
	.verb = "set",
	.keys = "applicable,status,justification,notes,owner,reason,"
		"implementation",
	.usage = "5.15 [applicable=yes|no justification=...] "
		 "[reason=risk|legal|contract|business] "
		 "[status=not_started|partial|implemented] "
		 "[implementation=...] [notes=...] [owner=@h]",
	.help = "status, implementation and notes (the control's owner or "
		"an isms_manager); applicability with its justification, the "
		"reason for inclusion and the owner (isms_manager)",
	.exec = control_set,
    },
    {0},
};

const struct cmd_object control_object = {
    .name = "control",
    .help = "the Statement of Applicability (Annex A controls)",
    .commands = control_commands,
};
