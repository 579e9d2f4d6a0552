/*
 * Shared helpers for the cmocka unit tests: a throwaway database with a
 * small directory, a settable clock, and running commands as someone.
 */
#ifndef ISMS_TESTUTIL_H
#define ISMS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../commands/cmd.h"
#include "../../config/config.h"
#include "../../store/staff.h"
#include "../../store/store.h"

static int64_t test_clock = 1795000000; /* 2026-11-18T... UTC */

__attribute__((unused)) static int64_t
test_now(void *arg)
{
	(void)arg;
	return test_clock;
}

static const char test_staff_csv[] =
    "handle,name,email,slack_id,matrix_id,manager,team,timezone,roles\n"
    "dana,Dana O,dana@example.org,U0DANA,@dana:example.org,,mgmt,,"
    "manager;admin\n"
    "carol,Carol D,carol@example.org,U0CAROL,@carol:example.org,dana,"
    "security,Europe/Berlin,isms_manager;manager\n"
    "erik,Erik L,erik@example.org,U0ERIK,@erik:example.org,carol,security,,"
    "isms_manager\n"
    "bob,Bob M,bob@example.org,U0BOB,@bob:example.org,dana,eng,,"
    "manager;risk_owner\n"
    "alice,Alice E,alice@example.org,U0ALICE,@alice:example.org,bob,eng,,"
    "staff\n"
    "frank,Frank W,frank@example.org,U0FRANK,,bob,eng,,\n"
    "grace,Grace H,grace@example.org,U0GRACE,,dana,audit,,auditor\n";

struct tenv {
	char dir[64];
	char path[128];
	struct store *st;
	struct config cfg;
};

__attribute__((unused)) static struct tenv *
tenv_new(void)
{
	struct tenv *t = calloc(1, sizeof(*t));
	char err[256];
	int c, u;

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/isms-unit-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/t.db", t->dir);
	t->st = store_open(t->path, err, sizeof(err));
	assert_non_null(t->st);
	store_set_clock(t->st, test_now, NULL);
	config_defaults(&t->cfg);
	assert_int_equal(staff_import(t->st, test_staff_csv,
				      strlen(test_staff_csv), "test", &c, &u,
				      err, sizeof(err)),
			 0);
	return t;
}

__attribute__((unused)) static void
tenv_free(struct tenv *t)
{
	char p[400];
	struct dirent *de;
	DIR *d;

	store_close(t->st);
	config_free(&t->cfg);
	/* the database, its side files and any backup made beside it */
	d = opendir(t->dir);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", t->dir, de->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(t->dir);
	free(t);
}

/* Runs text as handle; returns the reply text (static, overwritten). */
__attribute__((unused)) static const char *
as(struct tenv *t, const char *handle, const char *text, int *ok)
{
	static char out[8192];
	struct isms_request rq = {
	    .via = "console", .id_kind = "handle", .id = handle, .text = text};
	struct isms_reply rp = {0};
	int rc = cmd_run(t->st, &t->cfg, &rq, &rp);

	snprintf(out, sizeof(out), "%s", buf_str(&rp.text));
	if (ok)
		*ok = rc == 0 && !rp.error;
	reply_free(&rp);
	return out;
}

__attribute__((unused)) static int64_t
count(struct tenv *t, const char *sql)
{
	int64_t v = -1;

	assert_int_equal(db_int(t->st, &v, sql, NULL), 1);
	return v;
}

/* A fingerprint of every table that commands change. */
__attribute__((unused)) static int64_t
changes_fingerprint(struct tenv *t)
{
	return count(t, "SELECT (SELECT COUNT(*) FROM audit_log) * 1000000 + "
			"(SELECT COUNT(*) FROM outbox) * 1000 + "
			"(SELECT total_changes())");
}

#endif
