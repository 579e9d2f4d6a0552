/*
 * Undelivered messages: a message is undelivered when every transport
 * that was tried refused it for good (or no transport reached the
 * recipient) and none is still trying. The outbox keeps the reason per
 * transport; the isms_managers get one digest a day, never a notice per
 * failure.
 */
#include "delivery.h"

#include <stdlib.h>
#include <string.h>

#include "../base/log.h"

#define DIGEST_SUBJECT_MAX 60
#define DIGEST_ERROR_MAX   120

/* Messages with a failed delivery and none pending or sent. */
#define UNDELIVERED_SQL                                                        \
	"SELECT DISTINCT d.outbox_id FROM outbox_delivery d WHERE d.status = " \
	"'failed' AND NOT EXISTS (SELECT 1 FROM outbox_delivery e WHERE "      \
	"e.outbox_id = d.outbox_id AND e.status != 'failed')"

int64_t
delivery_undelivered_count(struct store *st)
{
	int64_t n = 0;

	if (db_int(st, &n, "SELECT COUNT(*) FROM (" UNDELIVERED_SQL ") x",
		   NULL) < 0)
		return -1;
	return n;
}

/* Appends at most max bytes of s, cut on a character boundary, with "...". */
static void
put_short(struct buf *b, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max) {
		buf_puts(b, s);
		return;
	}
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	buf_add(b, s, n);
	buf_puts(b, "...");
}

/* One line of the digest for outbox message id. 0 or -1. */
static int
digest_line(struct cmd_ctx *ctx, int64_t id, struct buf *out)
{
	struct db_stmt *s;
	char when[40];
	int n = 0;

	s = db_prepare(ctx->st,
		       "SELECT o.kind, COALESCE(p.handle, o.address, '?'), "
		       "o.created_at, o.subject FROM outbox o LEFT JOIN people "
		       "p ON p.id = o.person_id WHERE o.id = ?",
		       "i", id);
	if (s == NULL || db_step(s) != DB_ROW) {
		db_finish(ctx->st, s);
		return -1;
	}
	tz_format(ctx->cfg->org_timezone, db_col_int(s, 2), when);
	buf_printf(out, "- message %lld, %s to %s, queued %s: \"",
		   (long long)id, db_col(s, 0), db_col(s, 1), when);
	put_short(out, db_col(s, 3), DIGEST_SUBJECT_MAX);
	buf_puts(out, "\"\n  tried: ");
	db_finish(ctx->st, s);
	s = db_prepare(ctx->st,
		       "SELECT transport, attempts, COALESCE(last_error, "
		       "'undeliverable') FROM outbox_delivery WHERE outbox_id "
		       "= ? ORDER BY id",
		       "i", id);
	if (s == NULL)
		return -1;
	while (db_step(s) == DB_ROW) {
		buf_printf(out, "%s%s (%d attempt%s): ", n++ ? "; " : "",
			   db_col(s, 0), (int)db_col_int(s, 1),
			   (int)db_col_int(s, 1) == 1 ? "" : "s");
		put_short(out, db_col(s, 2), DIGEST_ERROR_MAX);
	}
	db_finish(ctx->st, s);
	buf_puts(out, "\n");
	return 0;
}

int
delivery_job_digest(struct cmd_ctx *ctx, struct tz_work *w)
{
	struct buf body = {0};
	int64_t start, *ids = NULL, more = 0;
	char key[16], obj[32], *subject = NULL;
	size_t n = 0, i;
	json_t *payload = NULL;
	int rc;

	if (nudge_period(ctx, "1d", &start, key) != 1)
		return -1;
	/* one a day, in the organisation's working time */
	rc = nudge_claimed(ctx, "delivery.digest", "outbox", key);
	if (rc != 0 || !tz_work_zone(w, NULL))
		return rc < 0 ? -1 : 0;
	/* the digest's own failures are logged, not listed again */
	if (nudge_rows(ctx->st,
		       db_prepare(ctx->st,
				  "SELECT u.outbox_id FROM (" UNDELIVERED_SQL
				  ") u JOIN outbox o ON o.id = u.outbox_id "
				  "WHERE o.kind != 'digest' AND NOT EXISTS "
				  "(SELECT 1 FROM nudges n WHERE n.kind = "
				  "'delivery.failed' AND n.object = 'OUT-' || "
				  "o.id) ORDER BY o.id",
				  NULL),
		       1, &ids, &n) < 0)
		return -1;
	rc = 0;
	if (n == 0)
		goto out;
	rc = -1;
	if (nudge_claim(ctx, "delivery.digest", "outbox", key) != 1)
		goto out;
	buf_printf(&body,
		   "%zu message%s could not be delivered by any transport "
		   "since the last digest. Check the person's Slack, Matrix "
		   "and e-mail entries in the directory (ismsctl staff "
		   "list), then send them again with ismsctl outbox-retry; "
		   "ismsctl outbox failed lists every one.\n\n",
		   n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		snprintf(obj, sizeof(obj), "OUT-%lld", (long long)ids[i]);
		/* each message is in one digest */
		if (nudge_claim(ctx, "delivery.failed", obj, key) < 0)
			goto out;
		if (i >= DELIVERY_DIGEST_MAX) {
			more++;
			continue;
		}
		if (digest_line(ctx, ids[i], &body) < 0)
			goto out;
	}
	if (more > 0)
		buf_printf(&body, "... and %lld more (ismsctl outbox failed)\n",
			   (long long)more);
	subject = xasprintf("Undelivered messages: %zu on %s", n, key);
	payload = json_pack("{s:s,s:I}", "digest", key, "count", (json_int_t)n);
	rc = cmd_notify_role_payload(ctx, ROLE_ISMS_MANAGER, 0, MSG_DIGEST,
				     subject, buf_str(&body), payload);
out:
	json_decref(payload);
	free(subject);
	free(ids);
	buf_free(&body);
	return rc;
}
