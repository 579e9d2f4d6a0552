/*
 * The read-only web portal, served by ismsd on [portal] listen from the
 * daemon's loop (net/httpd.c). portal.c holds the server, the login by
 * one-time link and the session cookie; portal_pages.c parses URLs,
 * decides who sees what and renders the pages. Not a transport: it
 * delivers no messages.
 */
#ifndef ISMS_PORTAL_H
#define ISMS_PORTAL_H

#include "../base/util.h"
#include "../store/store.h"
#include "adapter.h"

/* ---- the server (portal.c) ---- */

struct portal;

/*
 * Starts listening on [portal] listen when set: 0 (also when off, with
 * *out NULL), or -1 logged.
 */
int portal_start(struct host *host, struct portal **out);
/* Stops listening and frees; NULL is ignored. */
void portal_free(struct portal *p);

/*
 * 1 when a POST comes from the portal's own pages: Sec-Fetch-Site, when
 * sent, is same-origin, and the Origin (or, when it is absent or
 * "null", the Referer) is origin (scheme://host[:port] of [portal] url)
 * or names host, the Host it was sent to. Any argument may be NULL.
 */
int portal_post_same_origin(const char *origin, const char *host,
			    const char *hdr_origin, const char *referer,
			    const char *fetch_site);

/*
 * Refusals (a used, expired, made-up link or cookie) are audit rows, at
 * most one a minute for each kind of refusal and person: a link preview
 * of a used link or a flood of made-up ones does not grow the log. The
 * next row says how many were not written since ("unaudited").
 */
#define PORTAL_REFUSAL_WINDOW 60
#define PORTAL_REFUSAL_SLOTS  32

struct portal_refusals {
	struct {
		char what[16]; /* "" when free */
		int why;
		int64_t person, at; /* at: of the last row written */
		unsigned skipped;
	} slot[PORTAL_REFUSAL_SLOTS];
};

/*
 * 1 when a refusal (what, why, person; 0: no one known) at now is to be
 * an audit row, with *skipped the refusals of its kind not written since
 * the last one; 0 when not (counted). A full table forgets its oldest.
 */
int portal_refusal_due(struct portal_refusals *g, const char *what, int why,
		       int64_t person, int64_t now, unsigned *skipped);

/* ---- URLs (portal_pages.c; pure, fuzzed) ---- */

enum portal_page {
	PAGE_NONE, /* unknown: 404 */
	PAGE_DASHBOARD,
	PAGE_STYLE,
	PAGE_LOGIN, /* /login?t=TOKEN or /l/TOKEN */
	PAGE_LOGOUT,
	PAGE_RISKS,
	PAGE_RISK,
	PAGE_SOA,
	PAGE_INCIDENTS,
	PAGE_INCIDENT,
	PAGE_ACTIONS,
	PAGE_DOCUMENTS,
	PAGE_REVIEWS,
	PAGE_SUPPLIERS,
	PAGE_OBLIGATIONS,
	PAGE_AUDIT_LOG,
	PAGE_EXPORT,
	PAGE_PACK,
	PAGE_REPORT, /* the management summary, as in chat */
	PAGE_AUDITS,
	PAGE_AUDIT,  /* AUD-n */
	PAGE_REVIEW, /* MR-n with its compiled inputs */
};

#define PORTAL_PARAM_MAX 64

struct portal_route {
	enum portal_page page;
	int64_t id;	       /* RSK-n, INC-n, AUD-n, MR-n */
	char token[48];	       /* PAGE_LOGIN */
	char export_name[32];  /* PAGE_EXPORT */
	char export_format[8]; /* csv or json */
	/* /soa filters ("" when absent) */
	char theme[PORTAL_PARAM_MAX];
	char applicable[8];
	char status[PORTAL_PARAM_MAX];
	int64_t version; /* 0: the current SoA */
};

/*
 * Parses a request target (path?query). 0 with *r filled (page NONE for
 * an unknown page: 404), or -1 with why (static) when a query parameter
 * is unknown, repeated or has a value not allowed (400).
 */
int portal_route_parse(const char *target, struct portal_route *r,
		       const char **why);

/* ---- who sees what (portal_pages.c) ---- */

enum portal_scope {
	SCOPE_ALL,  /* auditors, management, isms_managers */
	SCOPE_TEAM, /* managers: themselves and their team */
	SCOPE_OWN,  /* staff: their own items */
};

enum portal_scope portal_scope_of(const struct person *p);

/* The viewer of a page: the person and the handles they may see items of */
struct portal_viewer {
	struct person me;
	enum portal_scope scope;
	char **handles; /* SCOPE_TEAM and SCOPE_OWN: whose items */
	size_t nhandles;
};

/* Loads who's viewer (their team for a manager). 0 or -1. */
int portal_viewer_load(struct store *st, const struct person *who,
		       struct portal_viewer *v);
void portal_viewer_free(struct portal_viewer *v);
/* 1 when v may see the items of handle (owner, person) */
int portal_sees_person(const struct portal_viewer *v, const char *handle);
/*
 * 1 when v may see an incident's details: its reporter, its handler,
 * isms_managers and auditors (as in chat).
 */
int portal_sees_incident(const struct portal_viewer *v, const char *reporter,
			 const char *handler);
/* 1 when v may open page (beyond the per-row rules). */
int portal_may_open(const struct portal_viewer *v, enum portal_page page);

/* ---- rendering (portal_pages.c) ---- */

/* The one escaping function: s as HTML text (quotes too) into b. */
void portal_html(struct buf *b, const char *s);

/* A rendered answer. */
struct portal_answer {
	int status;
	const char *ctype;
	struct buf body;
	char disposition[128]; /* Content-Disposition value or "" */
	const char *org;       /* [org] name for titles; NULL: none */
	const char *referrer;  /* Referrer-Policy; NULL: no-referrer */
};

/*
 * What "ismsctl audit verify" said of the audit log and the records,
 * kept for the audit-log page: computed again when the log's head (seq
 * and hash) moved, or when older than PORTAL_VERIFY_MAX_AGE seconds
 * (a record edited outside ismsd does not move the head). Zeroed: empty.
 */
#define PORTAL_VERIFY_MAX_AGE 600

struct portal_verified {
	int valid;   /* 1 once computed */
	int64_t seq; /* the head it was computed at (0: empty log) */
	char hash[65];
	int64_t at;	   /* when (store time) */
	int rc;		   /* 0 both verify, 1 not */
	struct buf text;   /* what audit verify says */
	unsigned computed; /* how often it was computed (tests count) */
};

void portal_verified_free(struct portal_verified *pv);

/*
 * Renders r for v into a (query-only store). st, cfg borrowed; pv keeps
 * the audit log's verification between requests (NULL: verified on
 * each). 0, or -1 on a database error (a has a 500 page).
 */
int portal_render(struct store *st, const struct config *cfg,
		  const struct portal_viewer *v, const struct portal_route *r,
		  struct portal_verified *pv, struct portal_answer *a);

/*
 * The page a valid link opens before it is used: who it signs in, until
 * when, and one button posting to /l/TOKEN (the POST uses the link).
 * Viewing it writes nothing, so a link preview does not use the link.
 */
void portal_signin_page(struct portal_answer *a, const struct person *who,
			int64_t now, int64_t expires, const char *token);

/* A page with a title and a message (refusals, errors, signed out). */
void portal_message_page(struct portal_answer *a, int status, const char *title,
			 const char *text);

/* The stylesheet (embedded portal.css). */
const char *portal_css(void);

#endif
