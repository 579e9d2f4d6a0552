/* Unit tests of the configuration reader. */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>

static int
load(struct config *cfg, const char *text, struct config_errors *e)
{
	config_defaults(cfg);
	return config_load_string(cfg, "t.conf", text, e);
}

static void
test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(cfg.risk_appetite, 6);
	assert_int_equal(cfg.risk_levels[0], 4);
	assert_int_equal(cfg.risk_levels[2], 16);
	assert_int_equal(cfg.work_start_min, 9 * 60);
	assert_int_equal(cfg.work_end_min, 17 * 60 + 30);
	assert_int_equal(cfg.work_days, 0x3e); /* mon-fri */
	assert_string_equal(cfg.slack_mode, "socket");
	assert_string_equal(config_risk_level(&cfg, 4), "low");
	assert_string_equal(config_risk_level(&cfg, 9), "medium");
	assert_string_equal(config_risk_level(&cfg, 16), "high");
	assert_string_equal(config_risk_level(&cfg, 20), "critical");
	config_free(&cfg);
}

static void
test_values(void **state)
{
	struct config cfg;
	struct config_errors e = {0};
	int n;
	char u;

	(void)state;
	assert_int_equal(load(&cfg,
			      "# comment\n[org]\nworking_hours = 08:00-16:00\n"
			      "working_days = mon,wed,fri\n[risk]\n"
			      "levels = 3, 8, 15\nappetite=9\n[quiz]\n"
			      "every = 2w\n[log]\nlevel = \"debug\"\n",
			      &e),
			 0);
	assert_int_equal(cfg.work_start_min, 8 * 60);
	assert_int_equal(cfg.work_days, (1u << 1) | (1u << 3) | (1u << 5));
	assert_int_equal(cfg.risk_levels[1], 8);
	assert_int_equal(cfg.risk_appetite, 9);
	assert_string_equal(cfg.log_level, "debug");
	assert_int_equal(config_period(cfg.quiz_every, &n, &u), 0);
	assert_int_equal(n, 2);
	assert_int_equal(u, 'w');
	config_free(&cfg);
	buf_free(&e.text);
}

/* The mail trust settings: defaults, range, an unreadable CA file. */
static void
test_mail_trust(void **state)
{
	struct config cfg;
	struct config_errors e = {0};
	const char *mail = "[mail]\nenabled = true\nsmtp_url = smtp://mx\n"
			   "from = isms@example.org\n"
			   "reply_domain = example.org\n";
	char *text;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(cfg.mail_trusted_ar_headers, 1);
	assert_int_equal(cfg.mail_tls_verify, 1);
	assert_string_equal(cfg.mail_ca_file, "");
	config_free(&cfg);
	text = xasprintf("%strusted_ar_headers = 2\ntls_verify = false\n"
			 "ca_file = /etc/hostname\n",
			 mail);
	assert_int_equal(load(&cfg, text, &e), 0);
	assert_int_equal(cfg.mail_trusted_ar_headers, 2);
	assert_int_equal(cfg.mail_tls_verify, 0);
	assert_string_equal(cfg.mail_ca_file, "/etc/hostname");
	config_free(&cfg);
	free(text);
	text = xasprintf("%strusted_ar_headers = 0\n"
			 "ca_file = /nonexistent/ca.pem\n",
			 mail);
	assert_int_equal(load(&cfg, text, &e), -1);
	assert_non_null(strstr(buf_str(&e.text),
			       "mail.trusted_ar_headers: expected a whole "
			       "number from 1 to 20"));
	assert_non_null(strstr(buf_str(&e.text),
			       "mail.ca_file /nonexistent/ca.pem cannot be "
			       "read: No such file or directory"));
	assert_int_equal(e.count, 2);
	config_free(&cfg);
	free(text);
	buf_free(&e.text);
}

static void
test_errors_name_lines(void **state)
{
	struct config cfg;
	struct config_errors e = {0};
	const char *text = "[org]\nworking_hours = 9-5\n[nope]\nx = 1\n"
			   "[risk]\nappetite = 30\ncolour = red\n"
			   "just words\n[slack]\nmode = carrier-pigeon\n"
			   "enabled = oui\n";

	(void)state;
	assert_int_equal(load(&cfg, text, &e), -1);
	assert_non_null(strstr(buf_str(&e.text),
			       "t.conf:2: org.working_hours: invalid value"));
	assert_non_null(strstr(buf_str(&e.text), "t.conf:3: unknown section"));
	assert_non_null(strstr(buf_str(&e.text),
			       "t.conf:6: risk.appetite: expected a whole "
			       "number from 1 to 25"));
	assert_non_null(
	    strstr(buf_str(&e.text), "t.conf:7: unknown key risk.colour"));
	assert_non_null(
	    strstr(buf_str(&e.text), "t.conf:8: expected key = value"));
	assert_non_null(strstr(buf_str(&e.text), "t.conf:10: slack.mode"));
	assert_non_null(strstr(buf_str(&e.text),
			       "t.conf:11: slack.enabled: invalid value "
			       "\"oui\"; expected true or false (or yes, no)"));
	assert_int_equal(e.count, 7);
	config_free(&cfg);
	buf_free(&e.text);
	/* yes and no read as true and false */
	memset(&e, 0, sizeof(e));
	assert_int_equal(
	    load(&cfg, "[slack]\nenabled = no\n[matrix]\nencrypt_dms = yes\n",
		 &e),
	    0);
	assert_int_equal(cfg.slack_enabled, 0);
	assert_int_equal(cfg.matrix_encrypt_dms, 1);
	config_free(&cfg);
	buf_free(&e.text);
}

static void
test_secrets(void **state)
{
	struct config cfg;
	struct config_errors e = {0};
	char path[] = "/tmp/isms-secret-XXXXXX", text[512];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "xoxb-from-file\n", 15), 15);
	close(fd);
	setenv("ISMS_TEST_APP_TOKEN", "xapp-from-env", 1);
	snprintf(text, sizeof(text),
		 "[slack]\nenabled = true\napp_token = env:ISMS_TEST_APP_TOKEN"
		 "\nbot_token = file:%s\n",
		 path);
	assert_int_equal(load(&cfg, text, &e), 0);
	assert_string_equal(cfg.slack_app_token, "xapp-from-env");
	assert_string_equal(cfg.slack_bot_token, "xoxb-from-file");
	config_free(&cfg);
	unlink(path);

	/* missing sources are errors that never show a secret */
	assert_int_equal(load(&cfg,
			      "[slack]\nenabled = true\n"
			      "app_token = env:ISMS_TEST_UNSET_VAR\n"
			      "bot_token = file:/nonexistent/secret\n"
			      "signing_secret = s3cr3t-value-xyz\n"
			      "mode = bogus\n",
			      &e),
			 -1);
	assert_non_null(strstr(
	    buf_str(&e.text), "environment variable ISMS_TEST_UNSET_VAR is not "
			      "set"));
	assert_non_null(strstr(buf_str(&e.text), "cannot read secret file"));
	assert_null(strstr(buf_str(&e.text), "s3cr3t"));
	config_free(&cfg);
	buf_free(&e.text);
}

static void
test_required_when_enabled(void **state)
{
	struct config cfg;
	struct config_errors e = {0};

	(void)state;
	assert_int_equal(load(&cfg,
			      "[matrix]\nenabled = true\n[mail]\n"
			      "enabled = true\nrequire_dkim = true\n",
			      &e),
			 -1);
	assert_non_null(
	    strstr(buf_str(&e.text), "matrix.homeserver is required"));
	assert_non_null(strstr(buf_str(&e.text), "mail.smtp_url is required"));
	assert_non_null(
	    strstr(buf_str(&e.text), "mail.authserv_id is required"));
	config_free(&cfg);
	buf_free(&e.text);
}

static void
test_days_and_hours(void **state)
{
	struct config cfg;
	struct config_errors e = {0};

	(void)state;
	assert_int_equal(load(&cfg, "[org]\nworking_days = sat-mon\n", &e), 0);
	assert_int_equal(cfg.work_days, (1u << 6) | 1u | (1u << 1));
	config_free(&cfg);
	assert_int_equal(load(&cfg, "[org]\nworking_days = mon,xyz\n", &e), -1);
	config_free(&cfg);
	assert_int_equal(load(&cfg, "[org]\nworking_hours = 18:00-09:00\n", &e),
			 -1);
	config_free(&cfg);
	assert_int_equal(load(&cfg, "[risk]\nlevels = 9,4,16\n", &e), -1);
	config_free(&cfg);
	buf_free(&e.text);
}

/*
 * Hygiene: a duplicate key names both lines, a secret file readable by
 * others is an error (a warning when allowed), a directory is named, and
 * listen addresses are checked as start-up checks them.
 */
static void
test_hygiene(void **state)
{
	struct config cfg;
	struct config_errors e = {0};
	char dir[] = "/tmp/isms-cfg-XXXXXX", file[64], text[512];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/secret", dir);
	fd = open(file, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "xoxb-shared\n", 12), 12);
	close(fd);
	assert_int_equal(chmod(file, 0644), 0);

	assert_int_equal(
	    load(&cfg, "[store]\npath = a.db\n\n[store]\npath = b.db\n", &e),
	    -1);
	assert_non_null(strstr(buf_str(&e.text),
			       "t.conf:5: duplicate key store.path (first set "
			       "on line 2)"));
	config_free(&cfg);
	buf_free(&e.text);
	e.count = 0;

	snprintf(text, sizeof(text),
		 "[slack]\nenabled = true\nbot_token = file:%s\n"
		 "app_token = file:%s\n",
		 file, dir);
	assert_int_equal(load(&cfg, text, &e), -1);
	assert_non_null(
	    strstr(buf_str(&e.text), "t.conf:3: bot_token: secret file"));
	assert_non_null(strstr(buf_str(&e.text),
			       "is readable by group or others (mode 0644)"));
	assert_non_null(strstr(buf_str(&e.text), "is a directory"));
	assert_null(strstr(buf_str(&e.text), "xoxb-shared"));
	config_free(&cfg);
	buf_free(&e.text);
	e.count = 0;

	/* allowed: a warning, and the [security] line may come after */
	snprintf(text, sizeof(text),
		 "[slack]\nenabled = true\nbot_token = file:%s\n"
		 "app_token = xapp-1\n[security]\n"
		 "allow_shared_secret_files = true\n",
		 file);
	assert_int_equal(load(&cfg, text, &e), 0);
	assert_int_equal(e.warnings, 1);
	assert_non_null(strstr(buf_str(&e.text), "t.conf:3: warning:"));
	assert_string_equal(cfg.slack_bot_token, "xoxb-shared");
	config_free(&cfg);
	buf_free(&e.text);
	e = (struct config_errors){0};

	assert_int_equal(chmod(file, 0600), 0);
	snprintf(text, sizeof(text),
		 "[slack]\nenabled = true\nbot_token = file:%s\n"
		 "app_token = xapp-1\n",
		 file);
	assert_int_equal(load(&cfg, text, &e), 0);
	assert_int_equal(e.warnings, 0);
	config_free(&cfg);
	buf_free(&e.text);

	assert_int_equal(
	    load(&cfg, "[slack]\nlisten = 127.0.0.1:3000 ; or [::1]:3000\n",
		 &e),
	    -1);
	assert_non_null(strstr(buf_str(&e.text), "slack.listen: expected"));
	config_free(&cfg);
	buf_free(&e.text);
	e.count = 0;
	assert_int_equal(load(&cfg, "[slack]\nlisten = 127.0.0.1:99999\n", &e),
			 -1);
	config_free(&cfg);
	buf_free(&e.text);
	e.count = 0;
	assert_int_equal(load(&cfg, "[slack]\nlisten = [::1]:0\n", &e), 0);
	config_free(&cfg);
	buf_free(&e.text);

	unlink(file);
	rmdir(dir);
}

/* -c FILE, else $ISMSD_CONFIG, else the system file when it exists. */
static void
test_locate(void **state)
{
	char dir[] = "/tmp/isms-cfg-XXXXXX", sys[64], line[256];
	struct config cfg;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sys, sizeof(sys), "%s/ismsd.conf", dir);
	unsetenv(CONFIG_ENV);
	assert_null(config_locate(NULL, sys));
	assert_string_equal(config_locate("/x.conf", sys), "/x.conf");
	fp = fopen(sys, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_string_equal(config_locate(NULL, sys), sys);
	setenv(CONFIG_ENV, "/env.conf", 1);
	assert_string_equal(config_locate(NULL, sys), "/env.conf");
	assert_string_equal(config_locate("/x.conf", sys), "/x.conf");
	setenv(CONFIG_ENV, "", 1); /* empty counts as unset */
	assert_string_equal(config_locate(NULL, sys), sys);
	unsetenv(CONFIG_ENV);
	unlink(sys);
	rmdir(dir);

	config_defaults(&cfg);
	config_describe(&cfg, line, sizeof(line));
	assert_string_equal(line, "configuration built-in defaults; time zone "
				  "UTC; working hours 09:00-17:30 on mon-fri");
	config_free(&cfg);
	{
		struct config_errors e = {0};

		config_defaults(&cfg);
		assert_int_equal(
		    config_load_string(&cfg, "t.conf",
				       "[org]\ntimezone = Europe/Berlin\n"
				       "working_hours = 08:00-24:00\n"
				       "working_days = sat-mon\n",
				       &e),
		    0);
		buf_free(&e.text);
	}
	config_describe(&cfg, line, sizeof(line));
	assert_non_null(strstr(line, "time zone Europe/Berlin; working hours "
				     "08:00-24:00 on mon,sat,sun"));
	config_free(&cfg);
}

static void
test_admin_and_durations(void **state)
{
	struct config cfg;
	struct config_errors e = {0};

	(void)state;
	assert_int_equal(config_duration("0"), 0);
	assert_int_equal(config_duration("30s"), 30);
	assert_int_equal(config_duration("10m"), 600);
	assert_int_equal(config_duration("2h"), 7200);
	assert_int_equal(config_duration("30d"), 30 * 86400);
	assert_int_equal(config_duration("31d"), -1);
	assert_int_equal(config_duration("10"), -1);
	assert_int_equal(config_duration("m"), -1);
	assert_int_equal(config_duration("-5s"), -1);
	assert_int_equal(config_duration("5x"), -1);
	assert_true(config_is_loopback("127.0.0.1"));
	assert_true(config_is_loopback("127.3.2.1"));
	assert_true(config_is_loopback("::1"));
	assert_false(config_is_loopback("0.0.0.0"));
	assert_false(config_is_loopback("::"));
	assert_false(config_is_loopback("10.1.2.3"));
	assert_false(config_is_loopback("localhost"));

	/* off by default, ten minutes to exit */
	config_defaults(&cfg);
	assert_string_equal(cfg.admin_listen, "");
	assert_int_equal(cfg.admin_exit_when_down, 600);
	assert_string_equal(cfg.log_format, "text");
	config_free(&cfg);

	assert_int_equal(load(&cfg,
			      "[admin]\nlisten = [::1]:9090\n"
			      "exit_when_down = 30s\n[log]\nformat = json\n",
			      &e),
			 0);
	assert_int_equal(cfg.admin_exit_when_down, 30);
	assert_string_equal(cfg.log_format, "json");
	config_free(&cfg);

	/* a listener on every address needs allow_remote */
	assert_int_equal(load(&cfg, "[admin]\nlisten = 0.0.0.0:9090\n", &e),
			 -1);
	assert_non_null(strstr(buf_str(&e.text),
			       "admin.listen 0.0.0.0:9090 is not a loopback "
			       "address"));
	assert_non_null(strstr(buf_str(&e.text), "allow_remote = true"));
	config_free(&cfg);
	buf_free(&e.text);
	memset(&e, 0, sizeof(e));
	assert_int_equal(load(&cfg,
			      "[admin]\nlisten = 0.0.0.0:9090\n"
			      "allow_remote = true\n",
			      &e),
			 0);
	config_free(&cfg);
	assert_int_equal(load(&cfg,
			      "[admin]\nlisten = nonsense\n"
			      "exit_when_down = 10\n[log]\nformat = xml\n",
			      &e),
			 -1);
	assert_non_null(strstr(buf_str(&e.text), "t.conf:2: admin.listen"));
	assert_non_null(strstr(buf_str(&e.text),
			       "t.conf:3: admin.exit_when_down: "
			       "expected a duration"));
	assert_non_null(strstr(buf_str(&e.text), "t.conf:5: log.format"));
	config_free(&cfg);
	buf_free(&e.text);
}

/* A reload keeps the running values of keys that need a restart. */
static void
test_keep_restart(void **state)
{
	struct config run, fresh;
	struct config_errors e = {0};
	struct buf changed = {0};

	(void)state;
	assert_int_equal(load(&run,
			      "[store]\npath = a.db\n[slack]\nmode = socket\n"
			      "[org]\nname = Old\n[mail]\npoll_seconds = 60\n"
			      "[http]\nidle_timeout = 30\n",
			      &e),
			 0);
	assert_int_equal(load(&fresh,
			      "[store]\npath = b.db\n[slack]\nmode = http\n"
			      "[org]\nname = New\n[mail]\npoll_seconds = 5\n"
			      "[http]\nidle_timeout = 31\n[admin]\n"
			      "exit_when_down = 1m\n",
			      &e),
			 0);
	assert_int_equal(config_keep_restart(&fresh, &run, &changed), 3);
	assert_string_equal(buf_str(&changed),
			    "store.path, slack.mode, http.idle_timeout");
	/* restart keys keep the running values; live keys take the new */
	assert_string_equal(fresh.store_path, "a.db");
	assert_string_equal(fresh.slack_mode, "socket");
	assert_int_equal(fresh.http_idle_timeout, 30);
	assert_string_equal(fresh.org_name, "New");
	assert_int_equal(fresh.mail_poll_seconds, 5);
	assert_int_equal(fresh.admin_exit_when_down, 60);
	buf_free(&changed);
	/* the same file again: nothing to restart for */
	assert_int_equal(config_keep_restart(&fresh, &run, &changed), 0);
	config_free(&run);
	config_free(&fresh);
	buf_free(&e.text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_mail_trust),
	    cmocka_unit_test(test_errors_name_lines),
	    cmocka_unit_test(test_secrets),
	    cmocka_unit_test(test_required_when_enabled),
	    cmocka_unit_test(test_days_and_hours),
	    cmocka_unit_test(test_hygiene),
	    cmocka_unit_test(test_locate),
	    cmocka_unit_test(test_admin_and_durations),
	    cmocka_unit_test(test_keep_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
