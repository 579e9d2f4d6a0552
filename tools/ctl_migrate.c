/*
 * ismsctl migrate --to URL [--key SPEC]: the SQLite database copied into
 * a PostgreSQL one (store/copy.c), verified there with the same audit
 * key, and the move noted in the copy's audit log.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/log.h"
#include "../store/copy.h"
#include "ctl.h"

/* An error about url (text freed), its password replaced. */
static void
migrate_error(const char *url, char *text)
{
	char msg[2048];

	size_t n;

	snprintf(msg, sizeof(msg), "%s", text);
	free(text);
	store_url_redact(url, msg, sizeof(msg));
	/* libpq's messages end in a newline */
	for (n = strlen(msg);
	     n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ');)
		msg[--n] = '\0';
	fprintf(stderr, "ismsctl: %s\n", msg);
}

/* The copy's audit chain and records: 0 when both verify, with rows. */
static int
migrate_verify(struct store *dst, int64_t want_seq, const char *want_hash,
	       char *err, size_t errlen)
{
	struct buf changed = {0};
	int64_t rows = 0, broken, n, seq = 0;
	char hash[65] = "";

	broken = store_audit_verify(dst, &rows);
	if (broken < 0) {
		snprintf(err, errlen, "cannot read the audit log: %s",
			 db_errmsg(dst));
		return -1;
	}
	if (broken > 0) {
		snprintf(err, errlen, "audit verify: BROKEN at sequence %lld",
			 (long long)broken);
		return -1;
	}
	if (store_audit_head(dst, &seq, hash) < 0 || seq != want_seq ||
	    strcmp(hash, want_hash) != 0) {
		snprintf(err, errlen,
			 "the copy's audit head %lld:%s is not the source's "
			 "%lld:%s",
			 (long long)seq, hash, (long long)want_seq, want_hash);
		return -1;
	}
	n = store_records_verify(dst, &changed);
	if (n != 0) {
		snprintf(err, errlen, "records verify: %s%.400s",
			 n < 0 ? "cannot read them: " : "",
			 n < 0 ? db_errmsg(dst) : buf_str(&changed));
		buf_free(&changed);
		return -1;
	}
	buf_free(&changed);
	printf("audit verify: ok (%lld entries)\nrecords verify: ok\n",
	       (long long)rows);
	return 0;
}

int
ctl_migrate(struct store *src, const struct config *cfg, int argc, char **argv)
{
	struct store_options so = {0};
	struct store_copy_stats stats;
	struct store *dst = NULL;
	const char *url = NULL, *key = NULL;
	char err[1024], hash[65] = "", head[96], *keyspec = NULL,
			*details = NULL, *label = NULL;
	json_t *j;
	int64_t seq = 0;
	int i, rc = 1, bad = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			url = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key = argv[++i];
		else
			bad = 1;
	}
	if (bad || url == NULL || !store_is_url(url)) {
		fprintf(stderr,
			"usage: ismsctl migrate --to "
			"postgresql://... [--key file:PATH|env:NAME]\n");
		return 2;
	}
	/* a gateway still writing the source would fork its history */
	if (store_lock_exclusive(src, err, sizeof(err)) < 0) {
		fprintf(stderr,
			"ismsctl: %s\nstop ismsd before migrating; nothing "
			"was copied\n",
			err);
		return 1;
	}
	/* the source: read in one snapshot, checked before anything */
	if (store_begin(src) < 0) {
		fprintf(stderr, "ismsctl: %s: cannot read: %s\n",
			store_path(src), db_errmsg(src));
		return 1;
	}
	if (store_copy_check_source(src, err, sizeof(err)) < 0) {
		fprintf(stderr, "ismsctl: %s\nnothing was copied\n", err);
		goto out;
	}
	if (store_audit_head(src, &seq, hash) != 1) {
		fprintf(stderr, "ismsctl: %s: the audit log is empty\n",
			store_path(src));
		goto out;
	}
	/* the copy's audit chain needs the source's key */
	if (key != NULL)
		keyspec = xstrdup(key);
	else if (cfg->store_audit_key != NULL && *cfg->store_audit_key)
		keyspec = xstrdup(cfg->store_audit_key);
	else
		keyspec = xasprintf("file:%s.audit-key", store_path(src));
	switch (store_url_check_empty(url, err, sizeof(err))) {
	case 0:
		break;
	case 1:
		migrate_error(
		    url, xasprintf("%s: %s\nnothing was copied", url, err));
		goto out;
	default:
		migrate_error(url, xasprintf("%s: %s", url, err));
		goto out;
	}
	so.audit_key = keyspec;
	dst = store_open_opts(url, STORE_CREATE, &so, NULL, err, sizeof(err));
	if (dst == NULL) {
		migrate_error(url, xstrdup(err));
		goto out;
	}
	label = xstrdup(store_path(dst));
	if (store_copy_into(src, dst, &stats, err, sizeof(err)) < 0) {
		migrate_error(url, xasprintf("%s\nnothing was copied (%s "
					     "keeps a new, empty store)",
					     err, label));
		goto out;
	}
	store_close(dst);
	printf("copied %s into %s: %d tables, %lld rows\naudit head "
	       "%lld:%s\n",
	       store_path(src), label, stats.tables, (long long)stats.rows,
	       (long long)seq, hash);
	/* what the copy holds, as a gateway opening it will see it */
	dst = store_open_opts(url, STORE_EXISTING, &so, NULL, err, sizeof(err));
	if (dst == NULL) {
		migrate_error(url, xstrdup(err));
		goto out;
	}
	if (migrate_verify(dst, seq, hash, err, sizeof(err)) < 0) {
		fprintf(stderr,
			"ismsctl: %s: %s\nthe copy there does not verify: "
			"drop it before trying again\n",
			label, err);
		goto out;
	}
	snprintf(head, sizeof(head), "%lld:%s", (long long)seq, hash);
	j = json_pack("{s:s, s:s, s:i, s:I}", "source", store_path(src), "head",
		      head, "tables", stats.tables, "rows",
		      (json_int_t)stats.rows);
	details = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (store_begin(dst) < 0 ||
	    store_audit(dst, ctl_actor(), "store.migrate_from", store_path(src),
			details) < 0 ||
	    store_commit(dst) < 0) {
		store_rollback(dst);
		fprintf(stderr, "ismsctl: %s: cannot note the move: %s\n",
			label, db_errmsg(dst));
		goto out;
	}
	printf("noted in %s's audit log; run ismsd with [store] url and "
	       "audit_key = %s\n",
	       label, keyspec);
	rc = 0;
out:
	store_rollback(src);
	store_close(dst);
	free(keyspec);
	free(details);
	free(label);
	return rc;
}
