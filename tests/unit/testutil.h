/*
 * Shared helpers for the cmocka unit tests: a throwaway database with a
 * small directory, a settable clock, and running commands as someone.
 *
 * With ISMS_TEST_PG set to a PostgreSQL URL (tests/run.sh sets it from
 * scripts/pg-cluster.sh), each throwaway database is a fresh schema there
 * instead of an SQLite file: the same tests run on both engines.
 */
#ifndef ISMS_TESTUTIL_H
#define ISMS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <libpq-fe.h>
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
	char path[1024]; /* the SQLite file, or the PostgreSQL URL */
	char schema[64]; /* on PostgreSQL: the test's schema */
	char keyspec[128];
	struct store *st;
	struct config cfg;
};

/*
 * On PostgreSQL, what SQLite's total_changes() gives the tests: a
 * number that moves with any change to any table of the schema (a
 * digest of every row, below 1000 as changes_fingerprint needs: one
 * change in a thousand goes unseen).
 */
#define TEST_PG_FINGERPRINT /* a format: %% is % */                            \
	"CREATE FUNCTION total_changes() RETURNS bigint LANGUAGE plpgsql AS "  \
	"$f$ DECLARE r record; h text; acc text := ''; BEGIN FOR r IN SELECT " \
	"table_name FROM information_schema.tables WHERE table_schema = "      \
	"current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name "  \
	"LOOP EXECUTE format('SELECT md5(COALESCE(string_agg(t::text, ''|'' "  \
	"ORDER BY t::text), '''')) FROM %%I t', r.table_name) INTO h; acc := " \
	"acc || h; END LOOP; RETURN ('x' || substr(md5(acc), 1, "              \
	"7))::bit(28)::bigint %% 1000; END $f$"

/* Runs sql on the test server's base URL, or fails the test. */
__attribute__((unused)) static void
test_pg_admin(const char *sql)
{
	PGconn *c = PQconnectdb(getenv("ISMS_TEST_PG"));
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("ISMS_TEST_PG: %s", PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

/*
 * Where a test's database goes: path (an SQLite file in dir), or with
 * ISMS_TEST_PG a new schema, its URL in path and the audit key's file
 * under dir in keyspec (a PostgreSQL store needs one named).
 */
__attribute__((unused)) static void
test_db_target(const char *dir, char *path, size_t pathlen, char *schema,
	       size_t schemalen, char *keyspec, size_t keylen)
{
	static int n;
	const char *base = getenv("ISMS_TEST_PG");
	char sql[2048];

	schema[0] = keyspec[0] = '\0';
	if (base == NULL || *base == '\0') {
		snprintf(path, pathlen, "%s/t.db", dir);
		return;
	}
	snprintf(schema, schemalen, "t_%ld_%d", (long)getpid(), n++);
	snprintf(sql, sizeof(sql),
		 "DROP SCHEMA IF EXISTS %s "
		 "CASCADE; CREATE SCHEMA %s; SET "
		 "search_path = %s; " TEST_PG_FINGERPRINT,
		 schema, schema, schema);
	test_pg_admin(sql);
	snprintf(path, pathlen, "%s%coptions=-csearch_path%%3D%s", base,
		 strchr(base, '?') ? '&' : '?', schema);
	snprintf(keyspec, keylen, "file:%s/audit-key", dir);
}

__attribute__((unused)) static void
test_db_drop(const char *schema)
{
	char sql[160];

	if (schema[0] == '\0')
		return;
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
	test_pg_admin(sql);
}

/* 1 when the tests run on PostgreSQL */
__attribute__((unused)) static int
test_on_pg(void)
{
	const char *base = getenv("ISMS_TEST_PG");

	return base != NULL && *base != '\0';
}

/* store_open (STORE_CREATE) of a test's target. */
__attribute__((unused)) static struct store *
test_store_open(const char *path, const char *keyspec, char *err, size_t errlen)
{
	struct store_options so = {.audit_key = keyspec[0] ? keyspec : NULL};

	return store_open_opts(path, STORE_CREATE, &so, NULL, err, errlen);
}

/* store_open_opts of path in mode with the test's audit key */
__attribute__((unused)) static struct store *
test_open(const struct tenv *t, const char *path, enum store_mode mode,
	  int *missing, char *err, size_t errlen)
{
	struct store_options so = {.audit_key =
				       t->keyspec[0] ? t->keyspec : NULL};

	return store_open_opts(path, mode, &so, missing, err, errlen);
}

/* Tests of the SQLite file itself (its pragmas, copies, modes). */
#define SQLITE_ONLY(t)                                                         \
	do {                                                                   \
		if (test_on_pg()) {                                            \
			tenv_free(t);                                          \
			skip();                                                \
		}                                                              \
	} while (0)

__attribute__((unused)) static struct tenv *
tenv_new(void)
{
	struct tenv *t = calloc(1, sizeof(*t));
	char err[256];
	int c, u;

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/isms-unit-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	test_db_target(t->dir, t->path, sizeof(t->path), t->schema,
		       sizeof(t->schema), t->keyspec, sizeof(t->keyspec));
	t->st = test_store_open(t->path, t->keyspec, err, sizeof(err));
	if (t->st == NULL)
		fail_msg("%s", err);
	store_set_clock(t->st, test_now, NULL);
	config_defaults(&t->cfg);
	if (staff_import(t->st, test_staff_csv, strlen(test_staff_csv), "test",
			 &c, &u, err, sizeof(err)) != 0)
		fail_msg("staff import: %s", err);
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
	test_db_drop(t->schema);
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
