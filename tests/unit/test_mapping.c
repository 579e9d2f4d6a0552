/* Unit tests of the framework mappings (config/mappings/): the files
 * themselves, control show, the mapping export and the report line. */
#include "regutil.h"

#include "../../store/export.h"
#include "../../store/mapping.h"

/* The points each framework's file must map: all of them, nothing else. */
static const char *const nis2_points[] = {
    "21(2)(a)", "21(2)(b)", "21(2)(c)", "21(2)(d)", "21(2)(e)",
    "21(2)(f)", "21(2)(g)", "21(2)(h)", "21(2)(i)", "21(2)(j)",
};
static const char *const gdpr_points[] = {
    "32(1)(a)", "32(1)(b)", "32(1)(c)", "32(1)(d)", "32(2)", "32(4)",
};

struct seen {
	struct tenv *t;
	const char *const *points;
	size_t npoints;
	int lines[16]; /* the line each point was on, 0 when not seen */
	char last[32]; /* the article of the previous pair */
	int pairs;
};

static int
seen_row(void *arg, const struct mapping_row *r)
{
	struct seen *s = arg;
	int64_t n = -1;
	size_t i;

	s->pairs++;
	for (i = 0; i < s->npoints; i++)
		if (strcmp(s->points[i], r->article) == 0)
			break;
	if (i == s->npoints)
		fail_msg("%s line %d: \"%s\" is not a point of the list",
			 r->framework, r->line, r->article);
	/* a point is on one line: met again on another is a duplicate */
	if (s->lines[i] != 0 && s->lines[i] != r->line)
		fail_msg("%s line %d: %s again (line %d)", r->framework,
			 r->line, r->article, s->lines[i]);
	s->lines[i] = r->line;
	if (strlen(r->title) < 8)
		fail_msg("%s line %d: a title says what the point is about",
			 r->framework, r->line);
	assert_int_equal(db_int(s->t->st, &n,
				"SELECT COUNT(*) FROM controls WHERE id = ? "
				"AND custom = 0",
				"t", r->control),
			 1);
	if (n != 1)
		fail_msg("%s line %d (%s): \"%s\" is not one of the 93 Annex "
			 "A controls",
			 r->framework, r->line, r->article, r->control);
	snprintf(s->last, sizeof(s->last), "%s", r->article);
	return 0;
}

static int
check_framework(struct tenv *t, const char *fw, const char *const *points,
		size_t npoints)
{
	struct seen s;
	char err[256];
	size_t i;

	memset(&s, 0, sizeof(s));
	s.t = t;
	s.points = points;
	s.npoints = npoints;
	if (mapping_each(fw, seen_row, &s, err, sizeof(err)) != 0)
		fail_msg("%s: %s", fw, err);
	for (i = 0; i < npoints; i++)
		if (s.lines[i] == 0)
			fail_msg("%s: %s is not mapped", fw, points[i]);
	/* in the order of the text, one line each after the header */
	for (i = 0; i < npoints; i++)
		assert_int_equal(s.lines[i], (int)i + 2);
	return s.pairs;
}

static void
test_files_well_formed(void **state)
{
	struct tenv *t = setup();

	(void)state;
	assert_string_equal(mapping_framework(0), "nis2");
	assert_string_equal(mapping_framework(1), "gdpr");
	assert_null(mapping_framework(2));
	assert_null(mapping_framework(-1));
	assert_string_equal(mapping_framework_names(), "nis2|gdpr");
	assert_true(check_framework(t, "nis2", nis2_points,
				    ARRAY_LEN(nis2_points)) >= 10);
	assert_true(check_framework(t, "GDPR", gdpr_points,
				    ARRAY_LEN(gdpr_points)) >= 6);
	tenv_free(t);
}

static int
stop_at_second(void *arg, const struct mapping_row *r)
{
	int *n = arg;

	(void)r;
	return ++*n == 2 ? 7 : 0;
}

static void
test_unknown_framework(void **state)
{
	char err[256] = "";
	int n = 0;

	(void)state;
	assert_int_equal(
	    mapping_each("iso", stop_at_second, &n, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown framework \"iso\" (expected "
				 "nis2|gdpr)");
	assert_int_equal(n, 0);
	/* what the callback returns ends the walk and is returned */
	assert_int_equal(
	    mapping_each("nis2", stop_at_second, &n, err, sizeof(err)), 7);
	assert_int_equal(n, 2);
}

static void
test_control_show(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	r = as(t, "alice", "control show 5.24", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "\nMaps to: NIS2 Art. 21(2)(b) incident "
				  "handling; GDPR Art. 32(1)(b) ongoing "
				  "confidentiality, integrity, availability "
				  "and resilience of processing systems\n"));
	r = as(t, "alice", "control show A.8.24", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "Maps to: NIS2 Art. 21(2)(h) cryptography "
				  "and encryption; GDPR Art. 32(1)(a) "));
	/* controls no point names, and custom controls, say nothing */
	r = as(t, "alice", "control show 7.4", &ok);
	assert_true(ok);
	assert_null(strstr(r, "Maps to"));
	ok_as(t, "carol", "control add ORG-1 Supplier reviews");
	r = as(t, "alice", "control show org-1", &ok);
	assert_true(ok);
	assert_null(strstr(r, "Maps to"));
	tenv_free(t);
}

/* The mapping export of fw as text (NULL when refused, err set). */
static char *
mapping_text(struct tenv *t, const char *name, const char *fw,
	     const char *format, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	int rc;

	assert_non_null(fp);
	rc =
	    export_write_framework(t->st, name, format, 0, fw, fp, err, errlen);
	fclose(fp);
	if (rc < 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int
lines_of(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_export(void **state)
{
	struct tenv *t = setup();
	char err[256], *e;
	int64_t before;

	(void)state;
	/* 21(2)(h) is only 8.24: implemented closes it; 21(2)(b) has an
	   implemented control that does not apply, so it stays a gap */
	ok_as(t, "carol", "control set 8.24 status=implemented");
	ok_as(t, "carol", "control set 5.24 status=implemented");
	ok_as(t, "carol",
	      "control set 5.24 applicable=no justification=\"Outsourced\"");
	ok_as(t, "carol", "control set 5.26 status=partial");
	ok_as(t, "carol",
	      "evidence add Key management procedure control=8.24 "
	      "expires=2026-12-01");
	ok_as(t, "carol", "evidence add Crypto policy control=8.24");
	test_clock = T0 + 30 * 86400; /* the first item is stale by now */
	before = everything(t);
	e = mapping_text(t, "mapping", "nis2", "csv", err, sizeof(err));
	if (e == NULL)
		fail_msg("export: %s", err);
	assert_true(strncmp(e,
			    "framework,article,article_title,control,"
			    "control_title,applicable,status,evidence,"
			    "stale_evidence,gap\r\n",
			    91) == 0);
	assert_non_null(strstr(e, "\r\nNIS2,21(2)(h),cryptography and "
				  "encryption,8.24,Use of cryptography,yes,"
				  "implemented,2,1,no\r\n"));
	assert_non_null(strstr(e, "\r\nNIS2,21(2)(b),incident handling,5.24,"
				  "Information security incident management "
				  "planning and preparation,no,implemented,0,"
				  "0,yes\r\n"));
	assert_non_null(strstr(e, "\r\nNIS2,21(2)(b),incident handling,5.26,"
				  "Response to information security "
				  "incidents,yes,partial,0,0,yes\r\n"));
	/* the header and one row per (article, control) pair */
	assert_int_equal(lines_of(e),
			 1 + check_framework(t, "nis2", nis2_points,
					     ARRAY_LEN(nis2_points)));
	/* the file's order: 21(2)(a) first, 21(2)(j) last */
	assert_true(strstr(e, "21(2)(a)") < strstr(e, "21(2)(j)"));
	free(e);
	e = mapping_text(t, "mapping", "gdpr", "json", err, sizeof(err));
	assert_non_null(e);
	assert_non_null(strstr(e, "\"framework\": \"GDPR\",\n    "
				  "\"article\": \"32(1)(a)\""));
	assert_non_null(strstr(e, "\"evidence\": 2,"));
	assert_null(strstr(e, "NIS2"));
	free(e);
	e = mapping_text(t, "mapping", "Gdpr", "md", err, sizeof(err));
	assert_non_null(e);
	assert_int_equal(lines_of(e),
			 2 + check_framework(t, "gdpr", gdpr_points,
					     ARRAY_LEN(gdpr_points)));
	assert_non_null(strstr(e, "| GDPR | 32(1)(a) | pseudonymisation and "
				  "encryption of personal data | 8.24 | Use "
				  "of cryptography | yes | implemented | 2 | "
				  "1 | no |\n"));
	free(e);
	/* refusals: no framework, an unknown one, one where none belongs */
	assert_null(mapping_text(t, "mapping", NULL, "csv", err, sizeof(err)));
	assert_string_equal(err, "export mapping needs --framework nis2|gdpr");
	assert_null(mapping_text(t, "mapping", "iso", "csv", err, sizeof(err)));
	assert_string_equal(err, "unknown framework \"iso\" (expected "
				 "nis2|gdpr)");
	assert_null(mapping_text(t, "soa", "nis2", "csv", err, sizeof(err)));
	assert_string_equal(err, "export soa has no --framework");
	assert_null(
	    mapping_text(t, "mapping", "nis2", "xml", err, sizeof(err)));
	assert_int_equal(
	    export_write(t->st, "mapping", "csv", stdout, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(export_names(), "|mapping"));
	/* an export reads only */
	assert_int_equal(everything(t), before);
	tenv_free(t);
}

static void
test_report_line(void **state)
{
	struct tenv *t = setup();
	const char *r;
	int ok;

	(void)state;
	r = as(t, "carol", "report", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "\nFrameworks (articles with an implemented "
				  "control): NIS2 0 of 10, none for 21(2)(a) "
				  "21(2)(b) "));
	assert_non_null(strstr(r, "; GDPR 0 of 6, none for 32(1)(a) 32(1)(b) "
				  "32(1)(c) 32(1)(d) 32(2) 32(4).\n"));
	ok_as(t, "carol", "control set 8.24 status=implemented");
	ok_as(t, "carol", "control set 8.13 status=implemented");
	r = as(t, "carol", "report", &ok);
	assert_true(ok);
	assert_non_null(strstr(r, "NIS2 2 of 10, none for 21(2)(a) 21(2)(b) "
				  "21(2)(d) 21(2)(e) 21(2)(f) 21(2)(g) "
				  "21(2)(i) 21(2)(j); GDPR 2 of 6, none for "
				  "32(1)(b) 32(1)(d) 32(2) 32(4).\n"));
	tenv_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_files_well_formed),
	    cmocka_unit_test(test_unknown_framework),
	    cmocka_unit_test(test_control_show),
	    cmocka_unit_test(test_export),
	    cmocka_unit_test(test_report_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
