/*
 * What the adapters share beyond the host interface: the [http] section's
 * limits for the HTTP servers they run.
 */
#include "adapter.h"

void
adapter_http_limits(struct httpd *h, const struct config *cfg,
		    size_t body_budget)
{
	struct httpd_limits l;

	httpd_limits_default(&l);
	l.max_conns = (unsigned)cfg->http_max_connections;
	l.max_per_addr = (unsigned)cfg->http_max_per_address;
	l.idle_ms = (unsigned)cfg->http_idle_timeout * 1000u;
	l.header_ms = (unsigned)cfg->http_header_timeout * 1000u;
	l.body_budget = body_budget;
	httpd_set_limits(h, &l);
}
