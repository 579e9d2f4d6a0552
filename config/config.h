/*
 * The ismsd configuration: one INI file, one table of typed entries that
 * drives parsing, defaults, --check-config and the documented example.
 */
#ifndef ISMS_CONFIG_H
#define ISMS_CONFIG_H

#include <stdio.h>

#include "../base/util.h"

struct config {
	char *path; /* the file it came from, or NULL for defaults */

	char *store_path;
	char *store_url;	       /* PostgreSQL URL, or "" for path */
	char *store_audit_key;	       /* key spec: "", file:PATH or env:NAME */
	char *store_group;	       /* group of the store's files, or "" */
	int store_publish_head;	       /* the audit head, daily */
	int allow_shared_secret_files; /* [security] */

	char *org_name;
	char *org_timezone;
	int work_start_min; /* minutes after midnight */
	int work_end_min;
	unsigned work_days; /* bit 0 = Sunday ... bit 6 = Saturday */

	int risk_appetite;
	int risk_levels[3]; /* upper bounds of low, medium, high */
	int risk_accept_by_isms_manager;
	int risk_acceptance_months;

	int slack_enabled;
	char *slack_mode; /* "socket" or "http" */
	char *slack_app_token;
	char *slack_bot_token;
	char *slack_signing_secret;
	char *slack_listen;
	char *slack_api_base;

	/* HTTP mode's server limits */
	int http_max_connections;
	int http_max_per_address;
	int http_idle_timeout;	 /* seconds */
	int http_header_timeout; /* seconds */
	int http_max_unauthenticated_bytes;

	/* the read-only web portal */
	char *portal_listen; /* "" when off */
	char *portal_url;    /* "" for http:// and listen */
	char *portal_tls_cert;
	char *portal_tls_key;

	int matrix_enabled;
	char *matrix_homeserver;
	char *matrix_user_id;
	char *matrix_access_token;
	char *matrix_password;
	char *matrix_allowed_servers;
	char *matrix_device_id;
	char *matrix_pickle_key;
	char *matrix_trust; /* "tofu" or "verified" */
	int matrix_encrypt_dms;

	int mail_enabled;
	char *mail_smtp_url;
	char *mail_smtp_user;
	char *mail_smtp_password;
	char *mail_starttls; /* "required" or "when-available" */
	char *mail_from;
	char *mail_reply_domain;
	char *mail_imap_url;
	char *mail_imap_user;
	char *mail_imap_password;
	char *mail_incident_address;
	int mail_require_dkim;
	char *mail_authserv_id;
	int mail_trusted_ar_headers; /* AR headers from the top we trust */
	int mail_poll_seconds;
	char *mail_ca_file;
	int mail_tls_verify;

	char *quiz_every; /* period such as 3m; "off" disables */
	int quiz_questions;
	int quiz_deadline_days;

	int nudge_escalate_after_days;
	int nudge_repeat_days;

	char *training_required; /* "role: course; role: course" */

	char *report_every;
	char *report_recipients;

	char *log_level;
	char *log_format; /* "text" or "json" */

	char *admin_listen; /* "" (off) or host:port */
	int admin_allow_remote;
	int admin_exit_when_down; /* seconds; 0: never */
};

/* Error list: one line per problem, "file:line: message". */
struct config_errors {
	struct buf text;
	int count;
	int warnings;	   /* lines in text that are warnings, not errors */
	struct buf shared; /* internal: secret files to judge at the end */
};

/* Fills cfg with the defaults. cfg must be zeroed or freed before. */
void config_defaults(struct config *cfg);

/*
 * Loads path over the defaults. Returns 0, or -1 with every problem
 * appended to errs (never a secret's value). cfg is always usable and must
 * be released with config_free.
 */
int config_load(struct config *cfg, const char *path,
		struct config_errors *errs);

/* Same, from a buffer; name is used in messages. */
int config_load_string(struct config *cfg, const char *name, const char *text,
		       struct config_errors *errs);

void config_free(struct config *cfg);

/* The store to open: [store] url when set, else [store] path. */
const char *config_store(const struct config *cfg);

/*
 * host:port or [ipv6]:port, port 0-65535 (0: any free port). 0, or -1
 * when malformed; host is written NUL-terminated.
 */
int config_parse_listen(const char *s, char *host, size_t hostlen, int *port);

/*
 * A duration such as "30s", "10m", "2h", "1d" or "0" in seconds (at most
 * 30 days); -1 for anything else.
 */
long config_duration(const char *s);

/*
 * After a reload: fresh keeps the new values of the keys a reload
 * applies, and takes running's values of those that need a restart, so
 * that it describes what is in effect. Appends the names of the latter
 * whose value changed ("slack.mode, store.path") to changed and returns
 * how many.
 */
int config_keep_restart(struct config *fresh, const struct config *running,
			struct buf *changed);

/*
 * 1 when host (an IP literal, IPv6 without brackets) is a loopback
 * address: 127.0.0.0/8 or ::1.
 */
int config_is_loopback(const char *host);

/* Writes the documented example (every key, its default and help). */
void config_write_example(FILE *fp);
/* The same table as the ismsd.conf(5) manual page (roff). */
void config_write_man(FILE *fp);

/*
 * A period such as "7d", "2w", "6m", "1y" as (count, unit); unit is one of
 * 'd', 'w', 'm', 'y'. Returns -1 for anything else, including "off".
 */
int config_period(const char *s, int *count, char *unit);

#define CONFIG_COURSE_MAX 200 /* bytes of a course name */

/*
 * The next "role: course" of a [training] required value from *p, which
 * moves past it: 1 with role and course written (trimmed), 0 at the end,
 * -1 when malformed (no colon, an empty or too long part, or a role that
 * does not exist).
 */
int config_training_next(const char **p, char *role, size_t rolelen,
			 char *course, size_t courselen);

/* Where both binaries look for their configuration file. */
#define CONFIG_ENV	   "ISMSD_CONFIG"
#define CONFIG_SYSTEM_PATH "/etc/ismsd/ismsd.conf"

/*
 * The configuration file to read: explicit_path (-c FILE) when given,
 * else $ISMSD_CONFIG when set and not empty, else system_path (NULL:
 * CONFIG_SYSTEM_PATH) when it exists. NULL: the built-in defaults.
 */
const char *config_locate(const char *explicit_path, const char *system_path);

/*
 * One line for people: the file it came from (or "built-in defaults"),
 * the organisation's time zone, working hours and days.
 */
void config_describe(const struct config *cfg, char *out, size_t len);

/* Risk level name for a score, from cfg->risk_levels. */
const char *config_risk_level(const struct config *cfg, int score);

#endif
