/*
 * SQLite store: open and migrate, parameter binding helpers, people,
 * settings, the audit chain, the outbox and the inbound de-duplication.
 */
#include "store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../gateway/embedded.h"
#include "../gateway/log.h"

static int64_t
store_wall_clock(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

int64_t
store_now(const struct store *st)
{
	return st->now(st->now_arg);
}

int
store_schema_version(void)
{
	return embedded_migrations_count;
}

static int
bind_va(sqlite3_stmt *s, const char *fmt, va_list ap)
{
	int i, rc = SQLITE_OK;

	for (i = 0; fmt && fmt[i] && rc == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 'i':
			rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
			break;
		case 't': {
			const char *t = va_arg(ap, const char *);

			rc = t ? sqlite3_bind_text(s, i + 1, t, -1,
						   SQLITE_TRANSIENT)
			       : sqlite3_bind_null(s, i + 1);
			break;
		}
		case 'n':
			rc = sqlite3_bind_null(s, i + 1);
			break;
		default:
			return -1;
		}
	}
	return rc == SQLITE_OK ? 0 : -1;
}

static struct store_stmt *
cache_slot(struct store *st, const char *sql, int *found)
{
	size_t h = ((uintptr_t)sql >> 3) % STORE_STMT_CACHE, i;

	*found = 0;
	for (i = 0; i < 8; i++) {
		struct store_stmt *e = &st->cache[(h + i) % STORE_STMT_CACHE];

		if (e->key == NULL)
			return e;
		if (e->key == sql && strcmp(e->sql, sql) == 0) {
			*found = 1;
			return e;
		}
	}
	return NULL;
}

static sqlite3_stmt *
prepare_va(struct store *st, const char *sql, const char *fmt, va_list ap)
{
	struct store_stmt *e;
	sqlite3_stmt *s = NULL;
	int found;

	e = cache_slot(st, sql, &found);
	if (e != NULL && found && !e->busy) {
		s = e->s;
		e->busy = 1;
	} else {
		int cache = e != NULL && !found;

		if (sqlite3_prepare_v3(st->db, sql, -1,
				       cache ? SQLITE_PREPARE_PERSISTENT : 0,
				       &s, NULL) != SQLITE_OK) {
			log_error("sql prepare: %s", sqlite3_errmsg(st->db));
			return NULL;
		}
		if (cache) {
			e->key = sql;
			e->sql = xstrdup(sql);
			e->s = s;
			e->busy = 1;
		}
	}
	if (bind_va(s, fmt, ap) < 0) {
		log_error("sql bind: %s", sqlite3_errmsg(st->db));
		db_finish(st, s);
		return NULL;
	}
	return s;
}

void
db_finish(struct store *st, sqlite3_stmt *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < STORE_STMT_CACHE; i++)
		if (st->cache[i].s == s) {
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			st->cache[i].busy = 0;
			return;
		}
	sqlite3_finalize(s);
}

sqlite3_stmt *
db_prepare(struct store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;

	va_start(ap, fmt);
	s = prepare_va(st, sql, fmt, ap);
	va_end(ap);
	return s;
}

int
db_rebind(sqlite3_stmt *s, const char *fmt, ...)
{
	va_list ap;
	int rc;

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	va_start(ap, fmt);
	rc = bind_va(s, fmt, ap);
	va_end(ap);
	return rc;
}

int
db_exec(struct store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	s = prepare_va(st, sql, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	db_finish(st, s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_error("sql: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return sqlite3_changes(st->db);
}

int
db_int(struct store *st, int64_t *out, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	s = prepare_va(st, sql, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		log_error("sql: %s", sqlite3_errmsg(st->db));
		rc = -1;
	}
	db_finish(st, s);
	return rc;
}

char *
db_text(struct store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	char *r = NULL;

	va_start(ap, fmt);
	s = prepare_va(st, sql, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return NULL;
	if (sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		r = xstrdup((const char *)sqlite3_column_text(s, 0));
	db_finish(st, s);
	return r;
}

const char *
db_errmsg(struct store *st)
{
	return sqlite3_errmsg(st->db);
}

const char *
db_col(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return t ? (const char *)t : "";
}

static int
store_migrate(struct store *st, char *err, size_t errlen)
{
	int64_t v = 0;
	int i;

	if (db_int(st, &v, "PRAGMA user_version", NULL) < 0) {
		snprintf(err, errlen, "%s: cannot read schema version: %s",
			 st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	if (v > embedded_migrations_count) {
		snprintf(err, errlen,
			 "%s: database schema version %lld is newer than this "
			 "program supports (%d); upgrade isms-gateway or use a "
			 "backup made by this version",
			 st->path, (long long)v, embedded_migrations_count);
		return -1;
	}
	for (i = (int)v; i < embedded_migrations_count; i++) {
		char *msg = NULL;
		char pragma[64];

		if (store_begin(st) < 0)
			goto fail;
		if (sqlite3_exec(st->db, embedded_migrations[i].text, NULL,
				 NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "%s: migration %s failed: %s",
				 st->path, embedded_migrations[i].name,
				 msg ? msg : "?");
			sqlite3_free(msg);
			store_rollback(st);
			return -1;
		}
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
			 i + 1);
		if (sqlite3_exec(st->db, pragma, NULL, NULL, NULL) !=
			SQLITE_OK ||
		    store_audit(st, "system", "schema.migrate",
				embedded_migrations[i].name, NULL) < 0 ||
		    store_commit(st) < 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: migration failed: %s", st->path,
		 sqlite3_errmsg(st->db));
	store_rollback(st);
	return -1;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store *st = xcalloc(1, sizeof(*st));
	char *secret = NULL;

	st->path = xstrdup(path);
	st->now = store_wall_clock;
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open database: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 10000);
	if (sqlite3_exec(st->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "PRAGMA foreign_keys=ON;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: not a usable database: %s", path,
			 sqlite3_errmsg(st->db));
		goto fail;
	}
	if (store_migrate(st, err, errlen) < 0 ||
	    store_annex_load(st, err, errlen) < 0)
		goto fail;
	/* the key behind approval reply tokens, made once per database */
	secret = store_setting(st, "token_secret");
	if (secret == NULL) {
		unsigned char raw[32];
		char hex[65];

		if (RAND_bytes(raw, sizeof(raw)) != 1) {
			snprintf(err, errlen, "no random bytes available");
			goto fail;
		}
		hex_encode(raw, sizeof(raw), hex);
		if (store_begin(st) < 0 ||
		    store_set_setting(st, "token_secret", hex) < 0 ||
		    store_commit(st) < 0) {
			store_rollback(st);
			snprintf(err, errlen, "%s: cannot write: %s", path,
				 sqlite3_errmsg(st->db));
			goto fail;
		}
	}
	free(secret);
	return st;
fail:
	free(secret);
	store_close(st);
	return NULL;
}

void
store_close(struct store *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < STORE_STMT_CACHE; i++) {
		sqlite3_finalize(st->cache[i].s);
		free(st->cache[i].sql);
	}
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

int
store_begin(struct store *st)
{
	char sql[32];

	if (st->depth == 0)
		snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE");
	else
		snprintf(sql, sizeof(sql), "SAVEPOINT sp%d", st->depth);
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		log_error("begin: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	st->depth++;
	return 0;
}

int
store_commit(struct store *st)
{
	char sql[32];

	if (st->depth == 0)
		return -1;
	st->depth--;
	if (st->depth == 0)
		snprintf(sql, sizeof(sql), "COMMIT");
	else
		snprintf(sql, sizeof(sql), "RELEASE sp%d", st->depth);
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		log_error("commit: %s", sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *st)
{
	char sql[64];

	if (st->depth <= 1) {
		st->depth = 0;
		if (sqlite3_get_autocommit(st->db) == 0)
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return;
	}
	st->depth--;
	snprintf(sql, sizeof(sql), "ROLLBACK TO sp%d; RELEASE sp%d", st->depth,
		 st->depth);
	sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

char *
store_setting(struct store *st, const char *key)
{
	return db_text(st, "SELECT value FROM settings WHERE key = ?", "t",
		       key);
}

int
store_set_setting(struct store *st, const char *key, const char *value)
{
	return db_exec(st,
		       "INSERT INTO settings(key, value) VALUES (?, ?) "
		       "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		       "tt", key, value) < 0
		   ? -1
		   : 0;
}

static const char *role_names[] = {"staff",	   "manager", "risk_owner",
				   "isms_manager", "auditor", "admin",
				   "management"};

const char *
role_name(enum role r)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(role_names); i++)
		if ((unsigned)r == 1u << i)
			return role_names[i];
	return "?";
}

int
role_parse(const char *s, enum role *out)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(role_names); i++)
		if (strcasecmp(s, role_names[i]) == 0) {
			*out = (enum role)(1u << i);
			return 0;
		}
	return -1;
}

void
roles_format(unsigned roles, char *out, size_t len)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < ARRAY_LEN(role_names); i++)
		if (roles & (1u << i))
			n += (size_t)snprintf(out + (n < len ? n : len),
					      n < len ? len - n : 0, "%s%s",
					      n ? "," : "", role_names[i]);
}

static void
copy_col(char *dst, size_t len, sqlite3_stmt *s, int col)
{
	snprintf(dst, len, "%s", db_col(s, col));
}

#define PERSON_COLS                                                            \
	"SELECT id, handle, name, COALESCE(email,''), COALESCE(slack_id,''), " \
	"COALESCE(matrix_id,''), COALESCE(team,''), COALESCE(timezone,''), "   \
	"COALESCE(manager_id,0), roles FROM people "

static int
person_row(sqlite3_stmt *s, struct person *p)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return -1;
	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(s, 0);
	copy_col(p->handle, sizeof(p->handle), s, 1);
	copy_col(p->name, sizeof(p->name), s, 2);
	copy_col(p->email, sizeof(p->email), s, 3);
	copy_col(p->slack_id, sizeof(p->slack_id), s, 4);
	copy_col(p->matrix_id, sizeof(p->matrix_id), s, 5);
	copy_col(p->team, sizeof(p->team), s, 6);
	copy_col(p->timezone, sizeof(p->timezone), s, 7);
	p->manager_id = sqlite3_column_int64(s, 8);
	p->roles = (unsigned)sqlite3_column_int64(s, 9);
	return 1;
}

int
store_person_find(struct store *st, const char *kind, const char *value,
		  struct person *out)
{
	static const struct {
		const char *kind, *sql;
	} q[] = {
	    {"handle", PERSON_COLS "WHERE handle = ? AND active"},
	    {"email", PERSON_COLS "WHERE email = ? AND active"},
	    {"slack", PERSON_COLS "WHERE slack_id = ? AND active"},
	    {"matrix", PERSON_COLS "WHERE matrix_id = ? AND active"},
	};
	sqlite3_stmt *s;
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_LEN(q); i++)
		if (strcmp(q[i].kind, kind) == 0)
			break;
	if (i == ARRAY_LEN(q) || value == NULL || *value == '\0')
		return 0;
	s = db_prepare(st, q[i].sql, "t", value);
	if (s == NULL)
		return -1;
	rc = person_row(s, out);
	db_finish(st, s);
	return rc;
}

int
store_person_by_id(struct store *st, int64_t id, struct person *out)
{
	sqlite3_stmt *s = db_prepare(st, PERSON_COLS "WHERE id = ?", "i", id);
	int rc;

	if (s == NULL)
		return -1;
	rc = person_row(s, out);
	db_finish(st, s);
	return rc;
}

void
store_audit_hash(const char *prev, int64_t seq, const char *at,
		 const char *actor, const char *action, const char *object,
		 const char *details, char out[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	char seqs[32];
	const char *parts[7];
	size_t i;

	snprintf(seqs, sizeof(seqs), "%lld", (long long)seq);
	parts[0] = prev;
	parts[1] = seqs;
	parts[2] = at;
	parts[3] = actor;
	parts[4] = action;
	parts[5] = object;
	parts[6] = details;
	if (md == NULL)
		fatalx("out of memory");
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	/* length-prefixed fields: no two rows hash the same by shifting */
	for (i = 0; i < ARRAY_LEN(parts); i++) {
		char len[24];

		snprintf(len, sizeof(len), "%zu:", strlen(parts[i]));
		EVP_DigestUpdate(md, len, strlen(len));
		EVP_DigestUpdate(md, parts[i], strlen(parts[i]));
	}
	EVP_DigestFinal_ex(md, digest, &dlen);
	EVP_MD_CTX_free(md);
	hex_encode(digest, dlen, out);
}

#define GENESIS                                                                \
	"0000000000000000000000000000000000000000000000000000000000000000"

int
store_audit(struct store *st, const char *actor, const char *action,
	    const char *object, const char *details)
{
	sqlite3_stmt *s = NULL;
	int64_t seq = 1;
	char prev[65] = GENESIS, hash[65], at[32];
	int rc = -1;

	if (details == NULL)
		details = "{}";
	s = db_prepare(st,
		       "SELECT seq, hash FROM audit_log ORDER BY seq DESC "
		       "LIMIT 1",
		       NULL);
	if (s == NULL)
		goto out;
	switch (sqlite3_step(s)) {
	case SQLITE_ROW:
		seq = sqlite3_column_int64(s, 0) + 1;
		copy_col(prev, sizeof(prev), s, 1);
		break;
	case SQLITE_DONE:
		break;
	default:
		goto out;
	}
	time_iso(store_now(st), at);
	store_audit_hash(prev, seq, at, actor, action, object, details, hash);
	if (db_exec(st,
		    "INSERT INTO audit_log(seq, at, actor, action, object, "
		    "details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
		    "ittttttt", seq, at, actor, action, object, details, prev,
		    hash) < 0)
		goto out;
	rc = 0;
out:
	db_finish(st, s);
	return rc;
}

int64_t
store_audit_verify(struct store *st, int64_t *rows)
{
	sqlite3_stmt *s;
	char prev[65] = GENESIS, hash[65];
	int64_t expect = 1, broken = 0;
	int rc;

	*rows = 0;
	s = db_prepare(st,
		       "SELECT seq, at, actor, action, object, details, "
		       "prev_hash, hash FROM audit_log ORDER BY seq",
		       NULL);
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(s, 0);

		(*rows)++;
		if (seq != expect || strcmp(db_col(s, 6), prev) != 0) {
			broken = seq != expect ? expect : seq;
			break;
		}
		store_audit_hash(prev, seq, db_col(s, 1), db_col(s, 2),
				 db_col(s, 3), db_col(s, 4), db_col(s, 5),
				 hash);
		if (strcmp(hash, db_col(s, 7)) != 0) {
			broken = seq;
			break;
		}
		memcpy(prev, hash, sizeof(prev));
		expect++;
	}
	if (broken == 0 && rc != SQLITE_DONE)
		broken = -1;
	db_finish(st, s);
	return broken;
}

int64_t
store_outbox_add(struct store *st, int64_t person_id, const char *address,
		 const char *kind, const char *subject, const char *body,
		 const char *html, const char *payload)
{
	if (db_exec(
		st,
		"INSERT INTO outbox(created_at, person_id, address, kind, "
		"subject, body, html, payload) VALUES (?,NULLIF(?, 0),?,?,?,"
		"?,?,?)",
		"iitttttt", store_now(st), person_id, address, kind, subject,
		body, html, payload ? payload : "{}") < 0)
		return -1;
	return sqlite3_last_insert_rowid(st->db);
}

int
store_inbox_seen(struct store *st, const char *source, const char *id)
{
	int rc = db_exec(st,
			 "INSERT OR IGNORE INTO inbox(source, event_id, "
			 "seen_at) VALUES (?,?,?)",
			 "tti", source, id, store_now(st));

	if (rc < 0)
		return -1;
	return rc == 0 ? 1 : 0;
}

int
store_backup(struct store *st, const char *path, char *err, size_t errlen)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	int rc = -1;

	if (sqlite3_open(path, &dst) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(dst));
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", st->db, "main");
	if (b == NULL) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(dst));
		goto out;
	}
	while (sqlite3_backup_step(b, 256) == SQLITE_OK ||
	       sqlite3_errcode(dst) == SQLITE_BUSY)
		sqlite3_sleep(10);
	if (sqlite3_backup_finish(b) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(dst));
		goto out;
	}
	rc = 0;
out:
	sqlite3_close(dst);
	return rc;
}
