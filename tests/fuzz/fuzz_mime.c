/*
 * libFuzzer harness for received mail: MIME parsing, header decoding,
 * address lists, HTML to text and the reply-line rule. Seeds: the
 * parser's test cases (tests/fuzz/corpus/mime, copied from tests/data/mime).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../adapters/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_msg m;
	char err[160], *s, *t;

	if (mime_parse((const char *)data, size, &m, err, sizeof(err)) == 0) {
		static const char *const fields[] = {"To", "Cc", "From",
						     "Delivered-To"};
		size_t i;

		t = mime_reply_line(m.text);
		free(t);
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			const char *v;
			size_t pos = 0;

			while ((v = mime_get_next(&m, fields[i], &pos)) !=
			       NULL) {
				char **a = NULL;
				size_t n = mime_addresses(v, &a);

				mime_addrs_free(a, n);
			}
		}
	}
	mime_msg_free(&m);
	/* the same bytes as one header value and as an HTML document */
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	t = mime_decode_header(s);
	free(t);
	t = mime_html_to_text(s, size);
	free(t);
	t = mime_reply_line(s);
	free(t);
	free(s);
	return 0;
}
