/*
 * libFuzzer harness for Matrix /sync parsing: any input is parsed or
 * refused with a message; what parses routes and renders to valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../adapters/matrix_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_event(const struct mx_event *e)
{
	static const int64_t pending[] = {1, 2};
	struct mx_route_in in = {0};
	struct buf out = {0};
	json_t *c;
	char *body, *s;

	if (e->event_id == NULL || e->sender == NULL ||
	    (e->body == NULL) != (e->encrypted != 0))
		abort();
	if (e->body == NULL)
		return;
	body = mx_strip_reply_fallback(e->body);
	in.body = body;
	in.dm = e->ts & 1;
	in.reply_kind = e->in_reply_to != NULL ? MSG_APPROVAL : MSG_NOTICE;
	in.reply_payload = "{\"approval\": 3}";
	in.pending = pending;
	in.npending = (size_t)(e->ts & 3) % 3;
	in.quiz_payload =
	    "{\"quiz\": 1, \"question\": 2, \"options\": [\"a\"]}";
	if (mx_route(&in, &out) != MX_IGNORE && out.len == 0)
		abort();
	c = mx_render_text(body, e->in_reply_to);
	s = json_dumps(c, JSON_COMPACT);
	if (s == NULL)
		abort();
	free(s);
	json_decref(c);
	buf_free(&out);
	free(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mx_sync s;
	char err[128] = "";
	size_t i, k;

	if (mx_sync_parse((const char *)data, size, "@isms:example.org",
			  "example.org,other.net", &s, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || s.next_batch != NULL)
			abort();
		mx_sync_free(&s);
		return 0;
	}
	if (s.next_batch == NULL)
		abort();
	for (i = 0; i < s.njoin; i++) {
		if (s.join[i].room_id == NULL)
			abort();
		for (k = 0; k < s.join[i].nev; k++)
			check_event(&s.join[i].ev[k]);
	}
	for (i = 0; i < s.ninv; i++)
		if (s.inv[i].allowed && s.inv[i].inviter == NULL)
			abort();
	mx_sync_free(&s);
	return 0;
}
