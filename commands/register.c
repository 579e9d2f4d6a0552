/*
 * Helpers shared by the register commands: one loader for every numbered
 * object, the "owner or isms_manager" rule and option validation.
 */
#include "register.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Each numbered object: its prefix, its name and (owner, title, status). */
static const struct reg_kind {
	const char *prefix;
	const char *noun;
	const char *sql;
} reg_kinds[] = {
    {"AST", "asset",
     "SELECT owner_id, name, classification FROM assets WHERE id = ?"},
    {"RSK", "risk",
     "SELECT owner_id, title, COALESCE(treatment, 'untreated') FROM risks "
     "WHERE id = ?"},
    {"ACT", "action",
     "SELECT owner_id, text, status FROM actions WHERE id = ?"},
    {"DOC", "document", "SELECT owner_id, title, '' FROM docs WHERE id = ?"},
    {"AUD", "audit",
     "SELECT auditor_id, scope, status FROM audits WHERE id = ?"},
    {"FND", "finding",
     "SELECT a.auditor_id, f.text, f.status FROM findings f JOIN audits a "
     "ON a.id = f.audit_id WHERE f.id = ?"},
    {"MR", "management review",
     "SELECT 0, 'management review of ' || date(planned_at, 'unixepoch'), "
     "status FROM reviews WHERE id = ?"},
    {"OBJ", "objective",
     "SELECT created_by, text, status FROM objectives WHERE id = ?"},
    {"TRN", "training record",
     "SELECT person_id, course, '' FROM training WHERE id = ?"},
    {"INC", "incident",
     "SELECT COALESCE(handler_id, 0), title, status FROM incidents "
     "WHERE id = ?"},
    {"CTX", "context issue",
     "SELECT 0, text, status FROM context_issues WHERE id = ?"},
    {"PTY", "interested party", "SELECT 0, name, '' FROM parties WHERE id = ?"},
    {"OBL", "obligation",
     "SELECT owner_id, title, source FROM obligations WHERE id = ?"},
    {"EV", "evidence",
     "SELECT owner_id, title, ref_kind || ' ' || ref_id FROM "
     "evidence_items WHERE id = ?"},
    {"SUP", "supplier",
     "SELECT owner_id, name, status FROM suppliers WHERE id = ?"},
};

static const struct reg_kind *
kind_find(const char *prefix, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(reg_kinds); i++)
		if (strlen(reg_kinds[i].prefix) == len &&
		    strncasecmp(reg_kinds[i].prefix, prefix, len) == 0)
			return &reg_kinds[i];
	return NULL;
}

/* Copies at most len - 1 bytes, never cutting a UTF-8 sequence. */
static void
copy_cut(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len) {
		n = len - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void
reg_obj(char out[32], const char *prefix, int64_t id)
{
	snprintf(out, 32, "%s-%lld", prefix, (long long)id);
}

int
reg_load(struct cmd_ctx *ctx, const char *prefix, int64_t id,
	 struct reg_ref *out)
{
	const struct reg_kind *k = kind_find(prefix, strlen(prefix));
	struct db_stmt *s;
	int rc;

	if (k == NULL)
		return cmd_error(ctx, "internal error: no object kind %s",
				 prefix);
	memset(out, 0, sizeof(*out));
	out->prefix = k->prefix;
	out->noun = k->noun;
	out->id = id;
	reg_obj(out->obj, k->prefix, id);
	s = db_prepare(ctx->st, k->sql, "i", id);
	if (s == NULL)
		return cmd_error(ctx, "database error");
	rc = db_step(s);
	if (rc == DB_ROW) {
		out->owner_id = db_col_int(s, 0);
		copy_cut(out->title, sizeof(out->title), db_col(s, 1));
		copy_cut(out->status, sizeof(out->status), db_col(s, 2));
	}
	db_finish(ctx->st, s);
	/* the same answer as incident show: no probing of others' incidents */
	if (strcmp(k->prefix, "INC") == 0 &&
	    (rc != DB_ROW || !incident_visible(ctx, id)))
		return cmd_hidden(ctx, out->obj, k->noun, INCIDENT_SEERS);
	if (rc != DB_ROW)
		return cmd_error(ctx, "no %s %s", k->noun, out->obj);
	return 0;
}

int
reg_arg(struct cmd_ctx *ctx, size_t i, const char *prefix, struct reg_ref *out)
{
	int64_t id;

	if (cmd_pos_id(ctx, i, prefix, &id) < 0)
		return -1;
	return reg_load(ctx, prefix, id, out);
}

int
reg_arg_seen(struct cmd_ctx *ctx, size_t i, const char *prefix,
	     unsigned readers, const char *who_sees, struct reg_ref *out)
{
	int64_t id;
	int rc;

	if (cmd_pos_id(ctx, i, prefix, &id) < 0)
		return -1;
	rc = reg_load(ctx, prefix, id, out);
	if (has_role(&ctx->me, readers))
		return rc;
	if (rc < 0 || out->owner_id != ctx->me.id)
		return cmd_hidden(ctx, out->obj, out->noun, who_sees);
	return 0;
}

int
reg_load_ref(struct cmd_ctx *ctx, const char *word, const char *prefixes,
	     struct reg_ref *out)
{
	const char *dash = strchr(word, '-'), *p = prefixes;
	const struct reg_kind *k = NULL;
	int64_t id;

	while (dash != NULL && *p) {
		size_t n = strcspn(p, ",");

		if (n == (size_t)(dash - word) && strncasecmp(p, word, n) == 0)
			k = kind_find(word, n);
		p += n + (p[n] == ',');
	}
	if (k == NULL)
		return cmd_error(ctx,
				 "expected one of %s followed by -n (like "
				 "%.*s-1), got \"%.40s\"",
				 prefixes, (int)strcspn(prefixes, ","),
				 prefixes, word);
	if (cmd_parse_id(ctx, word, k->prefix, &id) < 0)
		return -1;
	return reg_load(ctx, k->prefix, id, out);
}

int
reg_may_change(struct cmd_ctx *ctx, int64_t owner_id, const char *obj,
	       const char *role)
{
	if (owner_id == ctx->me.id || has_role(&ctx->me, ROLE_ISMS_MANAGER))
		return 0;
	return cmd_error(ctx,
			 "not allowed: only the %s of %s or an isms_manager "
			 "may change it",
			 role, obj);
}

int
reg_may_own(struct cmd_ctx *ctx, const struct person *owner, const char *what)
{
	if (owner->id == ctx->me.id || has_role(&ctx->me, ROLE_ISMS_MANAGER))
		return 0;
	return cmd_error(ctx,
			 "not allowed: only an isms_manager may add %s owned "
			 "by someone else (%s)",
			 what, owner->handle);
}

int
reg_diff(json_t *changes, const char *field, const char *old,
	 const char *new_value)
{
	if (old == NULL)
		old = "";
	if (new_value == NULL)
		new_value = "";
	if (strcmp(old, new_value) == 0)
		return 0;
	json_object_set_new(changes, field, json_pack("[s,s]", old, new_value));
	return 1;
}

int
reg_diff_int(json_t *changes, const char *field, int64_t old, int64_t new_value)
{
	if (old == new_value)
		return 0;
	json_object_set_new(
	    changes, field,
	    json_pack("[I,I]", (json_int_t)old, (json_int_t)new_value));
	return 1;
}

/* "risk add <title> ..." into b. */
static void
usage_of(const struct cmd_ctx *ctx, struct buf *b)
{
	char words[64];

	buf_printf(b, "%s%s%s", cmd_words(ctx, words, sizeof(words)),
		   *ctx->entry->usage ? " " : "", ctx->entry->usage);
}

int
reg_period_after(struct cmd_ctx *ctx, const char *every, int64_t from,
		 int64_t *out)
{
	int count;
	char unit;

	if (config_period(every, &count, &unit) < 0 || count <= 0)
		return cmd_error(ctx, "review_every= must be a period like "
				      "12m, 6m, 1y, 2w or 30d");
	switch (unit) {
	case 'd':
		*out = from + (int64_t)count * 86400;
		break;
	case 'w':
		*out = from + (int64_t)count * 7 * 86400;
		break;
	case 'm':
		*out = time_add_months(from, count);
		break;
	default:
		*out = time_add_months(from, count * 12);
		break;
	}
	if (*out - from > (int64_t)REG_PERIOD_MAX_DAYS * 86400)
		return cmd_error(ctx, "review_every= must be at most 10 years");
	return 0;
}

int
reg_usage(struct cmd_ctx *ctx)
{
	struct buf b = {0};

	usage_of(ctx, &b);
	cmd_error(ctx, "usage: %s", buf_str(&b));
	buf_free(&b);
	return -1;
}

static int
missing(struct cmd_ctx *ctx, const char *key)
{
	struct buf b = {0};

	usage_of(ctx, &b);
	cmd_error(ctx, "missing %s= (usage: %s)", key, buf_str(&b));
	buf_free(&b);
	return -1;
}

int
reg_key_text(struct cmd_ctx *ctx, const char *key, size_t max, int required,
	     const char **out)
{
	const char *v = cmd_key(ctx, key);

	if (v == NULL)
		return required ? missing(ctx, key) : 0;
	if (str_is_blank(v) || strlen(v) > max)
		return cmd_error(ctx, "%s= must be 1 to %zu characters", key,
				 max);
	*out = v;
	return 1;
}

int
reg_key_int(struct cmd_ctx *ctx, const char *key, int min, int max,
	    int required, int *out)
{
	const char *v = cmd_key(ctx, key);
	long n;

	if (v == NULL)
		return required ? missing(ctx, key) : 0;
	if (parse_int(v, min, max, &n) < 0)
		return cmd_error(ctx,
				 "%s= must be a whole number from %d to %d",
				 key, min, max);
	*out = (int)n;
	return 1;
}

int
reg_key_date(struct cmd_ctx *ctx, const char *key, int required, int64_t *out)
{
	const char *v = cmd_key(ctx, key);

	if (v == NULL)
		return required ? missing(ctx, key) : 0;
	if (time_parse_date(v, out) < 0)
		return cmd_error(ctx,
				 "%s= must be a date YYYY-MM-DD, got "
				 "\"%.20s\"",
				 key, v);
	return 1;
}

int
reg_key_plan_date(struct cmd_ctx *ctx, const char *key, int required,
		  int64_t *out)
{
	int rc = reg_key_date(ctx, key, required, out);

	if (rc == 1 && reg_date_past(ctx, *out))
		return cmd_error(ctx,
				 "%s=%s is in the past: a plan needs today or "
				 "a later date",
				 key, cmd_key(ctx, key));
	return rc;
}

int
reg_date_past(const struct cmd_ctx *ctx, int64_t day)
{
	return day + 86400 <= ctx->now;
}

int
reg_one_of(const char *v, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(v, list[i]) == 0)
			return (int)i;
	return -1;
}

int
reg_key_enum(struct cmd_ctx *ctx, const char *key, const char *const *list,
	     size_t n, int required, int *out)
{
	const char *v = cmd_key(ctx, key);
	struct buf b = {0};
	size_t i;
	int rc;

	if (v == NULL)
		return required ? missing(ctx, key) : 0;
	*out = reg_one_of(v, list, n);
	if (*out >= 0)
		return 1;
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%s",
			   i == 0	? ""
			   : i + 1 == n ? " or "
					: ", ",
			   list[i]);
	rc = cmd_error(ctx, "%s= must be %s", key, buf_str(&b));
	buf_free(&b);
	return rc;
}

int
reg_key_person(struct cmd_ctx *ctx, const char *key, struct person *out)
{
	const char *v = cmd_key(ctx, key);

	if (v == NULL) {
		*out = ctx->me;
		return 0;
	}
	/* an audit names its auditor; everything else its owner */
	if (strcmp(key, "auditor") == 0)
		return cmd_person(ctx, v, out) < 0 ? -1 : 1;
	return cmd_assignee(ctx, v, "an owner", out) < 0 ? -1 : 1;
}

char *
reg_text(struct cmd_ctx *ctx, size_t from, size_t max, const char *what)
{
	char *text = cmdline_join(ctx->cl, from);

	if (str_is_blank(text)) {
		struct buf b = {0};

		usage_of(ctx, &b);
		cmd_error(ctx, "usage: %s (%s is required)", buf_str(&b), what);
		buf_free(&b);
	} else if (str_utf8_chars(text) > max) {
		cmd_error(ctx, "%s too long (at most %zu characters)", what,
			  max);
	} else {
		return text;
	}
	free(text);
	return NULL;
}

int
reg_tell(struct cmd_ctx *ctx, int64_t person_id, const char *subject,
	 const char *body)
{
	struct person p;

	if (person_id == 0 || person_id == ctx->me.id)
		return 0;
	if (store_person_by_id(ctx->st, person_id, &p) != 1)
		return -1;
	return cmd_notify(ctx, &p, MSG_REGISTER, subject, body, NULL) < 0 ? -1
									  : 0;
}
