/*
 * ismsctl sub-commands beyond the basics. Each is a row of ctl_table.
 */
#include "ctl.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/tz.h"
#include "../commands/cmd.h"
#include "../commands/sched.h"

const char *
ctl_actor(void)
{
	static char actor[64];
	struct passwd pw, *found = NULL;
	char text[4096];

	if (actor[0] != '\0')
		return actor;
	if (getpwuid_r(geteuid(), &pw, text, sizeof(text), &found) == 0 &&
	    found != NULL && found->pw_name[0] != '\0' &&
	    strlen(found->pw_name) <= 40)
		snprintf(actor, sizeof(actor), "ismsctl:%s", found->pw_name);
	else
		snprintf(actor, sizeof(actor), "ismsctl:%lu",
			 (unsigned long)geteuid());
	return actor;
}

int
ctl_init(struct store *st, const struct config *cfg)
{
	(void)cfg;
	printf("database %s ready (schema version %d)\n", store_path(st),
	       store_schema_version());
	return 0;
}

/*
 * A seed line with each "{+Nd}" replaced by the date N days after now
 * (YYYY-MM-DD in the organisation's time zone), so demo data stays in
 * the future whenever it is loaded. A new string (caller frees), or NULL
 * when a placeholder is malformed.
 */
static char *
seed_expand(const char *line, const struct config *cfg, int64_t now)
{
	struct buf b = {0};
	const char *p = line, *open;

	while ((open = strstr(p, "{+")) != NULL) {
		char *end, date[40];
		long days = strtol(open + 2, &end, 10);

		if (end == open + 2 || end[0] != 'd' || end[1] != '}' ||
		    days < 0 || days > 3650) {
			buf_free(&b);
			return NULL;
		}
		buf_add(&b, p, (size_t)(open - p));
		tz_format(cfg->org_timezone, now + days * 86400, date);
		date[10] = '\0'; /* the day of "YYYY-MM-DD HH:MM ..." */
		buf_puts(&b, date);
		p = end + 2;
	}
	buf_puts(&b, p);
	return buf_steal(&b);
}

/*
 * seed FILE [--now "YYYY-MM-DD HH:MM"]: "handle: command" lines through
 * the command engine, as of now or of the given time.
 */
static int
ctl_seed(struct store *st, const struct config *cfg, int argc, char **argv)
{
	const char *file = NULL, *when = NULL;
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	int64_t now;
	int i, lineno = 0, rc = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--now") == 0 && i + 1 < argc)
			when = argv[++i];
		else if (file == NULL && argv[i][0] != '-')
			file = argv[i];
		else
			break;
	}
	if (file == NULL || i < argc) {
		fprintf(stderr, "usage: ismsctl seed FILE [--now \"YYYY-MM-DD "
				"HH:MM\"]\n");
		return 2;
	}
	now = store_now(st);
	if (when != NULL && tz_parse(cfg->org_timezone, when, &now) < 0) {
		fprintf(stderr,
			"ismsctl: --now: expected \"YYYY-MM-DD HH:MM\" (read "
			"in %s), got \"%s\"\n",
			cfg->org_timezone, when);
		return 2;
	}
	fp = fopen(file, "r");
	if (fp == NULL) {
		perror(file);
		return 1;
	}
	if (when != NULL) {
		store_hold_time(st, now);
		store_set_as_of(st, now);
	}
	while (getline(&line, &cap, fp) >= 0) {
		struct isms_request rq = {.via = "cli", .id_kind = "handle"};
		struct isms_reply rp = {0};
		char *text = str_trim(line), *colon, *cmd;

		lineno++;
		if (*text == '\0' || *text == '#')
			continue;
		colon = strchr(text, ':');
		if (colon == NULL) {
			fprintf(stderr, "%s:%d: expected \"handle: command\"\n",
				file, lineno);
			rc = 2;
			break;
		}
		*colon = '\0';
		cmd = seed_expand(str_trim(colon + 1), cfg, now);
		if (cmd == NULL) {
			fprintf(stderr,
				"%s:%d: a date placeholder is {+Nd} (N days "
				"from now, 0-3650)\n",
				file, lineno);
			rc = 2;
			break;
		}
		rq.id = str_trim(text);
		rq.text = cmd;
		if (cmd_run(st, cfg, &rq, &rp) < 0) {
			fprintf(stderr, "%s:%d: %s\n", file, lineno,
				buf_str(&rp.text));
			rc = 1;
		}
		reply_free(&rp);
		free(cmd);
		if (rc)
			break;
	}
	store_hold_time(st, 0);
	store_set_as_of(st, 0);
	free(line);
	fclose(fp);
	if (rc == 0)
		printf("seeded %s\n", file);
	return rc;
}

/*
 * run-scheduler [--now "YYYY-MM-DD HH:MM"]: one pass as if it were that
 * time in the [org] timezone (default: now).
 */
static int
ctl_run_scheduler(struct store *st, const struct config *cfg, int argc,
		  char **argv)
{
	const char *when = NULL;
	struct buf log = {0};
	char err[320], at[40], used[512];
	int64_t now;
	int i, n, dry = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--now") == 0 && i + 1 < argc)
			when = argv[++i];
		else if (strncmp(argv[i], "--now=", 6) == 0)
			when = argv[i] + 6;
		else if (strcmp(argv[i], "--dry-run") == 0)
			dry = 1;
		else {
			fprintf(stderr, "usage: ismsctl run-scheduler [--now "
					"\"YYYY-MM-DD HH:MM\"] [--dry-run]\n");
			return 2;
		}
	}
	if (when == NULL) {
		now = store_now(st);
	} else if (tz_parse(cfg->org_timezone, when, &now) < 0) {
		fprintf(stderr,
			"ismsctl: --now: expected \"YYYY-MM-DD HH:MM\" "
			"(read in %s), got \"%s\"\n",
			cfg->org_timezone, when);
		return 2;
	}
	if (sched_check(err, sizeof(err)) < 0) {
		fprintf(stderr, "ismsctl: %s\n", err);
		return 1;
	}
	config_describe(cfg, used, sizeof(used));
	printf("%s\n", used);
	/*
	 * A dry run is the same pass inside one transaction that is rolled
	 * back: what it prints is exactly what would be sent.
	 */
	if (dry && store_begin(st) < 0) {
		fprintf(stderr, "ismsctl: %s\n", db_errmsg(st));
		return 1;
	}
	if (when != NULL)
		store_set_as_of(st, now);
	n = sched_run_log(st, cfg, now, &log);
	store_set_as_of(st, 0);
	if (dry)
		store_rollback(st);
	tz_format(cfg->org_timezone, now, at);
	fput_printable(stdout, buf_str(&log), PRINT_KEEP_NL | PRINT_KEEP_TAB);
	buf_free(&log);
	if (n < 0) {
		fprintf(stderr,
			"ismsctl: scheduler pass as of %s: a job failed (see "
			"above); the others ran\n",
			at);
		return 1;
	}
	printf("scheduler pass as of %s: %d message%s %s\n", at, n,
	       n == 1 ? "" : "s",
	       dry ? "would be queued (dry run: nothing was written)"
		   : "queued");
	return 0;
}

/* report: the management summary, as an auditor would see it. */
static int
ctl_report(struct store *st, const struct config *cfg, int argc, char **argv)
{
	struct person tool = {
	    .handle = "ismsctl", .name = "ismsctl", .roles = ROLE_AUDITOR};
	struct isms_reply rp = {0};
	int rc;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: ismsctl report\n");
		return 2;
	}
	rc = cmd_run_as(st, cfg, &tool, "report", &rp);
	fputs(rc < 0 ? "ismsctl: " : "", rc < 0 ? stderr : stdout);
	fput_printable(rc < 0 ? stderr : stdout, buf_str(&rp.text),
		       PRINT_KEEP_NL | PRINT_KEEP_TAB);
	fputc('\n', rc < 0 ? stderr : stdout);
	reply_free(&rp);
	return rc < 0 ? 1 : 0;
}

/*
 * outbox-retry: failed deliveries go back to pending, and messages no
 * transport reached are routed again (after a token was fixed, an address
 * corrected or a transport enabled). A running daemon picks them up.
 */
static int
ctl_outbox_retry(struct store *st, const struct config *cfg, int argc,
		 char **argv)
{
	char details[96];
	int retried, rerouted;

	(void)cfg;
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: ismsctl outbox-retry\n");
		return 2;
	}
	if (store_begin(st) < 0)
		return 1;
	/* a message that reached the person on another transport is not
	 * sent again */
	retried = db_exec(st,
			  "UPDATE outbox_delivery SET status = 'pending', "
			  "attempts = 0, next_at = 0 WHERE status = 'failed' "
			  "AND transport != 'none' AND NOT EXISTS (SELECT 1 "
			  "FROM outbox_delivery e WHERE e.outbox_id = "
			  "outbox_delivery.outbox_id AND e.status = 'sent')",
			  NULL);
	rerouted = db_exec(st,
			   "UPDATE outbox SET routed = 0 WHERE id IN (SELECT "
			   "outbox_id FROM outbox_delivery WHERE transport = "
			   "'none')",
			   NULL);
	snprintf(details, sizeof(details), "{\"retried\":%d,\"rerouted\":%d}",
		 retried, rerouted);
	if (retried < 0 || rerouted < 0 ||
	    db_exec(st, "DELETE FROM outbox_delivery WHERE transport = 'none'",
		    NULL) < 0 ||
	    /* what fails again is in a later digest again */
	    db_exec(st,
		    "DELETE FROM nudges WHERE kind = 'delivery.failed' AND "
		    "object IN (SELECT 'OUT-' || outbox_id FROM "
		    "outbox_delivery WHERE status = 'pending' UNION SELECT "
		    "'OUT-' || id FROM outbox WHERE routed = 0)",
		    NULL) < 0 ||
	    store_audit(st, ctl_actor(), "outbox.retry", "outbox", details) <
		0 ||
	    store_commit(st) < 0) {
		store_rollback(st);
		fprintf(stderr, "ismsctl: cannot requeue: %s\n", db_errmsg(st));
		return 1;
	}
	printf("requeued %d failed deliveries; %d messages will be routed "
	       "again\n",
	       retried, rerouted);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct store *st, const struct config *cfg, int argc,
		   char **argv);
	const char *usage;
} ctl_table[] = {
    {"seed", ctl_seed,
     "seed FILE [--now \"YYYY-MM-DD HH:MM\"]  run \"handle: command\" "
     "lines ({+Nd}: the\n                                date N days "
     "from now)"},
    {"report", ctl_report,
     "report                        the management summary"},
    {"run-scheduler", ctl_run_scheduler,
     "run-scheduler [--now \"YYYY-MM-DD HH:MM\"] [--dry-run]  one scheduler "
     "pass as of\n                                that time (read in [org] "
     "timezone; prints the configuration\n                                "
     "used); --dry-run prints and writes nothing"},
    {"outbox-retry", ctl_outbox_retry,
     "outbox-retry                  send failed messages again"},
    {"portal-link", ctl_portal_link,
     "portal-link --for @h [--hours N] [--mail] [--now \"YYYY-MM-DD "
     "HH:MM\"]\n                                a one-time link into the "
     "web portal (1 h\n                                by default, 24 at "
     "most); --mail queues it to the person;\n                       "
     "         --now makes it as of then (in the past: expired)"},
    {"portal-sessions", ctl_portal_sessions,
     "portal-sessions [--all] | revoke ID|--all\n                       "
     "         the portal's live sessions (never their secret); end them"},
    {"matrix-devices", ctl_matrix_devices,
     "matrix-devices [--user @u:s] | verify|unverify|forget @u:s DEVICE\n"
     "                                the Matrix devices end-to-end "
     "encryption knows\n                                (ed25519 "
     "fingerprints); mark one verified or not, or\n"
     "                                forget it to take its keys afresh"},
    {"migrate", ctl_migrate,
     "migrate --to postgresql://... [--key file:PATH|env:NAME]\n"
     "                                copy the database into an empty "
     "PostgreSQL one\n                                (ids, audit chain "
     "and record hashes; the same audit key,\n"
     "                                by default this database's), "
     "verified there"},
    {NULL, NULL, NULL},
};

int
ctl_extra(struct store *st, const struct config *cfg, int argc, char **argv)
{
	size_t i;

	for (i = 0; ctl_table[i].name; i++)
		if (strcmp(ctl_table[i].name, argv[0]) == 0)
			return ctl_table[i].run(st, cfg, argc, argv);
	return -1;
}

const char *
ctl_extra_usage(void)
{
	static char text[4096];
	struct buf b = {0};
	size_t i;

	for (i = 0; ctl_table[i].name; i++)
		buf_printf(&b, "  %s\n", ctl_table[i].usage);
	snprintf(text, sizeof(text), "%s", buf_str(&b));
	buf_free(&b);
	return text;
}
