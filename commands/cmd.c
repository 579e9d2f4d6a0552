/*
 * Command dispatch: sender resolution, the command table, role checks,
 * help, one transaction per command, and the helpers every object file
 * uses to reply, audit and notify.
 */
#include "cmd.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/log.h"

/* Every command object; adding an object is adding a line here. */
static const struct cmd_object *const cmd_objects[] = {
    &incident_object,	&approval_object, &asset_object,     &risk_object,
    &control_object,	&action_object,	  &doc_object,	     &audit_object,
    &review_object,	&scope_object,	  &objective_object, &report_object,
    &quiz_object,	&staff_object,	  &context_object,   &party_object,
    &obligation_object, &training_object, &evidence_object,  &soa_object,
    &supplier_object,	&export_object,	  &finding_object,   &portal_object,
};

/* Iterates over every entry of every object. */
#define FOREACH_ENTRY(o, e, i)                                                 \
	for ((i) = 0; (i) < ARRAY_LEN(cmd_objects); (i)++)                     \
		for ((o) = cmd_objects[i], (e) = (o)->commands; (e)->exec;     \
		     (e)++)

const char *
cmd_words(const struct cmd_ctx *ctx, char *out, size_t len)
{
	const struct cmd_entry *e = ctx->entry;

	if (ctx->object->toplevel)
		snprintf(out, len, "%s", e->verb);
	else
		snprintf(out, len, "%s%s%s", ctx->object->name,
			 e->verb ? " " : "", e->verb ? e->verb : "");
	return out;
}

void
reply_free(struct isms_reply *rp)
{
	if (rp == NULL)
		return;
	buf_free(&rp->text);
	buf_free(&rp->notices);
}

int
cmd_error(struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	buf_reset(&ctx->rp->text);
	va_start(ap, fmt);
	buf_vprintf(&ctx->rp->text, fmt, ap);
	va_end(ap);
	ctx->rp->error = 1;
	return -1;
}

void
cmd_reply(struct cmd_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&ctx->rp->text, fmt, ap);
	va_end(ap);
}

const char *
cmd_key(struct cmd_ctx *ctx, const char *key)
{
	return cmdline_get(ctx->cl, key);
}

int
has_role(const struct person *p, unsigned roles)
{
	return (p->roles & roles) != 0;
}

int
auditor_only(const struct person *p)
{
	return has_role(p, ROLE_AUDITOR) && !has_role(p, ROLES_ELEVATED);
}

void
cmd_date(int64_t t, char out[16])
{
	if (t == 0)
		snprintf(out, 16, "-");
	else
		time_date(t, out);
}

int
cmd_parse_id(struct cmd_ctx *ctx, const char *word, const char *prefix,
	     int64_t *id)
{
	size_t pl = strlen(prefix);
	const char *num = word;
	long v;

	if (strncasecmp(word, prefix, pl) == 0 && word[pl] == '-')
		num = word + pl + 1;
	if (parse_int(num, 1, 999999999, &v) < 0)
		return cmd_error(ctx, "expected an id like %s-1, got \"%.40s\"",
				 prefix, word);
	*id = v;
	return 0;
}

int
cmd_pos_id(struct cmd_ctx *ctx, size_t i, const char *prefix, int64_t *id)
{
	char words[64];

	if (i >= ctx->cl->npos)
		return cmd_error(ctx, "usage: %s %s",
				 cmd_words(ctx, words, sizeof(words)),
				 ctx->entry->usage);
	return cmd_parse_id(ctx, ctx->cl->pos[i], prefix, id);
}

int
cmd_person(struct cmd_ctx *ctx, const char *ref, struct person *out)
{
	char tmp[256];
	const char *kind = "handle", *v = ref;
	int rc;

	if (ref == NULL || *ref == '\0')
		return cmd_error(ctx, "expected a person (@handle)");
	if (strncmp(ref, "<@", 2) == 0) {
		size_t n = strcspn(ref + 2, "|>");

		if (n == 0 || n >= sizeof(tmp))
			return cmd_error(ctx, "malformed mention %.40s", ref);
		memcpy(tmp, ref + 2, n);
		tmp[n] = '\0';
		kind = "slack";
		v = tmp;
	} else if (ref[0] == '@' && strchr(ref, ':') != NULL) {
		kind = "matrix";
	} else if (ref[0] != '@' && strchr(ref, '@') != NULL) {
		kind = "email";
	} else if (ref[0] == '@') {
		v = ref + 1;
	}
	rc = store_person_find(ctx->st, kind, v, out);
	if (rc < 0)
		return cmd_error(ctx, "database error");
	if (rc == 0)
		return cmd_error(ctx, "no person %.80s in the directory", ref);
	return 0;
}

int
cmd_hidden(struct cmd_ctx *ctx, const char *obj, const char *noun,
	   const char *who_sees)
{
	return cmd_error(ctx, "%s: no such %s that you may see (%s)", obj, noun,
			 who_sees);
}

int
cmd_assignee(struct cmd_ctx *ctx, const char *ref, const char *what,
	     struct person *out)
{
	if (cmd_person(ctx, ref, out) < 0)
		return -1;
	/* a leaver answers for nothing new (the lookup finds only the
	   active today; the rule stands here whatever it finds) */
	if (!out->active)
		return cmd_error(ctx,
				 "not allowed: %s has left and cannot be made "
				 "%s",
				 out->handle, what);
	if (auditor_only(out))
		return cmd_error(ctx,
				 "not allowed: %s is an auditor and cannot be "
				 "made %s (auditors stay independent of what "
				 "they audit)",
				 out->handle, what);
	return 0;
}

struct json_key {
	const char *key;
	size_t len;
	json_t *value;
};

/* The order json_dumps sorts keys in. */
static int
json_key_cmp(const void *a, const void *b)
{
	const struct json_key *x = a, *y = b;
	int r = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	if (r != 0)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

/*
 * Appends j compactly; -1 for what only json_dumps writes (reals, text
 * that is not UTF-8).
 */
static int
json_put(struct buf *b, json_t *j, int sorted)
{
	struct json_key *keys;
	size_t i, n;
	void *it;
	int rc = 0;

	switch (json_typeof(j)) {
	case JSON_NULL:
		buf_add(b, "null", 4);
		return 0;
	case JSON_TRUE:
		buf_add(b, "true", 4);
		return 0;
	case JSON_FALSE:
		buf_add(b, "false", 5);
		return 0;
	case JSON_INTEGER:
		buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return 0;
	case JSON_STRING:
		if (!str_valid_utf8(json_string_value(j),
				    json_string_length(j)))
			return -1;
		buf_put_json(b, json_string_value(j), json_string_length(j));
		return 0;
	case JSON_ARRAY:
		buf_putc(b, '[');
		for (i = 0; rc == 0 && i < json_array_size(j); i++) {
			if (i > 0)
				buf_putc(b, ',');
			rc = json_put(b, json_array_get(j, i), sorted);
		}
		buf_putc(b, ']');
		return rc;
	case JSON_OBJECT:
		n = json_object_size(j);
		keys = xcalloc(n ? n : 1, sizeof(*keys));
		for (i = 0, it = json_object_iter(j); it != NULL && i < n;
		     i++, it = json_object_iter_next(j, it)) {
			keys[i].key = json_object_iter_key(it);
			keys[i].len = json_object_iter_key_len(it);
			keys[i].value = json_object_iter_value(it);
		}
		if (sorted)
			qsort(keys, i, sizeof(*keys), json_key_cmp);
		buf_putc(b, '{');
		for (n = i, i = 0; rc == 0 && i < n; i++) {
			if (i > 0)
				buf_putc(b, ',');
			if (!str_valid_utf8(keys[i].key, keys[i].len)) {
				rc = -1;
				break;
			}
			buf_put_json(b, keys[i].key, keys[i].len);
			buf_putc(b, ':');
			rc = json_put(b, keys[i].value, sorted);
		}
		buf_putc(b, '}');
		free(keys);
		return rc;
	default:
		return -1;
	}
}

char *
cmd_json_text(json_t *j, int sorted)
{
	struct buf b = {0};

	if (j == NULL)
		return NULL;
	if (json_put(&b, j, sorted) < 0) {
		buf_free(&b);
		return json_dumps(j,
				  JSON_COMPACT | (sorted ? JSON_SORT_KEYS : 0));
	}
	return buf_steal(&b);
}

int
cmd_audit(struct cmd_ctx *ctx, const char *action, const char *object,
	  json_t *details)
{
	char *text = NULL;
	int rc;

	if (details != NULL) {
		json_object_set_new(
		    details, "via",
		    json_string(ctx->rq ? ctx->rq->via : "internal"));
		text = cmd_json_text(details, 1);
		json_decref(details);
	}
	rc = store_audit(ctx->st, ctx->me.handle, action, object, text);
	free(text);
	return rc;
}

int64_t
cmd_notify(struct cmd_ctx *ctx, const struct person *to, enum msg_kind kind,
	   const char *subject, const char *body, json_t *payload)
{
	char *p = NULL;
	int64_t id;

	/* a leaver is told nothing more */
	if (!to->active) {
		json_decref(payload);
		return 0;
	}
	if (payload != NULL) {
		p = cmd_json_text(payload, 0);
		json_decref(payload);
	}
	id = store_outbox_add(ctx->st, to->id, NULL, msg_kind_name(kind),
			      subject, body, NULL, p);
	free(p);
	/* a campaign to 100,000 people lists the first few */
	if (id > 0 && ctx->rp->nnotices++ < REPLY_NOTICES_SHOWN)
		buf_printf(&ctx->rp->notices, "-> %s: %s\n", to->handle,
			   subject);
	return id;
}

int
cmd_notify_role(struct cmd_ctx *ctx, unsigned role, int64_t skip_id,
		enum msg_kind kind, const char *subject, const char *body)
{
	return cmd_notify_role_payload(ctx, role, skip_id, kind, subject, body,
				       NULL);
}

int
cmd_notify_role_payload(struct cmd_ctx *ctx, unsigned role, int64_t skip_id,
			enum msg_kind kind, const char *subject,
			const char *body, const json_t *payload)
{
	struct db_stmt *s;
	int64_t ids[256];
	size_t n = 0, i;

	s = db_prepare(
	    ctx->st,
	    "SELECT id FROM people WHERE active <> 0 AND (roles & ?) != 0 "
	    "AND id != ? ORDER BY handle LIMIT 256",
	    "ii", (int64_t)role, skip_id);
	if (s == NULL)
		return -1;
	while (db_step(s) == DB_ROW)
		ids[n++] = db_col_int(s, 0);
	db_finish(ctx->st, s);
	for (i = 0; i < n; i++) {
		struct person p;

		if (store_person_by_id(ctx->st, ids[i], &p) != 1 ||
		    cmd_notify(ctx, &p, kind, subject, body,
			       payload ? json_deep_copy(payload) : NULL) < 0)
			return -1;
	}
	return 0;
}

int
cmd_management(struct cmd_ctx *ctx, int64_t *ids, size_t max)
{
	static const char *const q[] = {
	    "SELECT id FROM people WHERE active <> 0 AND (roles & ?) != 0 "
	    "ORDER BY handle",
	    "SELECT p.id FROM people p WHERE p.active <> 0 AND ? > 0 AND "
	    "p.manager_id IS NULL AND EXISTS (SELECT 1 FROM people r WHERE "
	    "r.manager_id = p.id AND r.active <> 0) ORDER BY p.handle",
	};
	size_t k, n = 0;

	for (k = 0; k < ARRAY_LEN(q) && n == 0; k++) {
		struct db_stmt *s =
		    db_prepare(ctx->st, q[k], "i", (int64_t)ROLE_MANAGEMENT);

		if (s == NULL)
			return -1;
		while (n < max && db_step(s) == DB_ROW)
			ids[n++] = db_col_int(s, 0);
		db_finish(ctx->st, s);
	}
	return (int)n;
}

int
cmd_notify_ids(struct cmd_ctx *ctx, const int64_t *ids, size_t n,
	       int64_t skip_id, enum msg_kind kind, const char *subject,
	       const char *body)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		struct person p;
		int dup = ids[i] == skip_id || ids[i] <= 0;

		for (j = 0; j < i && !dup; j++)
			dup = ids[j] == ids[i];
		if (dup)
			continue;
		if (store_person_by_id(ctx->st, ids[i], &p) != 1 ||
		    cmd_notify(ctx, &p, kind, subject, body, NULL) < 0)
			return -1;
	}
	return 0;
}

static const char *
roles_needed(unsigned roles, char *out, size_t len)
{
	size_t n = 0;
	unsigned r;

	out[0] = '\0';
	for (r = 1; r <= ROLE_MANAGEMENT; r <<= 1)
		if (roles & r)
			n += (size_t)snprintf(out + n, n < len ? len - n : 0,
					      "%s%s", n ? " or " : "",
					      role_name((enum role)r));
	return out;
}

/*
 * The object a word names: an object's name, or a toplevel object's
 * verb (then *verb is that entry). NULL when none.
 */
static const struct cmd_object *
object_named(const char *word, const struct cmd_entry **verb)
{
	const struct cmd_object *o;
	const struct cmd_entry *e;
	size_t i;

	*verb = NULL;
	for (i = 0; i < ARRAY_LEN(cmd_objects); i++) {
		o = cmd_objects[i];
		if (!o->toplevel) {
			if (strcmp(o->name, word) == 0)
				return o;
			continue;
		}
		for (e = o->commands; e->exec; e++)
			if (strcmp(e->verb, word) == 0) {
				*verb = e;
				return o;
			}
	}
	return NULL;
}

static void
cmd_help(struct cmd_ctx *ctx, const char *word)
{
	const struct cmd_object *o;
	const struct cmd_entry *e, *only;
	size_t i;

	if (word != NULL && (o = object_named(word, &only)) != NULL) {
		if (only != NULL) {
			cmd_reply(ctx, "%s: %s\n  /isms %s %s\n", only->verb,
				  only->help, only->verb, only->usage);
			return;
		}
		cmd_reply(ctx, "%s: %s\n", o->name, o->help);
		for (e = o->commands; e->exec; e++)
			cmd_reply(ctx, "  /isms %s%s%s %s\n      %s\n", o->name,
				  e->verb ? " " : "", e->verb ? e->verb : "",
				  e->usage, e->help);
		return;
	}
	cmd_reply(ctx, "Commands: /isms <object> <verb> [text] [key=value]. "
		       "Shortcuts: /incident <text>, /risk ...\n");
	for (i = 0; i < ARRAY_LEN(cmd_objects); i++) {
		o = cmd_objects[i];
		if (!o->toplevel) {
			cmd_reply(ctx, "  %-10s %s\n", o->name, o->help);
			continue;
		}
		for (e = o->commands; e->exec; e++)
			if (*e->usage != '\0')
				cmd_reply(ctx, "  %-10s %s (%s %s)\n", e->verb,
					  e->help, e->verb, e->usage);
			else
				cmd_reply(ctx, "  %-10s %s\n", e->verb,
					  e->help);
	}
	cmd_reply(ctx, "Details: /isms help <object>");
}

/*
 * The entry for what was typed: an exact (object, verb), else the
 * object's entry without a verb, taking the verb as a word. A toplevel
 * object's verb is the first word; what follows is all words.
 */
static const struct cmd_entry *
cmd_lookup(struct cmd_ctx *ctx, int *object_known)
{
	struct cmdline *cl = ctx->cl;
	const struct cmd_object *o;
	const struct cmd_entry *e, *bare = NULL;

	*object_known = 0;
	o = object_named(cl->object, &e);
	if (o == NULL)
		return NULL;
	*object_known = 1;
	ctx->object = o;
	if (e != NULL) {
		cmdline_unshift_verb(cl);
		return e;
	}
	for (e = o->commands; e->exec; e++) {
		if (e->verb == NULL)
			bare = e;
		else if (cl->verb && strcmp(e->verb, cl->verb) == 0)
			return e;
	}
	if (bare != NULL)
		cmdline_unshift_verb(cl);
	return bare;
}

static void
verbs_of(const struct cmd_object *o, struct buf *b)
{
	const struct cmd_entry *e;

	for (e = o->commands; e->exec; e++)
		if (e->verb)
			buf_printf(b, "%s%s", b->len ? ", " : "", e->verb);
}

static int
check_keys(struct cmd_ctx *ctx)
{
	const char *keys = ctx->entry->keys ? ctx->entry->keys : "";
	size_t i;

	for (i = 0; i < ctx->cl->nkv; i++) {
		const char *k = ctx->cl->kv[i].key, *p = keys;
		size_t kl = strlen(k);
		int ok = 0;

		while (*p) {
			size_t n = strcspn(p, ",");

			if (n == kl && strncmp(p, k, n) == 0)
				ok = 1;
			p += n;
			if (*p == ',')
				p++;
		}
		if (!ok) {
			char words[64];

			cmd_words(ctx, words, sizeof(words));
			if (*keys)
				return cmd_error(ctx,
						 "unknown option %s= for %s "
						 "(takes: %s)",
						 k, words, keys);
			return cmd_error(ctx, "%s takes no key=value options",
					 words);
		}
		if (str_utf8_chars(ctx->cl->kv[i].value) > 2000)
			return cmd_error(
			    ctx, "%s= is too long (at most 2000 characters)",
			    k);
	}
	return 0;
}

/*
 * Auditors change nothing (ISO/IEC 27001 clause 9.2.2: objectivity and
 * impartiality): for a person whose only elevated role is auditor, a
 * command that is not read-only is refused here, whatever it is, except
 * recording findings of an audit they are the named auditor of.
 */
static int
auditor_may_write(struct cmd_ctx *ctx)
{
	const struct cmd_entry *e = ctx->entry;
	int64_t id, auditor = 0;
	char words[64];

	if ((e->flags & (CMD_READONLY | CMD_SELF)) || !auditor_only(&ctx->me))
		return 0;
	if ((e->flags & CMD_OWN_AUDIT) && ctx->cl->npos > 0 &&
	    cmd_parse_id(ctx, ctx->cl->pos[0], "AUD", &id) == 0 &&
	    db_int(ctx->st, &auditor,
		   "SELECT auditor_id FROM audits WHERE id = ?", "i",
		   id) == 1 &&
	    auditor == ctx->me.id)
		return 0;
	return cmd_error(ctx,
			 "not allowed: auditors read and change nothing; %s "
			 "is a change (an auditor records findings only of "
			 "an audit they are the named auditor of)",
			 cmd_words(ctx, words, sizeof(words)));
}

/* Parses, authorises and executes; the caller owns the transaction. */
static int
cmd_exec(struct cmd_ctx *ctx, const char *text)
{
	char err[256], need[128], words[64];
	int known, rc;

	if (cmdline_parse(text, ctx->cl, err, sizeof(err)) < 0)
		return cmd_error(ctx, "%s", err);
	if (ctx->cl->object == NULL) {
		cmd_help(ctx, NULL);
		return 0;
	}
	if (strcmp(ctx->cl->object, "help") == 0) {
		const struct cmd_entry *only;

		if (ctx->cl->verb != NULL &&
		    object_named(ctx->cl->verb, &only) == NULL)
			return cmd_error(ctx,
					 "unknown object \"%.40s\"; try /isms "
					 "help",
					 ctx->cl->verb);
		cmd_help(ctx, ctx->cl->verb);
		return 0;
	}
	if (ctx->cl->verb && strcmp(ctx->cl->verb, "help") == 0) {
		cmd_help(ctx, ctx->cl->object);
		return 0;
	}
	ctx->entry = cmd_lookup(ctx, &known);
	if (ctx->entry == NULL) {
		struct buf b = {0};

		if (!known)
			return cmd_error(ctx,
					 "unknown object \"%.40s\"; try /isms "
					 "help",
					 ctx->cl->object);
		verbs_of(ctx->object, &b);
		if (ctx->cl->verb == NULL)
			rc = cmd_error(ctx, "%s needs a verb: %s",
				       ctx->cl->object, buf_str(&b));
		else
			rc = cmd_error(
			    ctx,
			    "unknown verb \"%.40s\" for %s; expected "
			    "one of: %s",
			    ctx->cl->verb, ctx->cl->object, buf_str(&b));
		buf_free(&b);
		return rc;
	}
	if (ctx->entry->roles != 0 && !has_role(&ctx->me, ctx->entry->roles))
		return cmd_error(
		    ctx, "not allowed: %s needs the %s role",
		    cmd_words(ctx, words, sizeof(words)),
		    roles_needed(ctx->entry->roles, need, sizeof(need)));
	if (auditor_may_write(ctx) < 0 || check_keys(ctx) < 0)
		return -1;
	if (!(ctx->entry->flags & CMD_READONLY))
		return ctx->entry->exec(ctx);
	/* a read-only command cannot write, whatever its code does */
	if (store_query_only(ctx->st, 1) < 0)
		return cmd_error(ctx, "%s", store_error_reply(ctx->st));
	rc = ctx->entry->exec(ctx);
	store_query_only(ctx->st, 0);
	return rc;
}

int
cmd_run_as(struct store *st, const struct config *cfg, const struct person *who,
	   const char *text, struct isms_reply *rp)
{
	struct isms_request rq = {.via = "internal",
				  .id_kind = "handle",
				  .id = who->handle,
				  .text = text};
	struct cmdline cl = {0};
	struct cmd_ctx ctx = {.st = st,
			      .cfg = cfg,
			      .rq = &rq,
			      .cl = &cl,
			      .rp = rp,
			      .me = *who,
			      .now = store_now(st)};
	int rc;

	rc = cmd_exec(&ctx, text);
	cmdline_free(&cl);
	return rc;
}

static void
mark_seen(struct store *st, const struct isms_request *rq)
{
	if (rq->event_id == NULL)
		return;
	if (store_begin(st) == 0) {
		if (store_inbox_seen(st, rq->via, rq->event_id) < 0 ||
		    store_commit(st) < 0)
			store_rollback(st);
	}
}

int
cmd_run(struct store *st, const struct config *cfg,
	const struct isms_request *rq, struct isms_reply *rp)
{
	struct cmdline cl = {0};
	struct cmd_ctx ctx = {
	    .st = st, .cfg = cfg, .rq = rq, .cl = &cl, .rp = rp};
	int rc, found, failed;

	if (store_begin(st) < 0) {
		buf_puts(&rp->text, store_error_reply(st));
		rp->error = 1;
		return -1;
	}
	ctx.now = store_now(st);
	if (rq->event_id != NULL) {
		rc = store_inbox_seen(st, rq->via, rq->event_id);
		if (rc != 0) {
			store_rollback(st);
			rp->duplicate = rc == 1;
			rp->error = rc < 0;
			return rc < 0 ? -1 : 0;
		}
	}
	found = store_person_find(st, rq->id_kind, rq->id, &ctx.me);
	if (found != 1) {
		store_rollback(st);
		log_info("refused a %s request from unknown %s identity %.80s",
			 rq->via, rq->id_kind, rq->id ? rq->id : "");
		buf_puts(
		    &rp->text,
		    "Sorry, you are not in the ISMS directory, so I cannot "
		    "act on this. Please ask your ISMS administrator to "
		    "add you.");
		rp->error = 1;
		rp->unknown = 1;
		mark_seen(st, rq);
		return -1;
	}
	rc = cmd_exec(&ctx, rq->text);
	if (rc == 0 && store_commit(st) == 0) {
		cmdline_free(&cl);
		return 0;
	}
	/* a full disk or a damaged file is named, never called "busy" */
	failed = store_failed(st);
	if (failed) {
		buf_reset(&rp->text);
		buf_puts(&rp->text, store_error_reply(st));
		rp->error = 1;
	}
	store_rollback(st);
	cmdline_free(&cl);
	if (!rp->error) {
		buf_reset(&rp->text);
		buf_puts(&rp->text, "internal error: nothing was changed");
		rp->error = 1;
	}
	buf_reset(&rp->notices);
	rp->nnotices = 0;
	/*
	 * A refusal is final and its event seen; a store that failed (busy,
	 * full, unreachable) stored nothing, and the sender's retry of the
	 * same event must be run, not dropped as a duplicate.
	 */
	if (!failed)
		mark_seen(st, rq);
	return -1;
}
