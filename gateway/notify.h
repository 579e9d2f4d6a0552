/*
 * Telling systemd how the daemon is doing (Type=notify): ready, reloading,
 * stopping, and watchdog keep-alives. Through libsystemd's sd_notify when
 * built with it (HAVE_SYSTEMD); otherwise every call does nothing. Outside
 * systemd ($NOTIFY_SOCKET unset) the calls do nothing either.
 */
#ifndef ISMS_NOTIFY_H
#define ISMS_NOTIFY_H

#include <uv.h>

/* READY=1 with a status line: start-up is complete, or a reload is. */
void notify_ready(const char *status);
/* RELOADING=1: a configuration reload begins (READY=1 ends it). */
void notify_reloading(void);
/* STOPPING=1; stops the watchdog timer t (which may never have started). */
void notify_stopping(uv_timer_t *t);
/*
 * When the service manager asks for keep-alives ($WATCHDOG_USEC), sends
 * WATCHDOG=1 from t (initialised here on loop) every half of that period;
 * the timer does not keep the loop alive. 1 when started, 0 when not
 * asked, and t untouched.
 */
int notify_watchdog_start(uv_loop_t *loop, uv_timer_t *t);

#endif
