/*
 * ismsctl: the administrator's and auditor's tool on the ismsd database:
 * initialise, import the directory, export evidence, verify the audit
 * chain, back up, and run scheduler passes by hand.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../commands/cmd.h"
#include "../config/config.h"
#include "../base/log.h"
#include "../base/version.h"
#include "../store/export.h"
#include "../store/pack.h"
#include "../store/mapping.h"
#include "../store/staff.h"
#include "../store/store.h"
#include "backup.h"
#include "ctl.h"

static void
usage(FILE *fp)
{
	fprintf(
	    fp,
	    "usage: ismsctl [-c FILE] [--db PATH] COMMAND\n"
	    "  -c FILE: else $ISMSD_CONFIG, else " CONFIG_SYSTEM_PATH
	    " when it exists;\n"
	    "  --db: else the configuration's [store] path\n"
	    "commands:\n"
	    "  init                          create or migrate the database\n"
	    "  staff import [--deactivate-missing] FILE\n"
	    "                                import the staff CSV (upsert); "
	    "deactivate who is not in it\n"
	    "  staff deactivate HANDLE       a leaver: lists what they hold\n"
	    "  staff rename OLD NEW          a new handle; what they hold "
	    "stays theirs\n"
	    "  staff list                    list the directory\n"
	    "  export KIND --format csv|json|md   write evidence to stdout\n"
	    "                                (KIND: %s; soa --version N: "
	    "as approved)\n"
	    "                                (mapping --framework %s: "
	    "articles and controls)\n"
	    "  export audit-pack FILE.tar.gz [--force]\n"
	    "                                every export, the SoA versions, "
	    "the audit log\n"
	    "                                and its verification, with a "
	    "SHA-256 manifest\n"
	    "  audit verify [--head SEQ:HASH]  check the audit log's keyed "
	    "chain,\n"
	    "                                the records' hashes and a "
	    "published head\n"
	    "  audit head                    print the newest row as "
	    "SEQ:HASH\n"
	    "  backup FILE                   online copy of the database\n"
	    "  backup --dir DIR [--keep N]   a copy named after the time in "
	    "DIR; removes\n"
	    "                                the oldest copies beyond N "
	    "(default %d)\n"
	    "  outbox [--pending|--failed|--all]  messages waiting for "
	    "delivery (default),\n"
	    "                                failed or all: age, attempts, "
	    "delivery per\n"
	    "                                transport and the last error\n"
	    "  outbox release                deliver a restored backup's "
	    "outbox\n"
	    "%s",
	    export_names(), mapping_framework_names(), BACKUP_KEEP_DEFAULT,
	    ctl_extra_usage());
}

static int
read_file(const char *path, struct buf *b, char *err, size_t errlen)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char chunk[8192];
	size_t n;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		buf_add(b, chunk, n);
		if (b->len > 256u * 1024 * 1024) {
			snprintf(err, errlen, "%s: file too large", path);
			if (fp != stdin)
				fclose(fp);
			return -1;
		}
	}
	if (fp != stdin)
		fclose(fp);
	return 0;
}

/*
 * Deactivates the leavers handles[0..n) as the directory's administrator,
 * in the caller's transaction; prints what each still holds. 0 or -1.
 */
/*
 * Runs a staff command line as the directory's administrator (the audit
 * rows name the user running ismsctl); prints the reply. 0 or -1.
 */
static int
staff_run(struct store *st, const struct config *cfg, const char *line)
{
	struct person tool = {.name = "ismsctl", .roles = ROLE_ADMIN};
	struct isms_reply rp = {0};
	int rc;

	snprintf(tool.handle, sizeof(tool.handle), "%s", ctl_actor());
	rc = cmd_run_as(st, cfg, &tool, line, &rp);
	fprintf(rc < 0 ? stderr : stdout, "%s%s\n", rc < 0 ? "ismsctl: " : "",
		buf_str(&rp.text));
	reply_free(&rp);
	return rc < 0 ? -1 : 0;
}

static int
staff_deactivate(struct store *st, const struct config *cfg,
		 char *const *handles, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char line[128];

		snprintf(line, sizeof(line), "staff deactivate @%s",
			 handles[i]);
		if (staff_run(st, cfg, line) < 0)
			return -1;
	}
	return 0;
}

static int
cmd_staff(struct store *st, const struct config *cfg, int argc, char **argv)
{
	char err[512];

	if (argc == 3 && strcmp(argv[1], "deactivate") == 0) {
		if (store_begin(st) < 0 ||
		    staff_deactivate(st, cfg, &argv[2], 1) < 0 ||
		    store_commit(st) < 0) {
			store_rollback(st);
			return 1;
		}
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "rename") == 0) {
		char line[256];

		snprintf(line, sizeof(line), "staff rename %s%.64s %s%.64s",
			 argv[2][0] == '@' ? "" : "@", argv[2],
			 argv[3][0] == '@' ? "" : "@", argv[3]);
		if (store_begin(st) < 0 || staff_run(st, cfg, line) < 0 ||
		    store_commit(st) < 0) {
			store_rollback(st);
			return 1;
		}
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "import") == 0 &&
	    strcmp(argv[2], "--deactivate-missing") == 0) {
		struct buf b = {0};
		char **missing = NULL;
		size_t nmissing = 0, i;
		int created, updated, rc = 1;

		if (read_file(argv[3], &b, err, sizeof(err)) < 0 ||
		    store_begin(st) < 0) {
			fprintf(stderr, "ismsctl: %s: %s\n", argv[3], err);
			buf_free(&b);
			return 1;
		}
		if (staff_import_missing(st, buf_str(&b), b.len, ctl_actor(),
					 &created, &updated, &missing,
					 &nmissing, err, sizeof(err)) < 0)
			fprintf(stderr,
				"ismsctl: %s: %s\nnothing was imported\n",
				argv[3], err);
		else if (staff_deactivate(st, cfg, missing, nmissing) == 0 &&
			 store_commit(st) == 0)
			rc = 0;
		if (rc != 0)
			store_rollback(st);
		else
			printf("imported %d people (%d new, %d updated); %zu "
			       "deactivated\n",
			       created + updated, created, updated, nmissing);
		for (i = 0; i < nmissing; i++)
			free(missing[i]);
		free(missing);
		buf_free(&b);
		return rc;
	}
	if (argc >= 2 && strcmp(argv[1], "import") == 0 && argc == 3) {
		struct buf b = {0};
		int created, updated;

		if (read_file(argv[2], &b, err, sizeof(err)) < 0 ||
		    staff_import(st, buf_str(&b), b.len, ctl_actor(), &created,
				 &updated, err, sizeof(err)) < 0) {
			fprintf(stderr,
				"ismsctl: %s: %s\nnothing was imported\n",
				argv[2], err);
			buf_free(&b);
			return 1;
		}
		buf_free(&b);
		printf("imported %d people (%d new, %d updated)\n",
		       created + updated, created, updated);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		struct db_stmt *s = db_prepare(
		    st,
		    "SELECT p.handle, p.name, COALESCE(p.email,''), "
		    "COALESCE(p.team,''), COALESCE(m.handle,''), p.roles, "
		    "COALESCE(p.slack_id,''), COALESCE(p.matrix_id,'') "
		    "FROM people p LEFT JOIN people m ON m.id = p.manager_id "
		    "WHERE p.active <> 0 ORDER BY p.handle",
		    NULL);

		if (s == NULL)
			return 1;
		printf("%-12s %-22s %-28s %-12s %-10s %s\n", "HANDLE", "NAME",
		       "EMAIL", "TEAM", "MANAGER", "ROLES");
		while (db_step(s) == DB_ROW) {
			char roles[128], *line;

			roles_format((unsigned)db_col_int(s, 5), roles,
				     sizeof(roles));
			line =
			    xasprintf("%-12s %-22s %-28s %-12s %-10s %s\n",
				      db_col(s, 0), db_col(s, 1), db_col(s, 2),
				      db_col(s, 3), db_col(s, 4), roles);
			fput_printable(stdout, line, PRINT_KEEP_NL);
			free(line);
		}
		db_finish(st, s);
		return 0;
	}
	fprintf(stderr, "usage: ismsctl staff import [--deactivate-missing] "
			"FILE | staff deactivate HANDLE | staff rename OLD NEW "
			"| staff list\n");
	return 2;
}

static int
cmd_export(struct store *st, int argc, char **argv)
{
	const char *format = "csv", *version = NULL, *framework = NULL;
	char err[256];
	long v = 0;
	int i;

	if (argc < 2) {
		fprintf(stderr,
			"usage: ismsctl export %s --format csv|json|md "
			"[--version N] [--framework %s]\n",
			export_names(), mapping_framework_names());
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			format = argv[++i];
		else if (strncmp(argv[i], "--format=", 9) == 0)
			format = argv[i] + 9;
		else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc)
			version = argv[++i];
		else if (strncmp(argv[i], "--version=", 10) == 0)
			version = argv[i] + 10;
		else if (strcmp(argv[i], "--framework") == 0 && i + 1 < argc)
			framework = argv[++i];
		else if (strncmp(argv[i], "--framework=", 12) == 0)
			framework = argv[i] + 12;
		else {
			fprintf(stderr, "ismsctl: unexpected argument %s\n",
				argv[i]);
			return 2;
		}
	}
	if (version != NULL && parse_int(version, 1, INT32_MAX, &v) < 0) {
		fprintf(stderr,
			"ismsctl: --version must be a version number (1, 2, "
			"...), got %s\n",
			version);
		return 2;
	}
	if (export_write_framework(st, argv[1], format, v, framework, stdout,
				   err, sizeof(err)) < 0) {
		fprintf(stderr, "ismsctl: %s\n", err);
		return 2;
	}
	return 0;
}

static int
cmd_audit_verify(struct store *st, const char *head, FILE *out)
{
	struct buf records = {0};
	int64_t rows, broken, changed;
	char err[512];
	int rc = 0, hrc = 0;

	if (store_audit_key_problem(st, err, sizeof(err)) < 0) {
		fprintf(stderr, "ismsctl: %s\n", err);
		return 2;
	}
	if (head != NULL) {
		hrc = store_audit_check_head(st, head, err, sizeof(err));
		if (hrc < 0) {
			fprintf(stderr, "ismsctl: %s\n", err);
			return 2;
		}
	}
	broken = store_audit_verify(st, &rows);
	changed = broken < 0 ? 0 : store_records_verify(st, &records);
	if (broken < 0 || changed < 0) {
		fprintf(stderr, "ismsctl: cannot read the audit log: %s\n",
			db_errmsg(st));
		buf_free(&records);
		return 1;
	}
	if (broken > 0) {
		fprintf(
		    out,
		    "audit log BROKEN at sequence %lld: the row was altered, "
		    "removed or inserted after it was written\n",
		    (long long)broken);
		rc = 3;
	} else {
		fprintf(out,
			"audit log intact: %lld entries, hash chain verified\n",
			(long long)rows);
	}
	if (hrc == 1) {
		fprintf(out, "audit log BROKEN: %s\n", err);
		rc = 3;
	} else if (head != NULL) {
		fprintf(out, "published head %s found\n", head);
	}
	if (changed > 0) {
		fprintf(out, "records changed outside ismsd: %lld\n%s",
			(long long)changed, buf_str(&records));
		rc = 3;
	} else {
		fprintf(out, "records intact: every record matches its hash\n");
	}
	buf_free(&records);
	return rc;
}

/*
 * export audit-pack FILE [--force]. The verification and the pack read one
 * snapshot, so that verify.txt speaks of the rows packed; a log that does
 * not verify is packed all the same (the auditor needs to see it) and
 * exits 3 like audit verify.
 */
static int
cmd_pack(struct store *st, int argc, char **argv)
{
	const char *path = NULL;
	char *text = NULL, err[512];
	size_t len = 0;
	FILE *mem;
	int i, force = 0, bad = 0, vrc, n;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (path == NULL && argv[i][0] != '-')
			path = argv[i];
		else
			bad = 1;
	}
	if (path == NULL || bad) {
		fprintf(stderr, "usage: ismsctl export audit-pack FILE.tar.gz "
				"[--force]\n");
		return 2;
	}
	if (store_begin(st) < 0) {
		fprintf(stderr, "ismsctl: cannot read the database: %s\n",
			db_errmsg(st));
		return 1;
	}
	mem = open_memstream(&text, &len);
	if (mem == NULL) {
		store_rollback(st);
		fprintf(stderr, "ismsctl: %s\n", strerror(errno));
		return 1;
	}
	vrc = cmd_audit_verify(st, NULL, mem);
	fclose(mem);
	if (vrc == 1 || vrc == 2) {
		store_rollback(st);
		free(text);
		fprintf(stderr, "ismsctl: no audit pack written\n");
		return vrc;
	}
	n = pack_write(st, path, text, force, err, sizeof(err));
	store_rollback(st);
	free(text);
	if (n < 0) {
		fprintf(stderr, "ismsctl: %s\nno audit pack written\n", err);
		return 1;
	}
	printf("audit pack written to %s: %d files, checked by "
	       "%s/MANIFEST.sha256\n",
	       path, n, PACK_DIR);
	if (vrc == 3) {
		fprintf(stderr,
			"ismsctl: the audit log or the records do not verify: "
			"see %s/verify.txt in the pack\n",
			PACK_DIR);
		return 3;
	}
	return 0;
}

static int
ctl_audit(struct store *st, int argc, char **argv)
{
	const char *head = NULL;
	int64_t seq;
	char hash[65], err[512];
	int i, rc;

	if (argc == 2 && strcmp(argv[1], "head") == 0) {
		if (store_audit_key_problem(st, err, sizeof(err)) < 0)
			fprintf(stderr, "ismsctl: warning: %s\n", err);
		rc = store_audit_head(st, &seq, hash);
		if (rc < 0) {
			fprintf(stderr,
				"ismsctl: cannot read the audit log: %s\n",
				db_errmsg(st));
			return 1;
		}
		if (rc == 0) {
			fprintf(stderr, "ismsctl: the audit log is empty\n");
			return 1;
		}
		printf("%lld:%s\n", (long long)seq, hash);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		goto usage;
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--head") == 0 && i + 1 < argc)
			head = argv[++i];
		else if (strncmp(argv[i], "--head=", 7) == 0)
			head = argv[i] + 7;
		else
			goto usage;
	}
	return cmd_audit_verify(st, head, stdout);
usage:
	fprintf(stderr,
		"usage: ismsctl audit verify [--head SEQ:HASH] | audit head\n");
	return 2;
}

/* outbox release: a restored copy's outbox may be delivered again */
static int
cmd_outbox_release(struct store *st)
{
	char *hold = store_setting(st, "outbox_hold");

	if (hold == NULL) {
		printf("the outbox is not held\n");
		return 0;
	}
	if (store_begin(st) < 0 ||
	    db_exec(st, "DELETE FROM settings WHERE key = 'outbox_hold'",
		    NULL) < 0 ||
	    store_audit(st, ctl_actor(), "outbox.release", "outbox", NULL) <
		0 ||
	    store_commit(st) < 0) {
		store_rollback(st);
		fprintf(stderr, "ismsctl: cannot release: %s\n", db_errmsg(st));
		free(hold);
		return 1;
	}
	printf("outbox released (%s); a running daemon delivers it now\n",
	       hold);
	free(hold);
	return 0;
}

/* An age in seconds as "45s", "3m", "2h" or "4d". */
static void
format_age(int64_t secs, char *out, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(out, len, "%llds", (long long)secs);
	else if (secs < 3600)
		snprintf(out, len, "%lldm", (long long)(secs / 60));
	else if (secs < 86400)
		snprintf(out, len, "%lldh", (long long)(secs / 3600));
	else
		snprintf(out, len, "%lldd", (long long)(secs / 86400));
}

/*
 * outbox [--pending|--failed|--all]: the messages waiting for a delivery
 * (the default), those a transport gave up on, or all, one line each
 * under a header, with their age, attempts and the last error.
 */
static int
cmd_outbox(struct store *st, int argc, char **argv)
{
	static const char *const filters[] = {"pending", "failed", "all"};
	struct db_stmt *s;
	const char *filter = "pending";
	int i, rows = 0, rc;
	size_t k;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "--", 2) == 0)
			a += 2;
		for (k = 0; k < ARRAY_LEN(filters); k++)
			if (strcmp(a, filters[k]) == 0)
				break;
		if (k == ARRAY_LEN(filters) || argc > 2) {
			fprintf(stderr, "usage: ismsctl outbox "
					"[--pending|--failed|--all] | outbox "
					"release\n");
			return 2;
		}
		filter = filters[k];
	}
	s = db_prepare(
	    st,
	    "SELECT o.id, o.created_at, COALESCE(p.handle, o.address, ''), "
	    "o.kind, o.subject, "
	    "COALESCE((SELECT group_concat(d.transport || ':' || d.status, "
	    "'; ') FROM (SELECT * FROM outbox_delivery d WHERE d.outbox_id = "
	    "o.id ORDER BY d.id) d), CASE o.routed WHEN 0 THEN 'queued' ELSE "
	    "'' END), "
	    "(SELECT COALESCE(SUM(d.attempts), 0) FROM outbox_delivery d "
	    "WHERE d.outbox_id = o.id), "
	    "COALESCE((SELECT group_concat(d.transport || ': ' || "
	    "d.last_error, '; ') FROM (SELECT * FROM outbox_delivery d WHERE "
	    "d.outbox_id = o.id AND d.status != 'sent' AND d.last_error IS "
	    "NOT NULL ORDER BY d.id) d), '') "
	    "FROM outbox o LEFT JOIN people p ON p.id = o.person_id WHERE "
	    "? = 'all' OR (? = 'pending' AND (o.routed = 0 OR EXISTS (SELECT "
	    "1 FROM outbox_delivery d WHERE d.outbox_id = o.id AND d.status "
	    "= 'pending'))) OR (? = 'failed' AND EXISTS (SELECT 1 FROM "
	    "outbox_delivery d WHERE d.outbox_id = o.id AND d.status = "
	    "'failed')) ORDER BY o.id",
	    "ttt", filter, filter, filter);
	if (s == NULL)
		return 1;
	printf("ID\tAGE\tTO\tKIND\tATTEMPTS\tDELIVERY\tLAST ERROR\tSUBJECT\n");
	while ((rc = db_step(s)) == DB_ROW) {
		char age[32], *line;

		format_age(store_now(st) - db_col_int(s, 1), age, sizeof(age));
		line = xasprintf(
		    "%lld\t%s\t%s\t%s\t%lld\t%s\t%s\t%s\n",
		    (long long)db_col_int(s, 0), age, db_col(s, 2),
		    db_col(s, 3), (long long)db_col_int(s, 6), db_col(s, 5),
		    *db_col(s, 7) ? db_col(s, 7) : "-", db_col(s, 4));
		fput_printable(stdout, line, PRINT_KEEP_NL | PRINT_KEEP_TAB);
		free(line);
		rows++;
	}
	db_finish(st, s);
	if (rc != DB_DONE) {
		fprintf(stderr, "ismsctl: cannot read the outbox: %s\n",
			db_errmsg(st));
		return 1;
	}
	if (rows == 0)
		printf("(no %s messages)\n",
		       strcmp(filter, "all") == 0 ? "outbox" : filter);
	return 0;
}

/*
 * How a command opens the database: init creates it; commands that only
 * read open it read-only and never create, migrate or repair it; the rest
 * need an existing database.
 */
static enum store_mode
open_mode(int argc, char **argv, int *current)
{
	*current = 1;
	if (strcmp(argv[0], "init") == 0)
		return STORE_CREATE;
	if (strcmp(argv[0], "audit") == 0 || strcmp(argv[0], "backup") == 0 ||
	    strcmp(argv[0], "migrate") == 0) {
		*current = 0; /* any schema version (migrate says why not) */
		return STORE_READONLY;
	}
	if (strcmp(argv[0], "export") == 0 || strcmp(argv[0], "report") == 0 ||
	    (strcmp(argv[0], "outbox") == 0 &&
	     (argc < 2 || strcmp(argv[1], "release") != 0)) ||
	    (strcmp(argv[0], "staff") == 0 && argc >= 2 &&
	     strcmp(argv[1], "list") == 0) ||
	    (strcmp(argv[0], "matrix-devices") == 0 &&
	     (argc < 2 || strcmp(argv[1], "--user") == 0)))
		return STORE_READONLY;
	return STORE_EXISTING;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct config cfg;
	struct config_errors ce = {0};
	const char *db = NULL, *cfile = NULL;
	struct store_options so = {0};
	struct store *st = NULL;
	char err[512];
	int c, rc = 2, missing, current;

	/* JSON trees come from the same allocator as everything else */
	json_set_alloc_funcs(xmalloc, free);
	while ((c = getopt_long(argc, argv, "+d:c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'c':
			cfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ismsctl %s\n", ISMS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	cfile = config_locate(cfile, NULL);
	if (cfile != NULL) {
		if (config_load(&cfg, cfile, &ce) < 0) {
			fputs(buf_str(&ce.text), stderr);
			buf_free(&ce.text);
			config_free(&cfg);
			return 2;
		}
	} else {
		config_defaults(&cfg);
	}
	buf_free(&ce.text);
	if (db == NULL && cfile != NULL)
		db = config_store(&cfg);
	if (argc < 1 || db == NULL) {
		usage(stderr);
		goto out;
	}
	/* init tells what it migrates and where the backup before went */
	log_set_level(strcmp(argv[0], "init") == 0 ? LOG_INFO : LOG_WARN);
	so.audit_key = cfg.store_audit_key;
	so.group = cfg.store_group;
	st = store_open_opts(db, open_mode(argc, argv, &current), &so, &missing,
			     err, sizeof(err));
	if (st == NULL ||
	    (current && store_check_current(st, err, sizeof(err)) < 0)) {
		fprintf(stderr, "ismsctl: %s\n", err);
		rc = st == NULL && !missing ? 1 : 2;
		goto out;
	}
	if (strcmp(argv[0], "init") == 0 && argc == 1) {
		rc = ctl_init(st, &cfg);
	} else if (strcmp(argv[0], "staff") == 0) {
		rc = cmd_staff(st, &cfg, argc, argv);
	} else if (strcmp(argv[0], "export") == 0 && argc >= 2 &&
		   strcmp(argv[1], "audit-pack") == 0) {
		rc = cmd_pack(st, argc, argv);
	} else if (strcmp(argv[0], "export") == 0) {
		rc = cmd_export(st, argc, argv);
	} else if (strcmp(argv[0], "audit") == 0) {
		rc = ctl_audit(st, argc, argv);
	} else if (strcmp(argv[0], "backup") == 0) {
		rc = ctl_backup(st, argc, argv);
	} else if (strcmp(argv[0], "outbox") == 0 && argc == 2 &&
		   strcmp(argv[1], "release") == 0) {
		rc = cmd_outbox_release(st);
	} else if (strcmp(argv[0], "outbox") == 0) {
		rc = cmd_outbox(st, argc, argv);
	} else if ((rc = ctl_extra(st, &cfg, argc, argv)) == -1) {
		fprintf(stderr, "ismsctl: unknown command \"%s\"\n", argv[0]);
		usage(stderr);
		rc = 2;
	}
out:
	store_close(st);
	config_free(&cfg);
	return rc;
}
