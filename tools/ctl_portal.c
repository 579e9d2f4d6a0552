/*
 * ismsctl portal-link and portal-sessions: one-time links into the web
 * portal for people without a chat account (an external auditor), and
 * the sessions open on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/tz.h"
#include "../commands/cmd.h"
#include "../commands/portal.h"
#include "ctl.h"

/*
 * portal-link --for @h [--hours N] [--mail] [--now "YYYY-MM-DD HH:MM"]:
 * prints a link, or queues it as a mail to the person. --now makes the
 * link as of that time (a link made in the past is already expired:
 * how tests check that expired links are refused).
 */
int
ctl_portal_link(struct store *st, const struct config *cfg, int argc,
		char **argv)
{
	const char *who = NULL, *when = NULL;
	char url[768], err[256], subject[128];
	struct person p;
	long hours = 0;
	int i, mail = 0, rc;
	int64_t now;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--for") == 0 && i + 1 < argc)
			who = argv[++i];
		else if (strcmp(argv[i], "--hours") == 0 && i + 1 < argc) {
			if (parse_int(argv[++i], 1, PORTAL_LINK_MAX_HOURS,
				      &hours) < 0) {
				fprintf(stderr,
					"ismsctl: --hours: expected 1 to %d\n",
					PORTAL_LINK_MAX_HOURS);
				return 2;
			}
		} else if (strcmp(argv[i], "--mail") == 0)
			mail = 1;
		else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc)
			when = argv[++i];
		else
			who = NULL, i = argc;
	}
	if (who == NULL) {
		fprintf(stderr, "usage: ismsctl portal-link --for @handle "
				"[--hours N] [--mail] [--now \"YYYY-MM-DD "
				"HH:MM\"]\n");
		return 2;
	}
	now = store_now(st);
	if (when != NULL && tz_parse(cfg->org_timezone, when, &now) < 0) {
		fprintf(stderr, "ismsctl: --now: expected \"YYYY-MM-DD HH:MM\" "
				"(read in [org] timezone)\n");
		return 2;
	}
	rc = store_person_find(st, "handle", who[0] == '@' ? who + 1 : who, &p);
	if (rc == 0) {
		int64_t left = 0;

		/* only active people are found: say so of a leaver */
		if (db_int(st, &left,
			   "SELECT COUNT(*) FROM people WHERE handle = ? AND "
			   "active = 0",
			   "t", who[0] == '@' ? who + 1 : who) < 0)
			rc = -1;
		else if (left > 0) {
			fprintf(stderr,
				"ismsctl: @%s has left (inactive): no portal "
				"link\n",
				who[0] == '@' ? who + 1 : who);
			return 2;
		}
	}
	if (rc <= 0) {
		fprintf(stderr, "ismsctl: no person %s in the directory\n",
			who);
		return rc < 0 ? 1 : 2;
	}
	if (!portal_enabled(cfg) &&
	    (cfg->portal_url == NULL || cfg->portal_url[0] == '\0')) {
		fprintf(stderr, "ismsctl: the portal is not configured: set "
				"[portal] listen (and url) in the "
				"configuration\n");
		return 2;
	}
	if (mail && p.email[0] == '\0') {
		fprintf(stderr, "ismsctl: %s has no e-mail address\n",
			p.handle);
		return 2;
	}
	if (store_begin(st) < 0)
		return 1;
	if (portal_link_make(st, cfg, "ismsctl", mail ? "mail" : "ismsctl", &p,
			     now, hours ? hours * 3600 : 3600, url, sizeof(url),
			     err, sizeof(err)) < 0) {
		store_rollback(st);
		fprintf(stderr, "ismsctl: %s\n", err);
		return p.active ? 1 : 2;
	}
	if (mail) {
		char *body = xasprintf(
		    "Hello %s,\n\nthis link opens the read-only ISMS portal of "
		    "%s for you, once, within %ld hour%s:\n\n%s\n\nDo not "
		    "forward it: whoever opens it first is signed in as you. "
		    "If you did not expect it, tell the ISMS team.\n",
		    p.name, cfg->org_name, hours ? hours : 1,
		    (hours ? hours : 1) == 1 ? "" : "s", url);

		snprintf(subject, sizeof(subject),
			 "Your link to the %s ISMS "
			 "portal",
			 cfg->org_name);
		if (store_outbox_add(st, 0, p.email, msg_kind_name(MSG_PORTAL),
				     subject, body, NULL, NULL) < 0) {
			free(body);
			store_rollback(st);
			fprintf(stderr, "ismsctl: cannot queue the mail\n");
			return 1;
		}
		free(body);
	}
	if (store_commit(st) < 0) {
		store_rollback(st);
		fprintf(stderr, "ismsctl: cannot write: %s\n", db_errmsg(st));
		return 1;
	}
	if (mail)
		printf("portal link for %s queued as a mail to %s\n", p.handle,
		       p.email);
	else
		printf("%s\n", url);
	return 0;
}

static void
session_line(void *arg, const struct portal_session_row *r)
{
	char c[32], e[32], l[32], v[32];

	(void)arg;
	time_iso(r->created, c);
	time_iso(r->expires, e);
	time_iso(r->last_seen, l);
	if (r->revoked)
		time_iso(r->revoked, v);
	printf("%lld\t%s\tcreated %s\texpires %s\tlast seen %s%s%s\n",
	       (long long)r->id, r->handle, c, e, l,
	       r->revoked ? "\trevoked " : "", r->revoked ? v : "");
}

/*
 * portal-sessions [--all]: the live sessions (--all: every one);
 * portal-sessions revoke ID|--all: ends one or all.
 */
int
ctl_portal_sessions(struct store *st, const struct config *cfg, int argc,
		    char **argv)
{
	int64_t now = store_now(st);
	long id = 0;
	char details[64];
	int n;

	(void)cfg;
	if (argc == 1 || (argc == 2 && strcmp(argv[1], "--all") == 0)) {
		n = portal_session_each(st, now, argc == 1, session_line, NULL);
		if (n < 0) {
			fprintf(stderr, "ismsctl: database error\n");
			return 1;
		}
		if (n == 0)
			printf("no %sportal sessions\n",
			       argc == 1 ? "live " : "");
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "revoke") != 0 ||
	    (strcmp(argv[2], "--all") != 0 &&
	     parse_int(argv[2], 1, 1L << 30, &id) < 0)) {
		fprintf(stderr,
			"usage: ismsctl portal-sessions [--all]\n"
			"       ismsctl portal-sessions revoke ID|--all\n");
		return 2;
	}
	if (store_begin(st) < 0)
		return 1;
	n = portal_session_revoke(st, id, 0, now);
	snprintf(details, sizeof(details), "{\"sessions\":%d}", n);
	if (n < 0 ||
	    (n > 0 && store_audit(st, "ismsctl", "portal.revoke",
				  id ? argv[2] : "all", details) < 0) ||
	    store_commit(st) < 0) {
		store_rollback(st);
		fprintf(stderr, "ismsctl: cannot revoke: %s\n", db_errmsg(st));
		return 1;
	}
	if (n == 0 && id) {
		fprintf(stderr, "ismsctl: no live portal session %ld\n", id);
		return 2;
	}
	printf("%d portal session%s revoked\n", n, n == 1 ? "" : "s");
	return 0;
}
