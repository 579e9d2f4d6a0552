/*
 * INI reader and the configuration table. Hand-written (about a hundred
 * lines) because every problem must be reported with its file:line, all
 * of them at once, which a callback-only reader cannot do.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <unistd.h>

#include "../base/log.h"
#include "../base/tz.h"

enum ctype {
	CT_STR,
	CT_SECRET,
	CT_BOOL,
	CT_INT,
	CT_ENUM,
	CT_HOURS,
	CT_DAYS,
	CT_LEVELS,
	CT_PERIOD,
	CT_ZONE,
	CT_LISTEN,
	CT_KEYSPEC,
	CT_TRAINING,
	CT_DURATION, /* seconds: 0, or a count with s, m, h or d */
};

struct centry {
	const char *section;
	const char *key;
	enum ctype type;
	size_t off;
	const char *def;
	const char *help;
	long min, max;	     /* CT_INT */
	const char *choices; /* CT_ENUM, '|' separated */
	/*
	 * CFG_LIVE: a reload (SIGHUP) applies a new value at once, since
	 * whoever reads it reads the running configuration each time;
	 * CFG_RESTART: read once at start-up (connections, listeners,
	 * copied secrets), so a new value waits for a restart
	 */
	int live;
};

#define CFG_RESTART 0
#define CFG_LIVE    1

#define OFF(f) offsetof(struct config, f)

static const struct centry config_table[] = {
    {"store", "path", CT_STR, OFF(store_path), "isms.db",
     "SQLite database file (made by \"ismsctl --db PATH init\").", 0, 0, NULL,
     CFG_RESTART},
    {"store", "url", CT_SECRET, OFF(store_url), "",
     "PostgreSQL database in place of path: a libpq URL, "
     "postgresql://USER@HOST[:PORT]/DB?sslmode=verify-full (TLS and "
     "everything else as libpq reads it). Needs audit_key. Several ismsd "
     "may share one: one leads, the others stand by (docs/postgresql.md).",
     0, 0, NULL, CFG_RESTART},
    {"store", "audit_key", CT_KEYSPEC, OFF(store_audit_key), "",
     "Key of the audit log's HMAC chain and record hashes, kept outside "
     "the database: file:/path (made by any writing start when missing) or "
     "env:NAME (holding the file's text); empty: the file PATH.audit-key "
     "beside the database.",
     0, 0, NULL, CFG_RESTART},
    {"store", "group", CT_STR, OFF(store_group), "",
     "Group given read access to the database, its -wal and -shm files, "
     "the lock file, the audit key and backups (mode 0640); empty: they "
     "are the owner's alone (0600). The process must be a member.",
     0, 0, NULL, CFG_RESTART},
    {"store", "publish_head", CT_BOOL, OFF(store_publish_head), "true",
     "Send the audit log's head (SEQ:HASH) once a day to the isms_managers "
     "and auditors, in their working hours.",
     0, 0, NULL, CFG_LIVE},
    {"security", "allow_shared_secret_files", CT_BOOL,
     OFF(allow_shared_secret_files), "false",
     "Accept file: secrets readable by group or others (with a warning).", 0, 0,
     NULL, CFG_LIVE},
    {"org", "name", CT_STR, OFF(org_name), "Example Org",
     "Organisation name used in reports and mails.", 0, 0, NULL, CFG_LIVE},
    {"org", "timezone", CT_ZONE, OFF(org_timezone), "UTC",
     "Default IANA time zone for working hours and --now.", 0, 0, NULL,
     CFG_LIVE},
    {"org", "working_hours", CT_HOURS, 0, "09:00-17:30",
     "Nudges go out only within these hours (HH:MM-HH:MM).", 0, 0, NULL,
     CFG_LIVE},
    {"org", "working_days", CT_DAYS, 0, "mon-fri",
     "Working days: a range (mon-fri) or a list (mon,wed,fri).", 0, 0, NULL,
     CFG_LIVE},
    {"risk", "appetite", CT_INT, OFF(risk_appetite), "6",
     "Highest score (likelihood x impact) accepted without approval.", 1, 25,
     NULL, CFG_LIVE},
    {"risk", "levels", CT_LEVELS, 0, "4,9,16",
     "Upper bounds of low, medium and high; above is critical.", 0, 0, NULL,
     CFG_LIVE},
    {"risk", "accept_by_isms_manager", CT_BOOL,
     OFF(risk_accept_by_isms_manager), "false",
     "Route risk acceptances to an isms_manager, not the owner's manager.", 0,
     0, NULL, CFG_LIVE},
    {"risk", "acceptance_months", CT_INT, OFF(risk_acceptance_months), "12",
     "A risk acceptance holds this many months; its owner is reminded 30 "
     "days ahead, and at expiry it waits for approval again.",
     1, 60, NULL, CFG_LIVE},
    {"slack", "enabled", CT_BOOL, OFF(slack_enabled), "false",
     "Connect to Slack.", 0, 0, NULL, CFG_RESTART},
    {"slack", "mode", CT_ENUM, OFF(slack_mode), "socket",
     "socket (Socket Mode, no public URL) or http (Events API POSTs).", 0, 0,
     "socket|http", CFG_RESTART},
    {"slack", "app_token", CT_SECRET, OFF(slack_app_token), "",
     "App-level token (xapp-...), Socket Mode only.", 0, 0, NULL, CFG_RESTART},
    {"slack", "bot_token", CT_SECRET, OFF(slack_bot_token), "",
     "Bot token (xoxb-...).", 0, 0, NULL, CFG_RESTART},
    {"slack", "signing_secret", CT_SECRET, OFF(slack_signing_secret), "",
     "Signing secret, HTTP mode only.", 0, 0, NULL, CFG_RESTART},
    {"slack", "listen", CT_LISTEN, OFF(slack_listen), "127.0.0.1:3000",
     "host:port for HTTP mode; requests arrive on /slack/events.", 0, 0, NULL,
     CFG_RESTART},
    {"slack", "api_base", CT_STR, OFF(slack_api_base), "https://slack.com/api",
     "Web API base URL.", 0, 0, NULL, CFG_RESTART},
    {"http", "max_connections", CT_INT, OFF(http_max_connections), "1024",
     "HTTP mode: open connections at most; at the cap the one idle longest "
     "is closed for a new one (kept 64 below the open-file limit).",
     16, 1000000, NULL, CFG_RESTART},
    {"http", "max_per_address", CT_INT, OFF(http_max_per_address), "256",
     "Connections from one client address at most (its idle ones are "
     "closed first); 0 for no limit. Behind a reverse proxy all come from "
     "the proxy.",
     0, 1000000, NULL, CFG_RESTART},
    {"http", "idle_timeout", CT_INT, OFF(http_idle_timeout), "30",
     "Seconds a connection may wait without a request under way.", 1, 3600,
     NULL, CFG_RESTART},
    {"http", "header_timeout", CT_INT, OFF(http_header_timeout), "10",
     "Seconds a request's head and body may take from its first byte.", 1, 600,
     NULL, CFG_RESTART},
    {"http", "max_unauthenticated_bytes", CT_INT,
     OFF(http_max_unauthenticated_bytes), "8388608",
     "Request body bytes held at once before their signature is checked "
     "and they are answered; a request over it gets 503 with Retry-After "
     "before its body is read.",
     1048576, 1073741824, NULL, CFG_RESTART},
    {"matrix", "enabled", CT_BOOL, OFF(matrix_enabled), "false",
     "Connect to a Matrix homeserver.", 0, 0, NULL, CFG_RESTART},
    {"matrix", "homeserver", CT_STR, OFF(matrix_homeserver), "",
     "Homeserver base URL, e.g. https://matrix.example.org.", 0, 0, NULL,
     CFG_RESTART},
    {"matrix", "user_id", CT_STR, OFF(matrix_user_id), "",
     "The bot's Matrix id, e.g. @isms:example.org.", 0, 0, NULL, CFG_RESTART},
    {"matrix", "access_token", CT_SECRET, OFF(matrix_access_token), "",
     "Access token; or leave empty and set password.", 0, 0, NULL, CFG_RESTART},
    {"matrix", "password", CT_SECRET, OFF(matrix_password), "",
     "Password for m.login.password (used when no token, or to re-login).", 0,
     0, NULL, CFG_RESTART},
    {"matrix", "allowed_servers", CT_STR, OFF(matrix_allowed_servers), "",
     "Comma-separated server names whose invites are accepted.", 0, 0, NULL,
     CFG_RESTART},
    {"matrix", "device_id", CT_STR, OFF(matrix_device_id), "ISMSD",
     "Device id kept across logins (scopes transaction ids).", 0, 0, NULL,
     CFG_RESTART},
    {"matrix", "pickle_key", CT_SECRET, OFF(matrix_pickle_key), "",
     "Key that encrypts the bot's end-to-end encryption keys in the "
     "database (file:PATH or env:NAME). Set it to read and write in "
     "encrypted rooms; empty: encrypted rooms are told they are not "
     "supported. Keep it with the database's backups: without it the "
     "keys cannot be read.",
     0, 0, NULL, CFG_RESTART},
    {"matrix", "trust", CT_ENUM, OFF(matrix_trust), "tofu",
     "Which devices get the keys to the bot's messages: tofu (every "
     "device as first seen; a device whose keys later change is kept out "
     "and logged) or verified (only devices marked with ismsctl "
     "matrix-devices verify).",
     0, 0, "tofu|verified", CFG_RESTART},
    {"matrix", "encrypt_dms", CT_BOOL, OFF(matrix_encrypt_dms), "false",
     "Open the bot's direct chats encrypted (needs pickle_key). A server "
     "that encrypts new chats by default is followed either way.",
     0, 0, NULL, CFG_RESTART},
    {"mail", "enabled", CT_BOOL, OFF(mail_enabled), "false",
     "Send and receive e-mail.", 0, 0, NULL, CFG_RESTART},
    {"mail", "smtp_url", CT_STR, OFF(mail_smtp_url), "",
     "SMTP server as smtp://host:port (port 587 when omitted).", 0, 0, NULL,
     CFG_RESTART},
    {"mail", "smtp_user", CT_STR, OFF(mail_smtp_user), "",
     "SMTP AUTH user (empty: no AUTH).", 0, 0, NULL, CFG_LIVE},
    {"mail", "smtp_password", CT_SECRET, OFF(mail_smtp_password), "",
     "SMTP AUTH password.", 0, 0, NULL, CFG_LIVE},
    {"mail", "starttls", CT_ENUM, OFF(mail_starttls), "required",
     "STARTTLS on SMTP (and on imap:// URLs): required or "
     "when-available.",
     0, 0, "required|when-available", CFG_LIVE},
    {"mail", "from", CT_STR, OFF(mail_from), "",
     "Sender address, e.g. isms@acme.example.", 0, 0, NULL, CFG_LIVE},
    {"mail", "reply_domain", CT_STR, OFF(mail_reply_domain), "",
     "Domain of per-request Reply-To addresses (local+token@domain).", 0, 0,
     NULL, CFG_LIVE},
    {"mail", "imap_url", CT_STR, OFF(mail_imap_url), "",
     "Mailbox polled for replies, e.g. imaps://host/INBOX.", 0, 0, NULL,
     CFG_RESTART},
    {"mail", "imap_user", CT_STR, OFF(mail_imap_user), "", "IMAP user.", 0, 0,
     NULL, CFG_LIVE},
    {"mail", "imap_password", CT_SECRET, OFF(mail_imap_password), "",
     "IMAP password.", 0, 0, NULL, CFG_LIVE},
    {"mail", "incident_address", CT_STR, OFF(mail_incident_address), "",
     "Mail to this address from known staff becomes an incident.", 0, 0, NULL,
     CFG_LIVE},
    {"mail", "require_dkim", CT_BOOL, OFF(mail_require_dkim), "false",
     "Only accept approval replies with dkim=pass from authserv_id.", 0, 0,
     NULL, CFG_LIVE},
    {"mail", "authserv_id", CT_STR, OFF(mail_authserv_id), "",
     "authserv-id of the trusted receiving server's "
     "Authentication-Results.",
     0, 0, NULL, CFG_LIVE},
    {"mail", "trusted_ar_headers", CT_INT, OFF(mail_trusted_ar_headers), "1",
     "How many Authentication-Results headers from the top your own "
     "servers added; only these may carry the DKIM verdict.",
     1, 20, NULL, CFG_LIVE},
    {"mail", "poll_seconds", CT_INT, OFF(mail_poll_seconds), "60",
     "IMAP poll interval.", 1, 86400, NULL, CFG_LIVE},
    {"mail", "ca_file", CT_STR, OFF(mail_ca_file), "",
     "PEM file of the CAs trusted for the SMTP and IMAP servers "
     "(empty: the system store).",
     0, 0, NULL, CFG_LIVE},
    {"mail", "tls_verify", CT_BOOL, OFF(mail_tls_verify), "true",
     "Verify the mail servers' certificates and host names; false is "
     "for tests only and logged as a warning.",
     0, 0, NULL, CFG_LIVE},
    {"quiz", "every", CT_PERIOD, OFF(quiz_every), "3m",
     "Periodic awareness campaign (7d, 2w, 3m, 1y) or off.", 0, 0, NULL,
     CFG_LIVE},
    {"quiz", "questions", CT_INT, OFF(quiz_questions), "5",
     "Questions per person per campaign.", 1, 20, NULL, CFG_LIVE},
    {"quiz", "deadline_days", CT_INT, OFF(quiz_deadline_days), "14",
     "Days until a campaign closes.", 1, 365, NULL, CFG_LIVE},
    {"nudge", "escalate_after_days", CT_INT, OFF(nudge_escalate_after_days),
     "7", "Overdue days before the owner's manager is told.", 1, 365, NULL,
     CFG_LIVE},
    {"nudge", "repeat_days", CT_INT, OFF(nudge_repeat_days), "7",
     "An overdue item is nudged again at most this often.", 1, 365, NULL,
     CFG_LIVE},
    {"training", "required", CT_TRAINING, OFF(training_required), "",
     "Courses each role must have completed, \"role: course\" separated "
     "by semicolons (staff: everyone), e.g. \"staff: Security basics; "
     "isms_manager: ISO 27001 lead implementer\"; a role may be named "
     "more than once. A completed awareness quiz counts as \"Awareness "
     "quiz\" for a year. People missing one are nudged.",
     0, 0, NULL, CFG_LIVE},
    {"report", "every", CT_PERIOD, OFF(report_every), "1m",
     "Management report period (7d, 2w, 1m, 3m) or off.", 0, 0, NULL, CFG_LIVE},
    {"report", "recipients", CT_STR, OFF(report_recipients), "",
     "Comma-separated e-mail addresses or handles.", 0, 0, NULL, CFG_LIVE},
    {"admin", "listen", CT_LISTEN, OFF(admin_listen), "",
     "host:port of the admin listener (GET /healthz and /metrics), e.g. "
     "127.0.0.1:9090 or [::1]:9090; empty: off. It has no "
     "authentication: loopback only unless allow_remote is true.",
     0, 0, NULL, CFG_RESTART},
    {"admin", "allow_remote", CT_BOOL, OFF(admin_allow_remote), "false",
     "Allow admin.listen on an address that is not loopback (put a "
     "firewall or an authenticating proxy in front).",
     0, 0, NULL, CFG_RESTART},
    {"admin", "exit_when_down", CT_DURATION, OFF(admin_exit_when_down), "10m",
     "When every enabled transport is down for good (a revoked token), "
     "exit with status 3 after this long (30s, 10m, 1h), so that the "
     "service manager restarts or alerts; 0: never.",
     0, 0, NULL, CFG_LIVE},
    {"portal", "listen", CT_LISTEN, OFF(portal_listen), "",
     "host:port of the read-only web portal (empty: off), e.g. "
     "127.0.0.1:8080; people reach it by one-time links (/isms portal, "
     "ismsctl portal-link).",
     0, 0, NULL, CFG_RESTART},
    {"portal", "url", CT_STR, OFF(portal_url), "",
     "The portal's address as people reach it, for links (e.g. "
     "https://isms.example.org behind a reverse proxy); empty: http:// "
     "and listen.",
     0, 0, NULL, CFG_RESTART},
    {"portal", "tls_cert", CT_STR, OFF(portal_tls_cert), "",
     "PEM certificate chain file (server certificate first): with "
     "tls_key the portal serves HTTPS itself (TLS 1.2 or later) and the "
     "default url is https:// and listen; empty: plain HTTP, e.g. behind "
     "a reverse proxy that terminates TLS (it sends "
     "X-Forwarded-Proto: https from loopback).",
     0, 0, NULL, CFG_RESTART},
    {"portal", "tls_key", CT_STR, OFF(portal_tls_key), "",
     "PEM private key file of tls_cert; not readable by group or others "
     "(see allow_shared_secret_files).",
     0, 0, NULL, CFG_RESTART},
    {"log", "level", CT_ENUM, OFF(log_level), "info",
     "error, warn, info or debug.", 0, 0, "error|warn|info|debug", CFG_LIVE},
    {"log", "format", CT_ENUM, OFF(log_format), "text",
     "text (\"TIME LEVEL message\") or json (one object per line with "
     "time, level and msg).",
     0, 0, "text|json", CFG_LIVE},
};

/* The role names of the directory (store/staff), for [training] required. */
#define TRAINING_ROLES                                                         \
	"staff, manager, risk_owner, isms_manager, auditor, admin, management"

static void cerr(struct config_errors *e, const char *file, int line,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
cerr(struct config_errors *e, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (line > 0)
		buf_printf(&e->text, "%s:%d: ", file, line);
	else
		buf_printf(&e->text, "%s: ", file);
	va_start(ap, fmt);
	buf_vprintf(&e->text, fmt, ap);
	va_end(ap);
	buf_putc(&e->text, '\n');
	e->count++;
}

static int
parse_hhmm(const char *s, int *min)
{
	int h, m, n = 0;

	if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 || h < 0 ||
	    h > 24 || m < 0 || m > 59 || (h == 24 && m != 0))
		return -1;
	*min = h * 60 + m;
	return 0;
}

static int
parse_hours(const char *v, int *start, int *end)
{
	char a[6], b[6];

	if (strlen(v) != 11 || v[5] != '-')
		return -1;
	memcpy(a, v, 5);
	a[5] = '\0';
	memcpy(b, v + 6, 5);
	b[5] = '\0';
	if (parse_hhmm(a, start) < 0 || parse_hhmm(b, end) < 0 ||
	    *end <= *start)
		return -1;
	return 0;
}

static int
day_index(const char *s, size_t n)
{
	static const char *days[] = {"sun", "mon", "tue", "wed",
				     "thu", "fri", "sat"};
	int i;

	if (n != 3)
		return -1;
	for (i = 0; i < 7; i++)
		if (strncasecmp(s, days[i], 3) == 0)
			return i;
	return -1;
}

static int
parse_days(const char *v, unsigned *mask)
{
	const char *p = v;

	*mask = 0;
	if (strlen(v) == 7 && v[3] == '-') {
		int a = day_index(v, 3), b = day_index(v + 4, 3);

		if (a < 0 || b < 0)
			return -1;
		/* ranges run from Monday towards Sunday, wrapping */
		for (;;) {
			*mask |= 1u << a;
			if (a == b)
				break;
			a = (a + 1) % 7;
		}
		return 0;
	}
	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		int d = day_index(p, n);

		if (d < 0)
			return -1;
		*mask |= 1u << d;
		p += n;
		if (*p == ',')
			p++;
	}
	return *mask ? 0 : -1;
}

static int
parse_levels(const char *v, int lv[3])
{
	int n = 0;

	if (sscanf(v, "%d , %d , %d %n", &lv[0], &lv[1], &lv[2], &n) != 3 ||
	    v[n] != '\0')
		return -1;
	if (lv[0] < 1 || lv[0] >= lv[1] || lv[1] >= lv[2] || lv[2] >= 25)
		return -1;
	return 0;
}

/* Copies [s, s + n) trimmed into out; -1 when empty or too long. */
static int
copy_trimmed(const char *s, size_t n, char *out, size_t len)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || n >= len)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int
config_training_next(const char **p, char *role, size_t rolelen, char *course,
		     size_t courselen)
{
	static const char *const roles[] = {
	    "staff",   "manager", "risk_owner", "isms_manager",
	    "auditor", "admin",	  "management"};
	const char *s = *p, *colon;
	size_t n, i;

	while (*s == ';' || isspace((unsigned char)*s))
		s++;
	if (*s == '\0') {
		*p = s;
		return 0;
	}
	n = strcspn(s, ";");
	colon = memchr(s, ':', n);
	if (colon == NULL ||
	    copy_trimmed(s, (size_t)(colon - s), role, rolelen) < 0 ||
	    copy_trimmed(colon + 1, n - (size_t)(colon - s) - 1, course,
			 courselen) < 0)
		return -1;
	*p = s + n;
	for (i = 0; i < ARRAY_LEN(roles); i++)
		if (strcmp(role, roles[i]) == 0)
			return 1;
	return -1;
}

long
config_duration(const char *s)
{
	static const struct {
		char unit;
		long secs;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	char num[16];
	size_t len, i;
	long n;

	if (s == NULL)
		return -1;
	if (strcmp(s, "0") == 0)
		return 0;
	len = strlen(s);
	if (len < 2 || len > sizeof(num))
		return -1;
	memcpy(num, s, len - 1);
	num[len - 1] = '\0';
	for (i = 0; i < ARRAY_LEN(units); i++)
		if (s[len - 1] == units[i].unit) {
			if (parse_int(num, 0, 30 * 86400 / units[i].secs, &n) <
			    0)
				return -1;
			return n * units[i].secs;
		}
	return -1;
}

int
config_is_loopback(const char *host)
{
	unsigned char a[16];
	static const unsigned char v6_loop[16] = {0, 0, 0, 0, 0, 0, 0, 0,
						  0, 0, 0, 0, 0, 0, 0, 1};

	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1)
		return memcmp(a, v6_loop, 16) == 0;
	return 0;
}

int
config_period(const char *s, int *count, char *unit)
{
	long n;
	size_t len;
	char num[16];

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len < 2 || len > 6 || strchr("dwmy", s[len - 1]) == NULL)
		return -1;
	memcpy(num, s, len - 1);
	num[len - 1] = '\0';
	if (parse_int(num, 1, 999, &n) < 0)
		return -1;
	*count = (int)n;
	*unit = s[len - 1];
	return 0;
}

static char *
read_secret_file(const char *path, const char *name, int line, const char *key,
		 struct config_errors *e)
{
	FILE *fp;
	struct buf b = {0};
	struct stat sb;
	char chunk[512];
	size_t n;

	if (stat(path, &sb) < 0) {
		cerr(e, name, line, "%s: cannot read secret file %s: %s", key,
		     path, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(sb.st_mode)) {
		cerr(e, name, line,
		     "%s: secret file %s is a directory, not a file", key,
		     path);
		return NULL;
	}
	if (sb.st_mode & 077) {
		/* judged once the whole file is read ([security] may follow) */
		buf_printf(&e->shared, "%d\t%s\t%s\t%04o\n", line, key, path,
			   (unsigned)(sb.st_mode & 0777));
	}
	fp = fopen(path, "r");
	if (fp == NULL) {
		cerr(e, name, line, "%s: cannot read secret file %s: %s", key,
		     path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && b.len < 65536)
		buf_add(&b, chunk, n);
	fclose(fp);
	while (b.len > 0 &&
	       (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	return buf_steal(&b);
}

/*
 * A secret file readable by group or others: an error, or a warning with
 * [security] allow_shared_secret_files = true. line 0: no line.
 */
static void
judge_shared_file(const struct config *cfg, const char *name, int line,
		  const char *key, const char *path, unsigned mode,
		  struct config_errors *e)
{
	if (!cfg->allow_shared_secret_files) {
		cerr(e, name, line,
		     "%s: secret file %s is readable by group or others "
		     "(mode %04o); chmod 600 it (or set [security] "
		     "allow_shared_secret_files = true)",
		     key, path, mode);
		return;
	}
	if (line > 0)
		buf_printf(&e->text, "%s:%d: ", name, line);
	else
		buf_printf(&e->text, "%s: ", name);
	buf_printf(&e->text,
		   "warning: %s: secret file %s is readable by group or "
		   "others (mode %04o)\n",
		   key, path, mode);
	e->warnings++;
}

/* The file: secrets noted while reading, judged once the file is read. */
static void
config_judge_shared(const struct config *cfg, const char *name,
		    struct config_errors *e)
{
	char *list = buf_steal(&e->shared), *line, *save = NULL;

	for (line = strtok_r(list, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char key[64], path[4096];
		unsigned mode;
		int lineno;

		if (sscanf(line, "%d\t%63[^\t]\t%4095[^\t]\t%o", &lineno, key,
			   path, &mode) != 4)
			continue;
		judge_shared_file(cfg, name, lineno, key, path, mode, e);
	}
	free(list);
}

/* Resolves env:NAME and file:/path; a literal stays as it is. */
static char *
resolve_secret(const char *v, const char *name, int line, const char *key,
	       struct config_errors *e)
{
	if (strncmp(v, "env:", 4) == 0) {
		const char *x = getenv(v + 4);

		if (x == NULL) {
			cerr(e, name, line,
			     "%s: environment variable %s is not set", key,
			     v + 4);
			return NULL;
		}
		return xstrdup(x);
	}
	if (strncmp(v, "file:", 5) == 0)
		return read_secret_file(v + 5, name, line, key, e);
	return xstrdup(v);
}

static int
config_set(struct config *cfg, const struct centry *ce, const char *v,
	   const char *name, int line, struct config_errors *e)
{
	char **sp = (char **)((char *)cfg + ce->off);
	int *ip = (int *)((char *)cfg + ce->off);
	long n;
	int cnt;
	char unit;

	switch (ce->type) {
	case CT_STR:
		goto set_str;
	case CT_KEYSPEC:
		/* resolved by the store, which may have to make the file */
		if (*v != '\0' &&
		    !(strncmp(v, "file:", 5) == 0 && v[5] != '\0') &&
		    !(strncmp(v, "env:", 4) == 0 && v[4] != '\0')) {
			cerr(e, name, line,
			     "%s.%s: expected file:/path or env:NAME, got "
			     "\"%s\"",
			     ce->section, ce->key, v);
			return -1;
		}
		goto set_str;
	case CT_DURATION: {
		long secs = config_duration(v);

		if (secs < 0) {
			cerr(e, name, line,
			     "%s.%s: expected a duration such as 30s, 10m, 2h "
			     "or 1d (at most 30d), or 0, got \"%s\"",
			     ce->section, ce->key, v);
			return -1;
		}
		*ip = (int)secs;
		return 0;
	}
	case CT_LISTEN: {
		char host[256];
		int port;

		/* a listener that is off by default may stay off */
		if (*v == '\0' && ce->def[0] == '\0')
			goto set_str;
		if (config_parse_listen(v, host, sizeof(host), &port) < 0) {
			cerr(e, name, line,
			     "%s.%s: expected host:port or [ipv6]:port with a "
			     "port from 0 to 65535, got \"%s\"",
			     ce->section, ce->key, v);
			return -1;
		}
		goto set_str;
	}
	case CT_SECRET: {
		char *s = resolve_secret(v, name, line, ce->key, e);

		if (s == NULL)
			return -1;
		free(*sp);
		*sp = s;
		return 0;
	}
	case CT_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
			*ip = 1;
		else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
			*ip = 0;
		else
			goto bad;
		return 0;
	case CT_INT:
		if (parse_int(v, ce->min, ce->max, &n) < 0) {
			cerr(e, name, line,
			     "%s.%s: expected a whole number from %ld to %ld",
			     ce->section, ce->key, ce->min, ce->max);
			return -1;
		}
		*ip = (int)n;
		return 0;
	case CT_ENUM: {
		const char *c = ce->choices;
		size_t len = strlen(v);

		while (c) {
			const char *bar = strchr(c, '|');
			size_t cl = bar ? (size_t)(bar - c) : strlen(c);

			if (cl == len && strncmp(c, v, len) == 0) {
				goto set_str;
			}
			c = bar ? bar + 1 : NULL;
		}
		goto bad;
	}
	/* parsed into temporaries: a bad value leaves the old one intact */
	case CT_HOURS: {
		int a, b;

		if (parse_hours(v, &a, &b) < 0)
			goto bad;
		cfg->work_start_min = a;
		cfg->work_end_min = b;
		return 0;
	}
	case CT_DAYS: {
		unsigned mask;

		if (parse_days(v, &mask) < 0)
			goto bad;
		cfg->work_days = mask;
		return 0;
	}
	case CT_LEVELS: {
		int lv[3];

		if (parse_levels(v, lv) < 0)
			goto bad;
		memcpy(cfg->risk_levels, lv, sizeof(lv));
		return 0;
	}
	case CT_PERIOD:
		if (strcmp(v, "off") != 0 && config_period(v, &cnt, &unit) < 0)
			goto bad;
		goto set_str;
	case CT_TRAINING: {
		const char *p = v;
		char role[32], course[CONFIG_COURSE_MAX + 1];

		do
			cnt = config_training_next(&p, role, sizeof(role),
						   course, sizeof(course));
		while (cnt > 0);
		if (cnt < 0) {
			cerr(e, name, line,
			     "%s.%s: expected \"role: course\" separated by "
			     "semicolons, roles among %s, got \"%s\"",
			     ce->section, ce->key, TRAINING_ROLES, v);
			return -1;
		}
		goto set_str;
	}
	case CT_ZONE:
		if (!tz_valid(v)) {
			cerr(e, name, line,
			     "%s.%s: unknown time zone \"%s\" (use an IANA "
			     "name like Europe/Berlin)",
			     ce->section, ce->key, v);
			return -1;
		}
		goto set_str;
	}
	goto bad; /* a type without a case */
set_str:
	/* the string types, once their value passed its check */
	free(*sp);
	*sp = xstrdup(v);
	return 0;
bad:
	cerr(e, name, line, "%s.%s: invalid value \"%s\"%s%s", ce->section,
	     ce->key, ce->type == CT_SECRET ? "(hidden)" : v,
	     ce->choices	   ? "; expected "
	     : ce->type == CT_BOOL ? "; expected true or false (or yes, no)"
				   : "",
	     ce->choices ? ce->choices : "");
	return -1;
}

void
config_defaults(struct config *cfg)
{
	struct config_errors e = {0};
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < ARRAY_LEN(config_table); i++)
		if (config_set(cfg, &config_table[i], config_table[i].def,
			       "defaults", 0, &e) < 0)
			fatalx("built-in default %s.%s is invalid",
			       config_table[i].section, config_table[i].key);
	buf_free(&e.text);
	buf_free(&e.shared);
}

static const struct centry *
config_find(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(config_table); i++)
		if (strcmp(config_table[i].section, section) == 0 &&
		    strcmp(config_table[i].key, key) == 0)
			return &config_table[i];
	return NULL;
}

const char *
config_store(const struct config *cfg)
{
	return cfg->store_url != NULL && cfg->store_url[0] != '\0'
		   ? cfg->store_url
		   : cfg->store_path;
}

static int
section_known(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(config_table); i++)
		if (strcmp(config_table[i].section, s) == 0)
			return 1;
	return 0;
}

/* Strips matching quotes around a value. */
static char *
unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

/* Printable ASCII without blanks, quotes and angle brackets. */
static int
url_chars_ok(const char *u)
{
	for (; *u; u++)
		if ((unsigned char)*u <= 0x20 || (unsigned char)*u >= 0x7f ||
		    strchr("\"<>\\^`{|}", *u) != NULL)
			return 0;
	return 1;
}

/*
 * A TLS certificate or key file: a readable file; a key, like a file:
 * secret, not readable by group or others unless
 * [security] allow_shared_secret_files = true.
 */
static void
tls_file_check(const struct config *cfg, const char *name, const char *key,
	       const char *path, int secret, struct config_errors *e)
{
	struct stat sb;

	if (stat(path, &sb) < 0 || access(path, R_OK) < 0) {
		cerr(e, name, 0, "%s: cannot read %s: %s", key, path,
		     strerror(errno));
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		cerr(e, name, 0, "%s: %s is not a file", key, path);
		return;
	}
	if (secret && (sb.st_mode & 077))
		judge_shared_file(cfg, name, 0, key, path,
				  (unsigned)(sb.st_mode & 0777), e);
}

static void
config_require(const struct config *cfg, const char *name,
	       struct config_errors *e)
{
#define NEED(cond, what)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			cerr(e, name, 0, "%s", what);                          \
	} while (0)
#define SET(s) ((s) != NULL && (s)[0] != '\0')
	if (SET(cfg->store_url)) {
		NEED(strncmp(cfg->store_url, "postgresql://", 13) == 0 ||
			 strncmp(cfg->store_url, "postgres://", 11) == 0,
		     "store.url: expected postgresql://USER@HOST/DB");
		NEED(SET(cfg->store_audit_key),
		     "store.audit_key (file:PATH or env:NAME) is required with "
		     "store.url: the key is kept apart from the database");
		NEED(!SET(cfg->store_group),
		     "store.group applies to an SQLite file, not to store.url");
	}
	if (cfg->slack_enabled) {
		NEED(SET(cfg->slack_bot_token),
		     "slack.bot_token is required when slack is enabled");
		if (strcmp(cfg->slack_mode, "socket") == 0)
			NEED(SET(cfg->slack_app_token),
			     "slack.app_token is required in socket mode");
		else
			NEED(SET(cfg->slack_signing_secret),
			     "slack.signing_secret is required in http mode");
	}
	if (cfg->matrix_enabled) {
		NEED(SET(cfg->matrix_homeserver),
		     "matrix.homeserver is required when matrix is enabled");
		NEED(SET(cfg->matrix_user_id),
		     "matrix.user_id is required when matrix is enabled");
		NEED(SET(cfg->matrix_access_token) || SET(cfg->matrix_password),
		     "matrix.access_token or matrix.password is required");
	}
	if (cfg->mail_enabled) {
		NEED(SET(cfg->mail_smtp_url),
		     "mail.smtp_url is required when mail is enabled");
		NEED(SET(cfg->mail_from),
		     "mail.from is required when mail is enabled");
		NEED(SET(cfg->mail_reply_domain),
		     "mail.reply_domain is required when mail is enabled");
		NEED(!cfg->mail_require_dkim || SET(cfg->mail_authserv_id),
		     "mail.authserv_id is required when mail.require_dkim is "
		     "true");
		if (SET(cfg->mail_ca_file) &&
		    access(cfg->mail_ca_file, R_OK) != 0)
			cerr(e, name, 0, "mail.ca_file %s cannot be read: %s",
			     cfg->mail_ca_file, strerror(errno));
	}
	if (SET(cfg->admin_listen) && !cfg->admin_allow_remote) {
		char host[256];
		int port;

		if (config_parse_listen(cfg->admin_listen, host, sizeof(host),
					&port) == 0 &&
		    !config_is_loopback(host))
			cerr(e, name, 0,
			     "admin.listen %s is not a loopback address: the "
			     "admin listener has no authentication; use "
			     "127.0.0.1 or [::1], or set [admin] allow_remote "
			     "= true behind a firewall",
			     cfg->admin_listen);
	}
	if (SET(cfg->portal_tls_cert) != SET(cfg->portal_tls_key))
		cerr(e, name, 0,
		     "portal.tls_cert and portal.tls_key go together: set "
		     "both (TLS) or neither (plain HTTP)");
	if (SET(cfg->portal_tls_cert))
		tls_file_check(cfg, name, "portal.tls_cert",
			       cfg->portal_tls_cert, 0, e);
	if (SET(cfg->portal_tls_key))
		tls_file_check(cfg, name, "portal.tls_key", cfg->portal_tls_key,
			       1, e);
	if (SET(cfg->portal_url) &&
	    ((strncmp(cfg->portal_url, "http://", 7) != 0 &&
	      strncmp(cfg->portal_url, "https://", 8) != 0) ||
	     !url_chars_ok(cfg->portal_url)))
		cerr(e, name, 0,
		     "portal.url must be an http:// or https:// URL, got "
		     "\"%s\"",
		     cfg->portal_url);
#undef NEED
#undef SET
}

int
config_parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon, *h = s;
	size_t hl;
	long p;

	if (s == NULL)
		return -1;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)))
			return -1; /* a bare IPv6 literal needs brackets */
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen || parse_int(colon + 1, 0, 65535, &p) < 0)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
}

int
config_load_string(struct config *cfg, const char *name, const char *text,
		   struct config_errors *e)
{
	char *copy = xstrdup(text), *line, *save = NULL;
	char section[64] = "";
	int lineno = 0, before = e->count;
	int seen[ARRAY_LEN(config_table)] = {0}; /* line of each key */

	for (line = copy; line != NULL; line = save) {
		char *nl = strchr(line, '\n'), *s, *eq, *key, *val;
		const struct centry *ce;

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		s = str_trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (end == NULL || end[1] != '\0' ||
			    (size_t)(end - s - 1) >= sizeof(section)) {
				cerr(e, name, lineno, "malformed section line");
				section[0] = '\0';
				continue;
			}
			*end = '\0';
			snprintf(section, sizeof(section), "%s",
				 str_trim(s + 1));
			if (!section_known(section))
				cerr(e, name, lineno, "unknown section [%s]",
				     section);
			continue;
		}
		eq = strchr(s, '=');
		if (eq == NULL) {
			cerr(e, name, lineno, "expected key = value");
			continue;
		}
		*eq = '\0';
		key = str_trim(s);
		val = unquote(str_trim(eq + 1));
		if (section[0] == '\0') {
			cerr(e, name, lineno, "key \"%s\" outside a section",
			     key);
			continue;
		}
		ce = config_find(section, key);
		if (ce == NULL) {
			if (section_known(section))
				cerr(e, name, lineno, "unknown key %s.%s",
				     section, key);
			continue;
		}
		if (seen[ce - config_table] > 0) {
			cerr(e, name, lineno,
			     "duplicate key %s.%s (first set on line %d)",
			     ce->section, ce->key, seen[ce - config_table]);
			continue;
		}
		seen[ce - config_table] = lineno;
		config_set(cfg, ce, val, name, lineno, e);
	}
	free(copy);
	config_judge_shared(cfg, name, e);
	config_require(cfg, name, e);
	return e->count > before ? -1 : 0;
}

int
config_load(struct config *cfg, const char *path, struct config_errors *e)
{
	FILE *fp = fopen(path, "r");
	int open_errno = errno;
	struct buf b = {0};
	char chunk[4096];
	size_t n;
	int rc;

	config_defaults(cfg);
	free(cfg->path);
	cfg->path = xstrdup(path);
	if (fp == NULL) {
		cerr(e, path, 0, "cannot open: %s", strerror(open_errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		buf_add(&b, chunk, n);
		if (b.len > 1024 * 1024) {
			fclose(fp);
			buf_free(&b);
			cerr(e, path, 0, "file larger than 1 MiB");
			return -1;
		}
	}
	fclose(fp);
	rc = config_load_string(cfg, path, buf_str(&b), e);
	buf_free(&b);
	return rc;
}

/* Entries whose field is a char * the configuration owns. */
static int
entry_is_string(const struct centry *ce)
{
	return ce->type == CT_STR || ce->type == CT_SECRET ||
	       ce->type == CT_ENUM || ce->type == CT_PERIOD ||
	       ce->type == CT_ZONE || ce->type == CT_LISTEN ||
	       ce->type == CT_KEYSPEC || ce->type == CT_TRAINING;
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < ARRAY_LEN(config_table); i++) {
		const struct centry *ce = &config_table[i];

		if (entry_is_string(ce)) {
			char **sp = (char **)((char *)cfg + ce->off);

			free(*sp);
			*sp = NULL;
		}
	}
	free(cfg->path);
	cfg->path = NULL;
}

/*
 * Text for a roff page: backslashes escaped, no line taken for a request;
 * with minus, '-' is the character typed (in values), not a hyphen.
 */
static void
roff_text(FILE *fp, const char *s, int minus)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", fp);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", fp);
		else if (*s == '-' && minus)
			fputs("\\-", fp);
		else
			fputc(*s, fp);
	}
}

/* One key of ismsd.conf(5): its name, default, help, and accepted values. */
static void
man_entry(FILE *fp, const struct centry *ce)
{
	const char *c;

	fputs(".TP\n\\fB", fp);
	roff_text(fp, ce->key, 1);
	fputs("\\fR = ", fp);
	if (*ce->def) {
		fputs("\\fI", fp);
		roff_text(fp, ce->def, 1);
		fputs("\\fR\n", fp);
	} else {
		fputs("(empty)\n", fp);
	}
	roff_text(fp, ce->help, 0);
	fputc('\n', fp);
	switch (ce->type) {
	case CT_SECRET:
		fputs("A secret: the value itself, \\fBenv:\\fINAME\\fR or "
		      "\\fBfile:\\fI/path\\fR.\n",
		      fp);
		break;
	case CT_BOOL:
		fputs("One of: true, false (or yes, no).\n", fp);
		break;
	case CT_INT:
		fprintf(fp, "A whole number from %ld to %ld.\n", ce->min,
			ce->max);
		break;
	case CT_ENUM:
		fputs("One of: ", fp);
		for (c = ce->choices; *c; c++) {
			if (*c == '|')
				fputs(", ", fp);
			else if (*c == '-')
				fputs("\\-", fp);
			else
				fputc(*c, fp);
		}
		fputs(".\n", fp);
		break;
	default:
		break;
	}
}

static const char man_head[] =
    ".\\\" Generated by \"ismsd \\-\\-print\\-man\" from the configuration "
    "table\n"
    ".\\\" in config/config.c; do not edit.\n"
    ".TH ISMSD.CONF 5 2026-12-06 isms-gateway \"File Formats Manual\"\n"
    ".SH NAME\n"
    "ismsd.conf \\- configuration of ismsd and ismsctl\n"
    ".SH SYNOPSIS\n"
    ".I " CONFIG_SYSTEM_PATH "\n"
    ".SH DESCRIPTION\n"
    ".BR ismsd (8)\n"
    "and\n"
    ".BR ismsctl (8)\n"
    "read one configuration file: the one given with\n"
    ".BR \\-c ,\n"
    "else the file named by\n"
    ".BR $" CONFIG_ENV ",\n"
    "else\n"
    ".I " CONFIG_SYSTEM_PATH "\n"
    "when it exists.\n"
    ".B ismsctl\n"
    "falls back to the built\\-in defaults;\n"
    ".B ismsd\n"
    "refuses to start without a file.\n"
    ".PP\n"
    "The file has \\fB[section]\\fR lines and \\fBkey = value\\fR lines.\n"
    "Lines starting with \\fB#\\fR or \\fB;\\fR are comments; a comment takes\n"
    "a whole line, and a value runs to the end of its line (it may be\n"
    "quoted).\n"
    "A key given twice, an unknown section or key, and a value out of range\n"
    "are errors reported as \\fIfile\\fR:\\fIline\\fR: \\fImessage\\fR, all "
    "of\n"
    "them at once;\n"
    ".B ismsd \\-\\-check\\-config \\-c\n"
    ".I FILE\n"
    "runs the checks start\\-up runs.\n"
    ".PP\n"
    "A secret may be written \\fBenv:\\fINAME\\fR (the environment variable)\n"
    "or \\fBfile:\\fI/path\\fR (the file's content without its final "
    "newline).\n"
    "A secret file that is a directory, or that group or others can read, is\n"
    "refused (see \\fBallow_shared_secret_files\\fR).\n"
    "Secrets never appear in logs or messages.\n"
    ".PP\n"
    "ismsd reloads the file on SIGHUP; a file with errors is refused and the\n"
    "running configuration kept.\n"
    "Transport settings take effect at the next start.\n"
    ".SH KEYS\n"
    "Every key with its default.\n";

static const char man_tail[] =
    ".SH FILES\n"
    ".TP\n"
    ".I " CONFIG_SYSTEM_PATH "\n"
    "The system configuration.\n"
    ".TP\n"
    ".I PATH.audit\\-key\n"
    "The audit key beside the database, unless \\fBaudit_key\\fR names "
    "another.\n"
    ".SH EXAMPLES\n"
    "Slack in Socket Mode with the tokens in files:\n"
    ".PP\n"
    ".in +4n\n"
    ".EX\n"
    "[store]\n"
    "path = /var/lib/ismsd/isms.db\n"
    "[org]\n"
    "name = Acme\n"
    "timezone = Europe/Berlin\n"
    "[slack]\n"
    "enabled = true\n"
    "app_token = file:/etc/ismsd/slack\\-app\\-token\n"
    "bot_token = file:/etc/ismsd/slack\\-bot\\-token\n"
    ".EE\n"
    ".in\n"
    ".SH SEE ALSO\n"
    ".BR ismsd (8),\n"
    ".BR ismsctl (8)\n";

int
config_keep_restart(struct config *fresh, const struct config *running,
		    struct buf *changed)
{
	size_t i;
	int n = 0;

	for (i = 0; i < ARRAY_LEN(config_table); i++) {
		const struct centry *ce = &config_table[i];

		if (ce->live)
			continue;
		if (entry_is_string(ce)) {
			char **fp = (char **)((char *)fresh + ce->off);
			char *const *rp =
			    (char *const *)((const char *)running + ce->off);

			if ((*fp == NULL) == (*rp == NULL) &&
			    (*fp == NULL || strcmp(*fp, *rp) == 0))
				continue;
			if (ce->type == CT_SECRET)
				str_free_secret(*fp);
			else
				free(*fp);
			*fp = xstrdup(*rp);
		} else if (ce->type == CT_BOOL || ce->type == CT_INT ||
			   ce->type == CT_DURATION) {
			int *fp = (int *)((char *)fresh + ce->off);
			const int *rp =
			    (const int *)((const char *)running + ce->off);

			if (*fp == *rp)
				continue;
			*fp = *rp;
		} else {
			continue; /* no such restart key (see the table) */
		}
		buf_printf(changed, "%s%s.%s", n ? ", " : "", ce->section,
			   ce->key);
		n++;
	}
	return n;
}

/*
 * The configuration table as the example file (man == 0) or as the
 * ismsd.conf(5) page: one walk for both, so they never disagree.
 */
static void
config_walk(FILE *fp, int man)
{
	const char *section = "";
	size_t i;

	if (man)
		fputs(man_head, fp);
	else
		fputs("# ismsd configuration. Every key is shown with its "
		      "default.\n"
		      "# Secrets may be written env:NAME or file:/path.\n"
		      "# Check a file with: ismsd --check-config -c FILE\n",
		      fp);
	for (i = 0; i < ARRAY_LEN(config_table); i++) {
		const struct centry *ce = &config_table[i];

		if (strcmp(section, ce->section) != 0) {
			section = ce->section;
			fprintf(fp, man ? ".SS [%s]\n" : "\n[%s]\n", section);
		}
		if (man)
			man_entry(fp, ce);
		else
			fprintf(fp, "# %s\n%s = %s\n", ce->help, ce->key,
				ce->def);
	}
	if (man)
		fputs(man_tail, fp);
}

void
config_write_example(FILE *fp)
{
	config_walk(fp, 0);
}

void
config_write_man(FILE *fp)
{
	config_walk(fp, 1);
}

const char *
config_risk_level(const struct config *cfg, int score)
{
	if (score <= cfg->risk_levels[0])
		return "low";
	if (score <= cfg->risk_levels[1])
		return "medium";
	if (score <= cfg->risk_levels[2])
		return "high";
	return "critical";
}

const char *
config_locate(const char *explicit_path, const char *system_path)
{
	const char *env = getenv(CONFIG_ENV);

	if (explicit_path != NULL)
		return explicit_path;
	if (env != NULL && *env != '\0')
		return env;
	if (system_path == NULL)
		system_path = CONFIG_SYSTEM_PATH;
	if (access(system_path, F_OK) == 0)
		return system_path;
	return NULL;
}

void
config_describe(const struct config *cfg, char *out, size_t len)
{
	static const char *names[] = {"sun", "mon", "tue", "wed",
				      "thu", "fri", "sat"};
	char days[40] = "";
	size_t n = 0;
	int order[7] = {1, 2, 3, 4, 5, 6, 0}, i, first = -1, last = -1;
	int runs = 0, prev = 0;

	/* a single run Monday towards Sunday reads "mon-fri" */
	for (i = 0; i < 7; i++) {
		int on = (cfg->work_days >> order[i]) & 1;

		if (on && !prev)
			runs++;
		if (on && first < 0)
			first = order[i];
		if (on)
			last = order[i];
		prev = on;
	}
	if (runs == 1 && first != last) {
		snprintf(days, sizeof(days), "%s-%s", names[first],
			 names[last]);
	} else {
		for (i = 0; i < 7; i++)
			if ((cfg->work_days >> order[i]) & 1)
				n += (size_t)snprintf(
				    days + n, sizeof(days) - n, "%s%s",
				    n ? "," : "", names[order[i]]);
	}
	snprintf(out, len,
		 "configuration %s; time zone %s; working hours "
		 "%02d:%02d-%02d:%02d on %s",
		 cfg->path ? cfg->path : "built-in defaults", cfg->org_timezone,
		 cfg->work_start_min / 60, cfg->work_start_min % 60,
		 cfg->work_end_min / 60, cfg->work_end_min % 60,
		 days[0] ? days : "no day");
}
