/*
 * fuzz_httpd.c - libFuzzer harness for the httpd request parser: feeds the
 * input whole and in small chunks (stopping after each head with a body
 * when the first byte says so), checks invariants and that both agree.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../net/httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	unsigned requests;
	int last_rc;
	int status;
	size_t consumed;
	unsigned long digest;
};

static void
check(int cond)
{
	if (!cond)
		abort();
}

static unsigned long
mix(unsigned long h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211UL;
	return h;
}

static void
check_request(const struct httpd_request *r, struct outcome *o)
{
	size_t i;

	check(r->method[0] != '\0' && strlen(r->method) < sizeof(r->method));
	check(r->path[0] != '\0' && strlen(r->path) < sizeof(r->path));
	check(r->version == 10 || r->version == 11);
	check(r->nheaders <= HTTPD_MAX_HEADERS);
	check(r->body != NULL && r->body[r->body_len] == '\0');
	check(r->body_len <= HTTPD_MAX_BODY);
	for (i = 0; i < r->nheaders; i++) {
		check(r->headers[i].name && r->headers[i].name[0]);
		check(r->headers[i].value != NULL);
		check(httpd_header(r, r->headers[i].name) != NULL);
		o->digest = mix(o->digest, r->headers[i].name,
				strlen(r->headers[i].name));
		o->digest = mix(o->digest, r->headers[i].value,
				strlen(r->headers[i].value));
	}
	o->digest = mix(o->digest, r->method, strlen(r->method));
	o->digest = mix(o->digest, r->path, strlen(r->path));
	o->digest = mix(o->digest, r->body, r->body_len);
	o->digest = mix(o->digest, &r->keep_alive, sizeof(r->keep_alive));
}

static void
run(const uint8_t *data, size_t size, size_t chunk, int hold, struct outcome *o)
{
	struct httpd_parser p;
	size_t off = 0, n, used;
	int rc = 0, status = 0;

	memset(o, 0, sizeof(*o));
	o->digest = 14695981039346656037UL;
	httpd_parser_init(&p);
	p.hold_body = hold;
	while (off < size) {
		n = size - off < chunk ? size - off : chunk;
		rc = httpd_parser_feed(&p, (const char *)data + off, n, &used,
				       &status);
		check(used <= n);
		off += used;
		if (rc == 2) {
			check(hold && p.req.body_len > 0 &&
			      p.req.body_len <= HTTPD_MAX_BODY);
			httpd_parser_take_body(&p);
		} else if (rc == 1) {
			check_request(&p.req, o);
			o->requests++;
			httpd_parser_reset(&p);
		} else if (rc < 0) {
			check(status == 400 || status == 413 || status == 414 ||
			      status == 417 || status == 431 || status == 501 ||
			      status == 505);
			o->status = status;
			break;
		} else {
			check(used == n);
		}
	}
	o->last_rc = rc;
	o->consumed = off;
	httpd_parser_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, split;
	size_t chunk;
	int hold;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 64 + 1;
	hold = data[0] >> 6 & 1;
	data++;
	size--;
	run(data, size, size ? size : 1, 0, &whole);
	run(data, size, chunk, hold, &split);
	check(whole.requests == split.requests);
	check(whole.status == split.status);
	check(whole.digest == split.digest);
	/* the error byte offset may differ with chunking, nothing else */
	if (whole.status == 0)
		check(whole.consumed == split.consumed);
	return 0;
}

#ifdef FUZZ_STANDALONE
/* without libFuzzer: replays the files named on the command line */
int
main(int argc, char **argv)
{
	static uint8_t buf[1 << 20];
	size_t n;
	FILE *f;
	int i;

	for (i = 1; i < argc; i++) {
		f = fopen(argv[i], "rb");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	return 0;
}
#endif
