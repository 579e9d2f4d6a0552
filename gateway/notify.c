/*
 * sd_notify messages to the service manager; see notify.h. Without
 * HAVE_SYSTEMD the functions are empty.
 */
#include "notify.h"

#include <stdint.h>

#include "../base/log.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static void
on_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
}

void
notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
notify_reloading(void)
{
	sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
}

void
notify_stopping(uv_timer_t *t)
{
	if (uv_is_active((uv_handle_t *)t))
		uv_timer_stop(t);
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

int
notify_watchdog_start(uv_loop_t *loop, uv_timer_t *t)
{
	uint64_t usec = 0, ms;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	ms = usec / 2000; /* half the period, in milliseconds */
	if (ms == 0)
		ms = 1;
	uv_timer_init(loop, t);
	uv_timer_start(t, on_watchdog, 0, ms);
	uv_unref((uv_handle_t *)t);
	log_info("systemd watchdog: a keep-alive every %llu ms",
		 (unsigned long long)ms);
	return 1;
}

#else

void
notify_ready(const char *status)
{
	(void)status;
}

void
notify_reloading(void)
{
}

void
notify_stopping(uv_timer_t *t)
{
	(void)t;
}

int
notify_watchdog_start(uv_loop_t *loop, uv_timer_t *t)
{
	(void)loop;
	(void)t;
	return 0;
}

#endif
