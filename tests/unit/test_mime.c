/*
 * Unit tests of mail parsing and building: the folders under
 * tests/data/mime/<case>/{input,expected}, reply lines, addresses, RFC
 * 2047 words, Authentication-Results, and parsing what we build.
 */
#include "testutil.h"

#include <dirent.h>
#include <sys/stat.h>

#include "../../adapters/mailbuild.h"
#include "../../adapters/mailin.h"
#include "../../adapters/mime.h"

#define DATA_DIR "tests/data/mime"

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *data;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
	data[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return data;
}

/* The parse of input as the text the expected file holds. */
static char *
describe(const char *data, size_t len)
{
	struct mime_msg m;
	struct buf b = {0};
	char err[160], *reply;
	size_t i;

	if (mime_parse(data, len, &m, err, sizeof(err)) < 0) {
		buf_printf(&b, "error: %s\n", err);
		mime_msg_free(&m);
		return buf_steal(&b);
	}
	reply = mime_reply_line(m.text);
	buf_printf(&b, "from: %s\n", m.from ? m.from : "(none)");
	buf_printf(&b, "from-count: %zu\n", m.nfrom);
	buf_printf(&b, "subject: %s\n", m.subject);
	buf_printf(&b, "message-id: %s\n",
		   m.message_id ? m.message_id : "(none)");
	buf_printf(&b, "report: %d\n", m.report);
	buf_printf(&b, "text-from-html: %d\n", m.text_from_html);
	for (i = 0; i < m.natt; i++)
		buf_printf(&b, "attachment: %s (%s, %zu bytes)\n",
			   m.att[i].name, m.att[i].type, m.att[i].size);
	buf_printf(&b, "reply-line: %s\n", reply ? reply : "(none)");
	buf_printf(&b, "text:\n%s\n", m.text);
	free(reply);
	mime_msg_free(&m);
	return buf_steal(&b);
}

/* MIME_WRITE_EXPECTED=1 writes missing expected files (review them!). */
static void
test_cases(void **state)
{
	DIR *d = opendir(DATA_DIR);
	struct dirent *e;
	int n = 0, failed = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char in[512], ex[512];
		char *data, *want, *got;
		size_t len, wlen;

		if (e->d_name[0] == '.')
			continue;
		snprintf(in, sizeof(in), "%s/%s/input", DATA_DIR, e->d_name);
		snprintf(ex, sizeof(ex), "%s/%s/expected", DATA_DIR, e->d_name);
		data = slurp(in, &len);
		assert_non_null(data);
		got = describe(data, len);
		want = slurp(ex, &wlen);
		if (want == NULL && getenv("MIME_WRITE_EXPECTED")) {
			FILE *fp = fopen(ex, "w");

			assert_non_null(fp);
			fputs(got, fp);
			fclose(fp);
			want = strdup(got);
		}
		if (want == NULL || strcmp(want, got) != 0) {
			print_error("case %s:\n--- expected\n%s--- got\n%s",
				    e->d_name, want ? want : "(missing)\n",
				    got);
			failed++;
		}
		n++;
		free(data);
		free(want);
		free(got);
	}
	closedir(d);
	assert_true(n >= 20);
	assert_int_equal(failed, 0);
}

static void
reply_is(const char *text, const char *want)
{
	char *got = mime_reply_line(text);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("expected no reply line, got \"%s\"", got);
	} else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
	free(got);
}

static void
test_reply_lines(void **state)
{
	(void)state;
	reply_is("approve\n", "approve");
	reply_is("\n\n   Approve looks fine  \n> quoted\n",
		 "Approve looks fine");
	reply_is("> approve\n>> reject\nreject too risky\n",
		 "reject too risky");
	reply_is("On Mon, 1 Jan 2026 at 09:00 ISMS <isms@x> wrote:\n> x\n"
		 "approve\n",
		 "approve");
	reply_is("On Tue, 2 Jan 2026 at 10:00, Carol Diaz\n<carol@x> "
		 "wrote:\n> old\n",
		 NULL);
	reply_is("On Tue, 2 Jan 2026 at 10:00, Carol Diaz\n\n"
		 "  wrote:\nreject no\n",
		 "reject no");
	reply_is("\n-- \nCarol\napprove\n", NULL);
	reply_is("--\napprove\n", NULL);
	reply_is("-----Original Message-----\nFrom: x\napprove\n", NULL);
	reply_is("\xef\xbb\xbf\xc2\xa0"
		 "approve\r\n",
		 "approve");
	reply_is("", NULL);
	reply_is(NULL, NULL);
	/* "On" that is not a quote header is a line like any other */
	reply_is("On second thought: reject\nthanks\n",
		 "On second thought: reject");
}

static void
addrs_are(const char *value, const char *joined)
{
	char **v = NULL;
	size_t n = mime_addresses(value, &v), i;
	struct buf b = {0};

	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? "," : "", v[i]);
	assert_string_equal(buf_str(&b), joined);
	buf_free(&b);
	mime_addrs_free(v, n);
}

static void
test_addresses(void **state)
{
	(void)state;
	addrs_are("Carol <Carol@Example.ORG>", "carol@example.org");
	addrs_are("\"Diaz, Carol\" <c@x.org>, bob@x.org (Bob)",
		  "c@x.org,bob@x.org");
	addrs_are("team: a@x.org, b@x.org;, c@x.org",
		  "a@x.org,b@x.org,c@x.org");
	addrs_are("undisclosed-recipients:;", "");
	addrs_are("<@relay.example:u@x.org>", "u@x.org");
	addrs_are("not an address, <broken", "");
	addrs_are("\"a@b\" <real@x.org>", "real@x.org");
	addrs_are(NULL, "");
}

static void
decoded_is(const char *in, const char *want)
{
	char *got = mime_decode_header(in);

	assert_string_equal(got, want);
	free(got);
}

static void
test_encoded_words(void **state)
{
	(void)state;
	decoded_is("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus =?iso-8859-1?q?K=F6ln?=",
		   "Grüße aus Köln");
	/* the blank between two words goes; a character split survives */
	decoded_is("=?UTF-8?B?w6Q=?= =?UTF-8?B?w7Y=?=", "äö");
	decoded_is("=?UTF-8?B?8J+Y?= =?UTF-8?B?gA==?=", "\xf0\x9f\x98\x80");
	decoded_is("=?windows-1252?Q?=93quoted=94?=", "“quoted”");
	/* malformed words stay as written */
	decoded_is("=?UTF-8?X?abc?= plain", "=?UTF-8?X?abc?= plain");
	decoded_is("=?UTF-8?B?!!!?=", "=?UTF-8?B?!!!?=");
	/* raw 8-bit Latin-1 in a header, and controls */
	decoded_is("caf\xe9\tbar\r\n", "café bar  ");
}

static void
test_dkim(void **state)
{
	(void)state;
	assert_true(mailin_dkim_pass("mx.test.example; dkim=pass "
				     "header.d=example.org",
				     "mx.test.example", "example.org"));
	assert_true(mailin_dkim_pass("MX.TEST.EXAMPLE 1; spf=pass "
				     "smtp.mailfrom=x; dkim=pass (good "
				     "signature) header.d=Example.org "
				     "header.s=sel",
				     "mx.test.example", "example.org"));
	assert_false(mailin_dkim_pass("evil.example; dkim=pass "
				      "header.d=example.org",
				      "mx.test.example", "example.org"));
	assert_false(mailin_dkim_pass("mx.test.example; dkim=fail "
				      "header.d=example.org",
				      "mx.test.example", "example.org"));
	assert_false(mailin_dkim_pass("mx.test.example; dkim=pass "
				      "header.d=bulk-mailer.example",
				      "mx.test.example", "example.org"));
	assert_false(mailin_dkim_pass("mx.test.example; dkim=pass "
				      "header.d=example.org.evil",
				      "mx.test.example", "example.org"));
	/* a comment cannot smuggle a result in */
	assert_false(mailin_dkim_pass("mx.test.example; dkim=fail "
				      "(dkim=pass header.d=example.org) "
				      "header.d=example.org",
				      "mx.test.example", "example.org"));
	assert_false(mailin_dkim_pass("mx.test.example; none",
				      "mx.test.example", "example.org"));
	assert_false(mailin_dkim_pass("", "mx.test.example", "example.org"));
}

/* What we build parses back to what we meant. */
static void
test_build_round_trip(void **state)
{
	struct buf text = {0};
	struct mailbuild b = {0};
	struct mime_msg m;
	char err[160], *msg, *p;
	int i;

	(void)state;
	buf_puts(&text, "Grüße, Carol!\n.a line starting with a dot\n"
			"From the start of a line\ntrailing blank \n");
	for (i = 0; i < 30; i++)
		buf_puts(&text, "long line = with equals and ünïcödé ");
	buf_puts(&text, "\nend\n");
	b.from = "isms@example.org";
	b.from_name = "Acme \"Security\" ISMS";
	b.to = "carol@example.org";
	b.to_name = "Carol Díaz";
	b.reply_to = "isms+abc@example.org";
	b.subject = "Approval needed APR-1: close INC-1 “Laptop” with "
		    "lessons learned: encrypt every laptop before it leaves "
		    "the building\r\nBcc: injected@evil.example";
	b.text = buf_str(&text);
	b.message_id = "isms.1.2@example.org";
	b.in_reply_to = "CAF123@mail.example.org";
	b.auto_submitted = "auto-generated";
	b.date = 1795000000;
	msg = mailbuild_message(&b);
	/* no bare LF, no line over 998, no header injection */
	for (p = msg; *p; p++)
		if (*p == '\n')
			assert_true(p > msg && p[-1] == '\r');
	for (p = msg; *p;) {
		size_t n = strcspn(p, "\r");

		assert_true(n <= 998);
		p += n;
		if (*p)
			p += 2;
	}
	assert_null(strstr(msg, "\r\nBcc:"));
	assert_non_null(strstr(msg, "\r\nMessage-ID: <isms.1.2@example.org>"));
	assert_non_null(
	    strstr(msg, "\r\nIn-Reply-To: <CAF123@mail.example.org>"));
	assert_non_null(strstr(msg, "\r\nAuto-Submitted: auto-generated"));
	assert_int_equal(
	    strncmp(msg, "Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n", 39), 0);
	assert_int_equal(mime_parse(msg, strlen(msg), &m, err, sizeof(err)), 0);
	assert_string_equal(m.from, "isms@example.org");
	assert_string_equal(m.message_id, "isms.1.2@example.org");
	assert_non_null(strstr(m.subject, "close INC-1 “Laptop” with lessons"));
	assert_non_null(strstr(m.subject, "Bcc: injected"));
	assert_int_equal(m.text_from_html, 0);
	assert_string_equal(m.text, buf_str(&text));
	assert_string_equal(mime_get(&m, "Reply-To"), "<isms+abc@example.org>");
	{
		char **v = NULL;
		size_t n = mime_addresses(mime_get(&m, "To"), &v);

		assert_int_equal(n, 1);
		assert_string_equal(v[0], "carol@example.org");
		mime_addrs_free(v, n);
	}
	{
		char *to = mime_decode_header(mime_get(&m, "To"));

		assert_string_equal(to, "Carol Díaz <carol@example.org>");
		free(to);
	}
	mime_msg_free(&m);
	free(msg);
	buf_free(&text);
}

/* The HTML part carries the text escaped; only HTML: text comes back. */
static void
test_build_html(void **state)
{
	char *html = mailbuild_html("a < b & \"c\"\nnext", "<p>extra</p>");
	char *text;

	(void)state;
	assert_non_null(strstr(html, "a &lt; b &amp; &quot;c&quot;<br>"));
	assert_non_null(strstr(html, "<p>extra</p>"));
	text = mime_html_to_text(html, strlen(html));
	assert_string_equal(text, "a < b & \"c\"\nnext\n\nextra");
	free(text);
	free(html);
	assert_true(mailbuild_address_ok("a.b+c@example.org"));
	assert_false(mailbuild_address_ok("a@b@c"));
	assert_false(mailbuild_address_ok("a b@c"));
	assert_false(mailbuild_address_ok("a@b>\r\nBcc: x@y"));
	assert_false(mailbuild_address_ok(NULL));
	assert_string_equal(mailbuild_domain("x@Example.org"), "Example.org");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_reply_lines),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_encoded_words),
	    cmocka_unit_test(test_dkim),
	    cmocka_unit_test(test_build_round_trip),
	    cmocka_unit_test(test_build_html),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
