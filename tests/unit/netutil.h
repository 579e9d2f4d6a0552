/*
 * Helpers shared by the network module tests: Python loopback peers that
 * print their port, and bounded runs of a libuv loop.
 */
#ifndef ISMS_NETUTIL_H
#define ISMS_NETUTIL_H

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

struct peer {
	pid_t pid;
	int in_fd;
	int port;
};

__attribute__((unused)) static const char *
peers_dir(char *buf, size_t len)
{
	const char *env = getenv("NET_TEST_PEERS_DIR");
	const char *slash;

	if (env)
		return env;
	slash = strrchr(__FILE__, '/');
	if (!slash)
		return "peers";
	snprintf(buf, len, "%.*s/peers", (int)(slash - __FILE__), __FILE__);
	return buf;
}

__attribute__((unused)) static int
peer_start(struct peer *p, const char *script, const char *a1, const char *a2,
	   const char *a3)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], line[32];
	int out[2], in[2];
	struct pollfd pfd;
	size_t got = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", peers_dir(dir, sizeof(dir)),
		 script);
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0)
		return -1;
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl("/usr/bin/python3", "python3", path, a1, a2, a3,
		      (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in_fd = in[1];
	pfd.fd = out[0];
	pfd.events = POLLIN;
	while (got < sizeof(line) - 1) {
		if (poll(&pfd, 1, 5000) <= 0)
			break;
		n = read(out[0], line + got, sizeof(line) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	close(out[0]);
	line[got] = '\0';
	p->port = atoi(line);
	return p->port > 0 ? 0 : -1;
}

__attribute__((unused)) static void
peer_stop(struct peer *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		close(p->in_fd);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
}

__attribute__((unused)) static void
guard_cb(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

__attribute__((unused)) static int
run_until(uv_loop_t *loop, const int *flag, unsigned ms)
{
	uv_timer_t guard;
	int expired = 0;

	uv_timer_init(loop, &guard);
	guard.data = &expired;
	uv_timer_start(&guard, guard_cb, ms, 0);
	while (!*flag && !expired)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return *flag ? 0 : -1;
}

__attribute__((unused)) static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

__attribute__((unused)) static int
drain(uv_loop_t *loop, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (uv_loop_alive(loop) && now_ms() < end) {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	return uv_loop_alive(loop) ? -1 : 0;
}

#endif
