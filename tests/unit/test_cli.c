/*
 * Unit tests of cli: the environment fallback and its precedence, both
 * value forms, short options, repeatable options, switches, every usage
 * error, cli_uint's ranges, --help, --version, the roff of --help-man,
 * commands, and stop_at_operand.  stdout and stderr are captured around
 * each call to check what a user would see.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "version.h"

enum { O_LISTEN, O_DB, O_PORT, O_VERBOSE, O_KEY, O_MAX_CONNS, O_LIMIT, O_QUIET, O_KNOB, O_N };

static const cli_opt_t opts[] = {
	[O_LISTEN] = {"listen", 'l', "ADDR", NULL, "127.0.0.1:8053", "Listen on ADDR.", CLI_REPEAT},
	[O_DB] = {"db", 'd', "DIR", NULL, "/var/lib/kyedns", "Store directory.", 0},
	[O_PORT] = {"port", 'p', "N", NULL, "53", "Port number.", 0},
	[O_VERBOSE] = {"verbose", 'v', NULL, NULL, NULL, "Say more.", 0},
	[O_KEY] = {"api-key", 0, "KEY", "KYEDNS_OTHER_KEY", NULL, "The API key.", 0},
	[O_MAX_CONNS] = {"max-conns", 0, "N", NULL, "", "Connections at once.", 0},
	[O_LIMIT] = {"limit", 0, "N", NULL, NULL, "A limit.", CLI_NO_ENV},
	[O_QUIET] = {"quiet", 'q', NULL, NULL, NULL, "Say less.", 0},
	[O_KNOB] = {"secret-knob", 0, "X", NULL, NULL, "Not for users.", CLI_HIDDEN},
	[O_N] = {0},
};

static const cli_section_t sections[] = {
	{"FILES", "/etc/default/kyedns\t the environment of the units.\n\n"
		  ".dot at a line start and a back\\slash.\n\n"
		  "  example --db /x\n  .second"},
	{NULL, NULL},
};

static const cli_opt_t cmd_opts[] = {
	{"ttl", 0, "N", NULL, "60", "TTL of the thing.", CLI_NO_ENV},
	{0},
};

static const cli_cmd_t cmds[] = {
	{"thing add", "NAME [--ttl N]", "Add a thing", "Things are -added- here.", cmd_opts},
	{"thing list", "", "List the things", NULL, NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

static cli_t prog = {
	.prog = "kyedns-test",
	.man_section = 8,
	.summary = "test program of the cli module",
	.description = "First paragraph.\n\n- a bullet\n- another",
	.opts = opts,
	.sections = sections,
};

static char out[1 << 16], err[1 << 16];

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* out with each run of blanks and newlines as one space: --help wraps. */
static const char *flat(void)
{
	static char buf[sizeof out];
	size_t n = 0;
	for (const char *p = out; *p; p++) {
		if (*p == ' ' || *p == '\n') {
			if (n && buf[n - 1] != ' ')
				buf[n++] = ' ';
		} else {
			buf[n++] = *p;
		}
	}
	buf[n] = 0;
	return buf;
}

/* Runs fn with stdout and stderr going to files, then reads them into
 * out and err. */
static void capture_begin(int fds[2], FILE *files[2])
{
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 2; i++) {
		files[i] = tmpfile();
		fds[i] = dup(i + 1);
		dup2(fileno(files[i]), i + 1);
	}
}

static void capture_end(int fds[2], FILE *files[2])
{
	char *bufs[2] = {out, err};
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 2; i++) {
		dup2(fds[i], i + 1);
		close(fds[i]);
		rewind(files[i]);
		size_t n = fread(bufs[i], 1, sizeof out - 1, files[i]);
		bufs[i][n] = 0;
		fclose(files[i]);
	}
}

/* cli_parse of c over the NULL-terminated words after the program name;
 * argv stays in av (getopt may reorder it). */
static char *av[32];
static int ac;

static int parse(const cli_t *c, cli_val_t *vals, int *operands, ...)
{
	int fds[2];
	FILE *files[2];
	va_list ap;
	ac = 0;
	av[ac++] = (char *)c->prog;
	va_start(ap, operands);
	for (char *w; (w = va_arg(ap, char *)) != NULL;)
		av[ac++] = w;
	va_end(ap);
	av[ac] = NULL;
	capture_begin(fds, files);
	int rc = cli_parse(c, ac, av, vals, operands);
	capture_end(fds, files);
	return rc;
}

static void clear_env(void)
{
	static const char *const names[] = {"KYEDNS_LISTEN", "KYEDNS_DB", "KYEDNS_PORT",
					    "KYEDNS_VERBOSE", "KYEDNS_API_KEY", "KYEDNS_OTHER_KEY",
					    "KYEDNS_MAX_CONNS", "KYEDNS_LIMIT", "KYEDNS_QUIET",
					    "KYEDNS_SECRET_KNOB"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		unsetenv(names[i]);
}

/* A usage error: -1, nothing on stdout, "prog: <want...>" then the hint. */
#define CHECK_USAGE(rc, want)                                                                 \
	do {                                                                                  \
		CHECK((rc) == -1);                                                            \
		CHECK(out[0] == 0);                                                           \
		CHECK(strncmp(err, "kyedns-test: ", 13) == 0);                                \
		CHECK(strstr(err, want) != NULL);                                             \
		CHECK(strstr(err, "\nTry 'kyedns-test --help'.\n") != NULL);                  \
		if (!strstr(err, want))                                                       \
			fprintf(stderr, "  stderr was: %s", err);                             \
	} while (0)

static void test_env_names(void)
{
	char buf[64];
	CHECK_STR(cli_env_name(&opts[O_DB], buf, sizeof buf), "KYEDNS_DB");
	CHECK_STR(cli_env_name(&opts[O_MAX_CONNS], buf, sizeof buf), "KYEDNS_MAX_CONNS");
	CHECK_STR(cli_env_name(&opts[O_KEY], buf, sizeof buf), "KYEDNS_OTHER_KEY");
	CHECK(cli_env_name(&opts[O_LIMIT], buf, sizeof buf) == NULL);
	char tiny[10];
	CHECK_STR(cli_env_name(&opts[O_MAX_CONNS], tiny, sizeof tiny), "KYEDNS_MA"); /* cut */
}

static void test_precedence(void)
{
	cli_val_t v[O_N];
	clear_env();
	/* the default */
	CHECK(parse(&prog, v, NULL, NULL) == 0);
	CHECK_STR(v[O_DB].s, "/var/lib/kyedns");
	CHECK(v[O_DB].from == CLI_FROM_DEFAULT);
	CHECK(v[O_VERBOSE].s == NULL);
	CHECK_STR(v[O_LISTEN].s, "127.0.0.1:8053");
	CHECK(v[O_LISTEN].n == 0); /* no list: the default applies */
	CHECK(v[O_KEY].s == NULL);
	CHECK(out[0] == 0 && err[0] == 0);
	cli_free(&prog, v);
	/* the environment */
	setenv("KYEDNS_DB", "/env", 1);
	setenv("KYEDNS_OTHER_KEY", "k1", 1);
	setenv("KYEDNS_API_KEY", "not-this-one", 1);
	setenv("KYEDNS_LIMIT", "5", 1); /* CLI_NO_ENV: ignored */
	CHECK(parse(&prog, v, NULL, NULL) == 0);
	CHECK_STR(v[O_DB].s, "/env");
	CHECK(v[O_DB].from == CLI_FROM_ENV);
	CHECK_STR(v[O_KEY].s, "k1");
	CHECK(v[O_LIMIT].s == NULL);
	cli_free(&prog, v);
	/* an empty variable is unset, not an empty value */
	setenv("KYEDNS_DB", "", 1);
	CHECK(parse(&prog, v, NULL, NULL) == 0);
	CHECK_STR(v[O_DB].s, "/var/lib/kyedns");
	CHECK(v[O_DB].from == CLI_FROM_DEFAULT);
	cli_free(&prog, v);
	/* the command line wins, in every form */
	setenv("KYEDNS_DB", "/env", 1);
	const char *forms[][3] = {{"--db=/arg", NULL, NULL}, {"--db", "/arg", NULL},
				  {"-d", "/arg", NULL},      {"-d/arg", NULL, NULL},
				  {"--d", "/arg", NULL},     {"--db=/x", "--db=/arg", NULL}};
	for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
		CHECK(parse(&prog, v, NULL, forms[i][0], forms[i][1], forms[i][2]) == 0);
		CHECK_STR(v[O_DB].s, "/arg");
		CHECK(v[O_DB].from == CLI_FROM_ARG);
		cli_free(&prog, v);
	}
	/* an empty value given on purpose stays empty (the program refuses it) */
	CHECK(parse(&prog, v, NULL, "--db=", NULL) == 0);
	CHECK_STR(v[O_DB].s, "");
	CHECK(v[O_DB].from == CLI_FROM_ARG);
	cli_free(&prog, v);
	/* an env-less option still takes the command line */
	CHECK(parse(&prog, v, NULL, "--limit", "7", NULL) == 0);
	CHECK_STR(v[O_LIMIT].s, "7");
	cli_free(&prog, v);
	/* short switches cluster; a short option's value may follow in the cluster */
	CHECK(parse(&prog, v, NULL, "-vqd/c", NULL) == 0);
	CHECK_STR(v[O_VERBOSE].s, "1");
	CHECK_STR(v[O_QUIET].s, "1");
	CHECK_STR(v[O_DB].s, "/c");
	cli_free(&prog, v);
	clear_env();
}

static void test_repeat(void)
{
	cli_val_t v[O_N];
	clear_env();
	setenv("KYEDNS_LISTEN", "a:1,,b:2,", 1);
	CHECK(parse(&prog, v, NULL, NULL) == 0);
	CHECK(v[O_LISTEN].n == 2);
	if (v[O_LISTEN].n == 2) {
		CHECK_STR(v[O_LISTEN].list[0], "a:1");
		CHECK_STR(v[O_LISTEN].list[1], "b:2");
	}
	CHECK(v[O_LISTEN].from == CLI_FROM_ENV);
	cli_free(&prog, v);
	CHECK(v[O_LISTEN].list == NULL && v[O_LISTEN].n == 0);
	/* the command line replaces the env list, in both forms and short */
	CHECK(parse(&prog, v, NULL, "--listen=x:1", "--listen", "y:2", "-l", "z:3", NULL) == 0);
	CHECK(v[O_LISTEN].n == 3);
	if (v[O_LISTEN].n == 3) {
		CHECK_STR(v[O_LISTEN].list[0], "x:1");
		CHECK_STR(v[O_LISTEN].list[1], "y:2");
		CHECK_STR(v[O_LISTEN].list[2], "z:3");
	}
	CHECK_STR(v[O_LISTEN].s, "z:3");
	CHECK(v[O_LISTEN].from == CLI_FROM_ARG);
	cli_free(&prog, v);
	/* a comma on the command line is part of the value */
	CHECK(parse(&prog, v, NULL, "--listen=p,q", NULL) == 0);
	CHECK(v[O_LISTEN].n == 1);
	cli_free(&prog, v);
	clear_env();
}

static void test_switch_env(void)
{
	cli_val_t v[O_N];
	static const char *const on[] = {"1", "yes", "YES", "true", "on"};
	static const char *const off[] = {"0", "no", "false", "Off", ""};
	clear_env();
	for (size_t i = 0; i < sizeof on / sizeof *on; i++) {
		setenv("KYEDNS_VERBOSE", on[i], 1);
		CHECK(parse(&prog, v, NULL, NULL) == 0);
		CHECK_STR(v[O_VERBOSE].s, "1");
		CHECK(v[O_VERBOSE].from == CLI_FROM_ENV);
		cli_free(&prog, v);
	}
	for (size_t i = 0; i < sizeof off / sizeof *off; i++) {
		setenv("KYEDNS_VERBOSE", off[i], 1);
		CHECK(parse(&prog, v, NULL, NULL) == 0);
		CHECK(v[O_VERBOSE].s == NULL);
		cli_free(&prog, v);
	}
	/* the flag turns on what the environment turned off */
	setenv("KYEDNS_VERBOSE", "no", 1);
	CHECK(parse(&prog, v, NULL, "--verbose", NULL) == 0);
	CHECK_STR(v[O_VERBOSE].s, "1");
	cli_free(&prog, v);
	/* a bad value is a usage error that names the variable; a list
	 * filled before it is freed (ASan), and the vals array may hold
	 * garbage on entry */
	setenv("KYEDNS_VERBOSE", "maybe", 1);
	setenv("KYEDNS_LISTEN", "a,b", 1);
	memset(v, 0xa5, sizeof v);
	CHECK_USAGE(parse(&prog, v, NULL, NULL), "KYEDNS_VERBOSE=maybe: not a switch value");
	/* ... unless the command line sets the option, or asks for help */
	CHECK(parse(&prog, v, NULL, "--verbose", NULL) == 0);
	CHECK_STR(v[O_VERBOSE].s, "1");
	CHECK(err[0] == 0);
	cli_free(&prog, v);
	CHECK(parse(&prog, v, NULL, "--help", NULL) == 1);
	CHECK(strncmp(out, "Usage: ", 7) == 0 && err[0] == 0);
	CHECK(parse(&prog, v, NULL, "--version", NULL) == 1);
	CHECK(err[0] == 0);
	/* an argv error is reported first, alone */
	CHECK_USAGE(parse(&prog, v, NULL, "--bogus", NULL), "unknown option --bogus\n");
	CHECK(strstr(err, "KYEDNS_VERBOSE") == NULL);
	clear_env();
}

static void test_usage_errors(void)
{
	cli_val_t v[O_N];
	int ops = -1;
	clear_env();
	CHECK_USAGE(parse(&prog, v, NULL, "--db", NULL), "option --db needs a value");
	CHECK_USAGE(parse(&prog, v, NULL, "-d", NULL), "option -d needs a value");
	CHECK_USAGE(parse(&prog, v, NULL, "--bogus", NULL), "unknown option --bogus\n");
	CHECK_USAGE(parse(&prog, v, NULL, "-x", NULL), "unknown option -x\n");
	CHECK_USAGE(parse(&prog, v, NULL, "--verbose", "-vx", NULL), "unknown option -x\n");
	CHECK_USAGE(parse(&prog, v, NULL, "--verbose=yes", NULL), "option --verbose takes no value");
	CHECK_USAGE(parse(&prog, v, NULL, "--help=1", NULL), "option --help takes no value");
	CHECK_USAGE(parse(&prog, v, NULL, "--li=3", NULL), "ambiguous option --li\n");
	/* the value of an unknown option is never echoed */
	CHECK_USAGE(parse(&prog, v, NULL, "--tokn=Secret123", NULL), "unknown option --tokn\n");
	CHECK(strstr(err, "Secret123") == NULL);
	/* operands */
	CHECK_USAGE(parse(&prog, v, NULL, "stray", NULL), "unexpected argument 'stray'");
	CHECK(parse(&prog, v, &ops, "--db", "/a", "w1", "-v", "w2", NULL) == 0);
	CHECK(ops == 4 && ac == 6);
	if (ops == 4) {
		CHECK_STR(av[4], "w1"); /* reordered: operands last */
		CHECK_STR(av[5], "w2");
	}
	CHECK_STR(v[O_VERBOSE].s, "1");
	cli_free(&prog, v);
	/* "--" ends the options */
	CHECK(parse(&prog, v, &ops, "--", "--db", NULL) == 0);
	CHECK(ops == 2);
	CHECK_STR(av[ops], "--db");
	CHECK(v[O_DB].from == CLI_FROM_DEFAULT);
	cli_free(&prog, v);
	/* another hint */
	cli_t c = prog;
	c.hint = "kyedns-test thing add --help";
	CHECK(parse(&c, v, NULL, "--bogus", NULL) == -1);
	CHECK_STR(err, "kyedns-test: unknown option --bogus\nTry 'kyedns-test thing add --help'.\n");
	CHECK_STR(out, "");
}

static void test_stop_at_operand(void)
{
	cli_val_t v[O_N];
	int ops = -1;
	cli_t c = prog;
	c.stop_at_operand = 1;
	clear_env();
	CHECK(parse(&c, v, &ops, "--db", "/a", "cmd", "--port", "5", "x", NULL) == 0);
	CHECK(ops == 3);
	CHECK_STR(av[3], "cmd");
	CHECK_STR(av[4], "--port"); /* left for the command, in order */
	CHECK_STR(v[O_PORT].s, "53");
	CHECK_STR(v[O_DB].s, "/a");
	cli_free(&c, v);
	/* without operands pointer: operands are fine too */
	CHECK(parse(&c, v, NULL, "cmd", NULL) == 0);
	cli_free(&c, v);
	/* then a reordering parse in the same process still reorders */
	CHECK(parse(&prog, v, &ops, "w1", "--port", "6", NULL) == 0);
	CHECK(ops == 3);
	CHECK_STR(v[O_PORT].s, "6");
	CHECK_STR(av[3], "w1");
	cli_free(&prog, v);
}

static void test_uint(void)
{
	cli_val_t v[O_N];
	unsigned long n = 7;
	int fds[2];
	FILE *files[2];
	clear_env();
	static const char *const bad[] = {"", "-1", "+5", " 5", "5 ", "5x", "0x10", "65536",
					  "0", "99999999999999999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK(parse(&prog, v, NULL, "--port", bad[i], NULL) == 0);
		capture_begin(fds, files);
		int rc = cli_uint(&prog, v, O_PORT, 1, 65535, &n);
		capture_end(fds, files);
		CHECK(rc == -1);
		CHECK(n == 7);
		char want[128];
		snprintf(want, sizeof want, "kyedns-test: --port: '%s' is not a number in 1..65535\n",
			 bad[i]);
		CHECK(strncmp(err, want, strlen(want)) == 0);
		cli_free(&prog, v);
	}
	/* from the environment: the message names the variable */
	setenv("KYEDNS_PORT", "70000", 1);
	CHECK(parse(&prog, v, NULL, NULL) == 0);
	capture_begin(fds, files);
	CHECK(cli_uint(&prog, v, O_PORT, 1, 65535, &n) == -1);
	capture_end(fds, files);
	CHECK(strstr(err, "KYEDNS_PORT: '70000' is not a number in 1..65535") != NULL);
	cli_free(&prog, v);
	clear_env();
	/* the edges, and the default */
	CHECK(parse(&prog, v, NULL, "--port=65535", NULL) == 0);
	CHECK(cli_uint(&prog, v, O_PORT, 1, 65535, &n) == 0 && n == 65535);
	cli_free(&prog, v);
	CHECK(parse(&prog, v, NULL, "--port", "1", NULL) == 0);
	CHECK(cli_uint(&prog, v, O_PORT, 1, 65535, &n) == 0 && n == 1);
	cli_free(&prog, v);
	CHECK(parse(&prog, v, NULL, NULL) == 0);
	CHECK(cli_uint(&prog, v, O_PORT, 1, 65535, &n) == 0 && n == 53);
	/* no value at all: *out stays */
	n = 9;
	CHECK(cli_uint(&prog, v, O_LIMIT, 0, 10, &n) == 0 && n == 9);
	cli_free(&prog, v);
	CHECK(parse(&prog, v, NULL, "--limit=4294967295", NULL) == 0);
	CHECK(cli_uint(&prog, v, O_LIMIT, 0, 4294967295ul, &n) == 0 && n == 4294967295ul);
	cli_free(&prog, v);
}

static void test_help_version(void)
{
	cli_val_t v[O_N];
	char buf[64], want[128];
	clear_env();
	CHECK(parse(&prog, v, NULL, "--version", NULL) == 1);
	snprintf(want, sizeof want, "kyedns-test %s\n", KYEDNS_VERSION);
	CHECK_STR(out, want);
	CHECK_STR(err, "");
	/* --help stops at once, even before a bad option */
	CHECK(parse(&prog, v, NULL, "--help", "--bogus", NULL) == 1);
	CHECK_STR(err, "");
	CHECK(strstr(out, "Usage: kyedns-test [OPTION]...\n") == out);
	CHECK(strstr(out, "test program of the cli module.\n") != NULL);
	for (int i = 0; i < O_N; i++) {
		const cli_opt_t *o = &opts[i];
		char flag[64];
		snprintf(flag, sizeof flag, "--%s%s%s", o->name, o->arg ? "=" : "",
			 o->arg ? o->arg : "");
		if (o->flags & CLI_HIDDEN) {
			CHECK(strstr(out, o->name) == NULL);
			continue;
		}
		CHECK(strstr(out, flag) != NULL);
		CHECK(strstr(out, o->help) != NULL);
		if (o->short_name) {
			snprintf(flag, sizeof flag, "  -%c, --%s", o->short_name, o->name);
			CHECK(strstr(out, flag) != NULL);
		}
		const char *env = cli_env_name(o, buf, sizeof buf);
		if (env) {
			snprintf(want, sizeof want, "env: %s]", env);
			CHECK(strstr(flat(), want) != NULL);
		}
		if (o->dflt && *o->dflt) {
			snprintf(want, sizeof want, "default: %s", o->dflt);
			CHECK(strstr(flat(), want) != NULL);
		}
	}
	CHECK(strstr(flat(), "default: (empty); env: KYEDNS_MAX_CONNS]") != NULL);
	CHECK(strstr(out, "KYEDNS_LIMIT") == NULL);
	CHECK(strstr(out, "May be repeated.") != NULL);
	CHECK(strstr(out, "  -h, --help") != NULL);
	CHECK(strstr(out, "      --version") != NULL);
	CHECK(strstr(out, "--help-man") == NULL);
	CHECK(strstr(out, "kyedns-test(8)") != NULL);
	for (const char *p = out; *p;) { /* lines fit 79 columns */
		size_t len = strcspn(p, "\n");
		CHECK(len <= 79);
		p += len + (p[len] ? 1 : 0);
	}
	char help[sizeof out];
	memcpy(help, out, sizeof help);
	CHECK(parse(&prog, v, NULL, "-h", NULL) == 1);
	CHECK_STR(out, help);
	/* cli_help itself prints the same */
	int fds[2];
	FILE *files[2];
	capture_begin(fds, files);
	cli_help(&prog, stdout);
	capture_end(fds, files);
	CHECK_STR(out, help);
}

/* Every line of a roff page: a request of the man macros, a comment, or
 * text that does not start with a control character. */
static void check_roff(const char *page)
{
	static const char *const macros[] = {".TH ", ".SH ", ".SS ", ".PP", ".TP", ".B ",
					     ".IP ", ".RS ", ".RS", ".RE", ".EX", ".EE", ".nh", ".hy", ".ad l", ".ad",
					     ".\\\" "};
	int line = 0;
	for (const char *p = page; *p;) {
		size_t len = strcspn(p, "\n");
		line++;
		if (p[0] == '.' || p[0] == '\'') {
			int ok = 0;
			for (size_t i = 0; i < sizeof macros / sizeof *macros; i++) {
				size_t m = strlen(macros[i]);
				if (strncmp(p, macros[i], m) == 0 &&
				    (macros[i][m - 1] == ' ' || len == m))
					ok = 1;
			}
			if (!ok)
				fprintf(stderr, "  roff line %d: %.*s\n", line, (int)len, p);
			CHECK(ok);
		}
		CHECK(len == 0 || p[0] != ' ' || strstr(page, ".EX") != NULL);
		p += len + (p[len] ? 1 : 0);
	}
}

static void test_man(void)
{
	cli_val_t v[O_N];
	char buf[64], want[128];
	clear_env();
	CHECK(parse(&prog, v, NULL, "--help-man", NULL) == 1);
	CHECK_STR(err, "");
	check_roff(out);
	snprintf(want, sizeof want, ".TH \"KYEDNS-TEST\" \"8\" \"\" \"KyedNS %s\"", KYEDNS_VERSION);
	CHECK(strstr(out, want) != NULL);
	CHECK(strstr(out, ".SH NAME\nkyedns\\-test \\- test program of the cli module\n") != NULL);
	CHECK(strstr(out, ".SH SYNOPSIS\n") != NULL);
	CHECK(strstr(out, ".SH DESCRIPTION\n.PP\nFirst paragraph.\n") != NULL);
	CHECK(strstr(out, ".IP \\(bu 2\na bullet\n") != NULL);
	CHECK(strstr(out, ".SH OPTIONS\n") != NULL);
	CHECK(strstr(out, ".SH ENVIRONMENT\n") != NULL);
	CHECK(strstr(out, ".SH COMMANDS") == NULL);
	for (int i = 0; i < O_N; i++) {
		const cli_opt_t *o = &opts[i];
		char flag[128], name[64];
		size_t k = 0;
		for (const char *s = o->name; *s; s++) { /* '-' is \- in roff */
			if (*s == '-')
				name[k++] = '\\';
			name[k++] = *s;
		}
		name[k] = 0;
		snprintf(flag, sizeof flag, "\\fB\\-\\-%s\\fR", name);
		if (o->flags & CLI_HIDDEN) {
			CHECK(strstr(out, name) == NULL);
			continue;
		}
		CHECK(strstr(out, flag) != NULL);
		const char *env = cli_env_name(o, buf, sizeof buf);
		if (env) {
			snprintf(want, sizeof want, ".TP\n.B %s\n", env);
			CHECK(strstr(out, want) != NULL);
		}
	}
	CHECK(strstr(out, "Default: \\fB/var/lib/kyedns\\fR.") != NULL);
	CHECK(strstr(out, "\\fB\\-h\\fR, \\fB\\-\\-help\\fR") != NULL);
	/* the extra section: tagged paragraph, escapes, verbatim example */
	CHECK(strstr(out, ".SH FILES\n") != NULL);
	CHECK(strstr(out, ".TP\n\\fB/etc/default/kyedns\\fR\nthe environment") != NULL);
	CHECK(strstr(out, "\n\\&.dot at a line start and a back\\eslash.\n") != NULL);
	CHECK(strstr(out, ".EX\nexample \\-\\-db /x\n\\&.second\n.EE\n") != NULL);
	/* commands */
	cli_t c = prog;
	c.cmds = cmds;
	CHECK(parse(&c, v, NULL, "--help-man", NULL) == 1);
	check_roff(out);
	CHECK(strstr(out, ".SH COMMANDS\n.SS \"thing add\"\n") != NULL);
	CHECK(strstr(out, ".nh\n.ad l\n\\fBkyedns\\-test thing add\\fR NAME [\\-\\-ttl N]\n"
			  ".ad\n.hy\n") != NULL);
	CHECK(strstr(out, ".SS \"thing list\"\n") != NULL);
	CHECK(strstr(out, "\\fB\\-\\-ttl\\fR=\\fIN\\fR\nTTL of the thing.\nDefault: \\fB60\\fR.") !=
	      NULL);
	CHECK(strstr(out, ".SH COMMANDS") < strstr(out, ".SH ENVIRONMENT"));
}

static void test_cmds(void)
{
	cli_val_t v[O_N];
	int fds[2];
	FILE *files[2];
	cli_t c = prog;
	c.cmds = cmds;
	clear_env();
	CHECK(parse(&c, v, NULL, "--help", NULL) == 1);
	CHECK(strstr(out, "\nCommands:\n  thing add NAME [--ttl N]\n      Add a thing.\n") != NULL);
	CHECK(strstr(out, "  thing list\n      List the things.\n") != NULL);
	CHECK(strstr(out, "'kyedns-test COMMAND --help'") != NULL);
	capture_begin(fds, files);
	cli_cmd_help(&c, &cmds[0], stdout);
	capture_end(fds, files);
	CHECK(starts(out, "Usage: kyedns-test thing add NAME [--ttl N]\nAdd a thing.\n\n"));
	CHECK(strstr(out, "Things are -added- here.") != NULL);
	CHECK(strstr(out, "\nOptions:\n      --ttl=N") != NULL);
	CHECK(strstr(out, "[default: 60]") != NULL);
	CHECK(strstr(out, "env:") == NULL);
	CHECK(strstr(out, "(--listen, --db, --port, --verbose, --api-key, --max-conns, --limit, "
			  "--quiet) apply too") != NULL);
	capture_begin(fds, files);
	cli_cmd_help(&c, &cmds[1], stdout);
	capture_end(fds, files);
	CHECK(starts(out, "Usage: kyedns-test thing list\nList the things.\n\n"));
	CHECK(strstr(out, "Options:") == NULL);
}

int main(void)
{
	test_env_names();
	test_precedence();
	test_repeat();
	test_switch_env();
	test_usage_errors();
	test_stop_at_operand();
	test_uint();
	test_help_version();
	test_man();
	test_cmds();
	return check_done("cli");
}
