/*
 * ismsd: the gateway daemon (-c FILE), the console transport (--console)
 * and configuration checking (--check-config).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../adapters/console.h"
#include "../config/config.h"
#include "gw.h"
#include "../base/log.h"
#include "../base/version.h"

static void
usage(FILE *fp)
{
	fputs("usage: ismsd [-c FILE]               run the gateway\n"
	      "       ismsd --console --db PATH --as HANDLE [-c FILE]\n"
	      "                                     commands on stdin, replies "
	      "on stdout\n"
	      "       ismsd --check-config -c FILE  validate a configuration\n"
	      "       ismsd --print-config          the documented example "
	      "configuration\n"
	      "       ismsd --print-man             the ismsd.conf(5) manual "
	      "page\n"
	      "       ismsd --version | --help\n"
	      "without -c: $" CONFIG_ENV ", else " CONFIG_SYSTEM_PATH
	      " when it exists\n",
	      fp);
}

static int
check_config(const char *path)
{
	struct config cfg;
	struct config_errors e = {0};
	int rc;

	rc = config_load(&cfg, path, &e);
	{
		/* what start-up would refuse, in the same words */
		struct buf t = {0};
		char *line, *save = NULL, *all;
		int n = gw_check_transports(&cfg, &t);

		all = buf_steal(&t);
		for (line = strtok_r(all, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save))
			buf_printf(&e.text, "%s: %s\n", path, line);
		free(all);
		if (n > 0) {
			e.count += n;
			rc = -1;
		}
	}
	fputs(buf_str(&e.text), stdout);
	if (rc < 0)
		printf("%s: %d problem%s\n", path, e.count,
		       e.count == 1 ? "" : "s");
	else
		printf("%s: configuration OK%s\n", path,
		       e.warnings ? " (with warnings)" : "");
	buf_free(&e.text);
	config_free(&cfg);
	return rc < 0 ? 2 : 0;
}

static int
run_console(const char *db, const char *handle, const char *cfile)
{
	struct config cfg;
	struct config_errors e = {0};
	struct store *st;
	char err[512];
	int rc, missing;

	if (cfile != NULL) {
		if (config_load(&cfg, cfile, &e) < 0) {
			fputs(buf_str(&e.text), stderr);
			buf_free(&e.text);
			config_free(&cfg);
			return 2;
		}
		if (db == NULL)
			db = config_store(&cfg);
	} else {
		config_defaults(&cfg);
	}
	buf_free(&e.text);
	log_set_level(LOG_WARN);
	{
		struct store_options so = {.audit_key = cfg.store_audit_key,
					   .group = cfg.store_group};

		st = store_open_opts(db, STORE_EXISTING, &so, &missing, err,
				     sizeof(err));
	}
	if (st == NULL) {
		fprintf(stderr, "ismsd: %s\n", err);
		config_free(&cfg);
		return missing ? 2 : 1;
	}
	rc = console_run(st, &cfg, handle, stdin, stdout, isatty(0));
	store_close(st);
	config_free(&cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	enum {
		OPT_CONSOLE = 256,
		OPT_DB,
		OPT_AS,
		OPT_CHECK,
		OPT_PRINT,
		OPT_MAN
	};
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"console", no_argument, NULL, OPT_CONSOLE},
	    {"db", required_argument, NULL, OPT_DB},
	    {"as", required_argument, NULL, OPT_AS},
	    {"check-config", no_argument, NULL, OPT_CHECK},
	    {"print-config", no_argument, NULL, OPT_PRINT},
	    {"print-man", no_argument, NULL, OPT_MAN},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *cfile = NULL, *db = NULL, *as = NULL;
	int c, console = 0, check = 0;

	/* JSON trees come from the same allocator as everything else */
	json_set_alloc_funcs(xmalloc, free);
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfile = optarg;
			break;
		case OPT_CONSOLE:
			console = 1;
			break;
		case OPT_DB:
			db = optarg;
			break;
		case OPT_AS:
			as = optarg;
			break;
		case OPT_CHECK:
			check = 1;
			break;
		case OPT_PRINT:
			config_write_example(stdout);
			return 0;
		case OPT_MAN:
			config_write_man(stdout);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ismsd %s\n", ISMS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ismsd: unexpected argument %s\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	/* the same search as ismsctl's: -c, $ISMSD_CONFIG, the system file */
	cfile = config_locate(cfile, NULL);
	if (check) {
		if (cfile == NULL) {
			fprintf(stderr,
				"ismsd: --check-config: no configuration "
				"file (-c FILE, $" CONFIG_ENV
				" or " CONFIG_SYSTEM_PATH ")\n");
			return 2;
		}
		return check_config(cfile);
	}
	if (console) {
		if ((db == NULL && cfile == NULL) || as == NULL) {
			fprintf(stderr,
				"ismsd: --console needs --db PATH (or -c FILE) "
				"and --as HANDLE\n");
			return 2;
		}
		return run_console(db, as, cfile);
	}
	if (cfile == NULL) {
		fprintf(stderr,
			"ismsd: no configuration file: give -c FILE, set "
			"$" CONFIG_ENV " or create " CONFIG_SYSTEM_PATH "\n");
		usage(stderr);
		return 2;
	}
	return gw_run(cfile);
}
