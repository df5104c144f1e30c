/*
 * cli - table-driven options, --help and man pages; see cli.h.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "version.h"

#define OPT_HELP 0x1000
#define OPT_VERSION 0x1001
#define OPT_MAN 0x1002
#define OPT_BASE 0x2000 /* long-only option i has val OPT_BASE + i */

static size_t count_opts(const cli_t *c)
{
	size_t n = 0;
	while (c->opts && c->opts[n].name)
		n++;
	return n;
}

const char *cli_env_name(const cli_opt_t *o, char *buf, size_t size)
{
	if (o->flags & CLI_NO_ENV)
		return NULL;
	if (o->env)
		return o->env;
	size_t n = (size_t)snprintf(buf, size, "KYEDNS_");
	for (const char *p = o->name; *p && n + 1 < size; p++)
		buf[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	buf[n] = 0;
	return buf;
}

int cli_usage_error(const cli_t *c, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout); /* what was printed before the error stays in order */
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", c->prog);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (c->hint)
		fprintf(stderr, "\nTry '%s'.\n", c->hint);
	else
		fprintf(stderr, "\nTry '%s --help'.\n", c->prog);
	return -1;
}

static int switch_value(const char *s)
{
	static const char *const on[] = {"1", "yes", "true", "on"};
	static const char *const off[] = {"0", "no", "false", "off", ""};
	for (size_t i = 0; i < sizeof on / sizeof *on; i++)
		if (strcasecmp(s, on[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof off / sizeof *off; i++)
		if (strcasecmp(s, off[i]) == 0)
			return 0;
	return -1;
}

static int list_add(cli_val_t *v, const char *s, size_t len)
{
	char **l = realloc(v->list, (v->n + 1) * sizeof *l);
	if (!l)
		return -ENOMEM;
	v->list = l;
	if (!(l[v->n] = strndup(s, len)))
		return -ENOMEM;
	v->n++;
	return 0;
}

static void list_clear(cli_val_t *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->list[i]);
	free(v->list);
	v->list = NULL;
	v->n = 0;
}

void cli_free(const cli_t *c, cli_val_t *vals)
{
	size_t n = count_opts(c);
	for (size_t i = 0; i < n; i++)
		list_clear(&vals[i]);
}

/* Values from the environment and defaults, before argv overrides them.
 * A switch variable that is not a switch value leaves its index in *bad
 * (the first one): it is an error only if the command line does not set
 * that option, and --help or --version still work. */
static int from_env(const cli_t *c, cli_val_t *vals, long *bad)
{
	size_t n = count_opts(c);
	char buf[128];
	/* All first: after an error cli_free() looks at every entry. */
	memset(vals, 0, n * sizeof *vals);
	for (size_t i = 0; i < n; i++) {
		const cli_opt_t *o = &c->opts[i];
		cli_val_t *v = &vals[i];
		v->s = o->arg ? o->dflt : NULL;
		const char *name = cli_env_name(o, buf, sizeof buf);
		const char *e = name ? getenv(name) : NULL;
		if (!e || (!*e && o->arg))
			continue;
		if (!o->arg) {
			int on = switch_value(e);
			if (on < 0 && *bad < 0)
				*bad = (long)i;
			v->s = on > 0 ? "1" : NULL;
			v->from = CLI_FROM_ENV;
			continue;
		}
		v->s = e;
		v->from = CLI_FROM_ENV;
		if (o->flags & CLI_REPEAT) {
			for (const char *p = e; *p;) {
				const char *comma = strchr(p, ',');
				size_t len = comma ? (size_t)(comma - p) : strlen(p);
				if (len && list_add(v, p, len) != 0)
					return cli_usage_error(c, "out of memory");
				p += len + (comma ? 1 : 0);
			}
		}
	}
	return 0;
}

/*
 * Reports what getopt_long refused (ch '?' or ':'); arg is the argv entry
 * it was looking at.  A long option is named without its "=value": the
 * value of a mistyped --token=SECRET must not reach a terminal or a log.
 */
static int bad_option(const cli_t *c, const struct option *lo, int ch, const char *arg)
{
	int is_long = arg && strncmp(arg, "--", 2) == 0;
	const char *name = is_long ? arg + 2 : "";
	size_t len = strcspn(name, "=");
	const struct option *m = NULL;
	int matches = 0;

	for (const struct option *o = lo; is_long && o->name; o++) {
		if (strncmp(o->name, name, len) != 0)
			continue;
		m = o;
		if (strlen(o->name) == len) { /* an exact match wins over prefixes */
			matches = 1;
			break;
		}
		matches++;
	}
	/* A long option given "=value" it does not take: getopt_long sets
	 * optopt to its val, which may look like a short option. */
	if (is_long && matches == 1 && name[len] == '=' && m->has_arg == no_argument)
		return cli_usage_error(c, "option --%s takes no value", m->name);
	int short_opt = optopt > 0 && optopt < 0x100 && isprint(optopt);
	if (ch == ':') {
		if (is_long && matches == 1)
			return cli_usage_error(c, "option --%s needs a value", m->name);
		if (short_opt)
			return cli_usage_error(c, "option -%c needs a value", optopt);
		return cli_usage_error(c, "an option needs a value");
	}
	if (short_opt) /* the previous entry may be a long option: -x in "-xy" */
		return cli_usage_error(c, "unknown option -%c", optopt);
	if (is_long && matches > 1)
		return cli_usage_error(c, "ambiguous option --%.*s", (int)(len < 64 ? len : 64),
				       name);
	if (is_long)
		return cli_usage_error(c, "unknown option --%.*s", (int)(len < 64 ? len : 64),
				       name);
	return cli_usage_error(c, "unknown option");
}

int cli_parse(const cli_t *c, int argc, char **argv, cli_val_t *vals, int *operands)
{
	size_t n = count_opts(c);
	struct option *lo = calloc(n + 4, sizeof *lo);
	char *so = malloc(3 * n + 4);
	if (!lo || !so) {
		free(lo);
		free(so);
		return cli_usage_error(c, "out of memory");
	}
	size_t k = 0;
	if (c->stop_at_operand)
		so[k++] = '+';
	so[k++] = ':'; /* missing arguments are reported as ':' */
	so[k++] = 'h';
	for (size_t i = 0; i < n; i++) {
		const cli_opt_t *o = &c->opts[i];
		lo[i].name = o->name;
		lo[i].has_arg = o->arg ? required_argument : no_argument;
		lo[i].val = o->short_name ? o->short_name : OPT_BASE + (int)i;
		if (o->short_name) {
			so[k++] = (char)o->short_name;
			if (o->arg)
				so[k++] = ':';
		}
	}
	so[k] = 0;
	lo[n] = (struct option){"help", no_argument, NULL, OPT_HELP};
	lo[n + 1] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	lo[n + 2] = (struct option){"help-man", no_argument, NULL, OPT_MAN};

	long bad_env = -1;
	int rc = from_env(c, vals, &bad_env);
	unsigned char *seen = calloc(n + 1, 1);
	if (!seen && rc == 0)
		rc = cli_usage_error(c, "out of memory");
	opterr = 0;
	optind = 0; /* glibc: 0 re-initialises getopt (ordering, a half-read cluster) */
	while (rc == 0) {
		int li = -1;
		int ch = getopt_long(argc, argv, so, lo, &li);
		if (ch == -1)
			break;
		if (ch == 'h' || ch == OPT_HELP) {
			cli_help(c, stdout);
			rc = 1;
			break;
		}
		if (ch == OPT_VERSION) {
			printf("%s %s\n", c->prog, KYEDNS_VERSION);
			rc = 1;
			break;
		}
		if (ch == OPT_MAN) {
			cli_man(c, stdout);
			rc = 1;
			break;
		}
		if (ch == '?' || ch == ':') {
			rc = bad_option(c, lo, ch,
					optind > 0 && optind <= argc ? argv[optind - 1] : NULL);
			break;
		}
		size_t i = 0;
		if (ch >= OPT_BASE)
			i = (size_t)(ch - OPT_BASE);
		else
			while (i < n && c->opts[i].short_name != ch)
				i++;
		if (i >= n) {
			rc = cli_usage_error(c, "unknown option");
			break;
		}
		const cli_opt_t *o = &c->opts[i];
		cli_val_t *v = &vals[i];
		if (!o->arg) {
			v->s = "1";
		} else if (o->flags & CLI_REPEAT) {
			if (!seen[i])
				list_clear(v); /* the command line replaces the env list */
			if (list_add(v, optarg, strlen(optarg)) != 0)
				rc = cli_usage_error(c, "out of memory");
			v->s = optarg;
		} else {
			v->s = optarg;
		}
		v->from = CLI_FROM_ARG;
		seen[i] = 1;
	}
	if (rc == 0 && bad_env >= 0 && !seen[bad_env]) {
		char buf[128];
		const char *name = cli_env_name(&c->opts[bad_env], buf, sizeof buf);
		rc = cli_usage_error(c, "%s=%s: not a switch value (1/0, yes/no)", name,
				     getenv(name));
	}
	if (rc == 0 && optind < argc && !c->stop_at_operand && !operands)
		rc = cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (rc == 0 && operands)
		*operands = optind;
	free(seen);
	free(lo);
	free(so);
	if (rc != 0)
		cli_free(c, vals);
	return rc;
}

int cli_uint(const cli_t *c, const cli_val_t *vals, int i, unsigned long lo, unsigned long hi,
	     unsigned long *out)
{
	const char *s = vals[i].s;
	if (!s)
		return 0;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || *s == '-' || *s == '+' || isspace((unsigned char)*s) ||
	    v < lo || v > hi) {
		char buf[128];
		const char *env = cli_env_name(&c->opts[i], buf, sizeof buf);
		if (vals[i].from == CLI_FROM_ENV && env)
			return cli_usage_error(c, "%s: '%s' is not a number in %lu..%lu", env, s,
					       lo, hi);
		return cli_usage_error(c, "--%s: '%s' is not a number in %lu..%lu",
				       c->opts[i].name, s, lo, hi);
	}
	*out = v;
	return 0;
}

/* ---- --help ---- */

#define HELP_COL 30
#define HELP_WIDTH 79

/* Writes text word-wrapped from column col (the cursor is at column at). */
static void wrap(FILE *f, const char *text, int col, int at)
{
	const char *p = text;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		size_t w = strcspn(p, " \n");
		if (!w && *p == '\n') {
			fputc('\n', f);
			at = 0;
			p++;
			continue;
		}
		if (at < col) {
			fprintf(f, "%*s", col - at, "");
			at = col;
		} else if (at > col && at + 1 + (int)w > HELP_WIDTH) {
			fprintf(f, "\n%*s", col, "");
			at = col;
		} else if (at > col) {
			fputc(' ', f);
			at++;
		}
		fwrite(p, 1, w, f);
		at += (int)w;
		p += w;
	}
	fputc('\n', f);
}

static void help_line(FILE *f, int short_name, const char *name, const char *arg,
		      const char *text)
{
	char head[128];
	int n;
	if (short_name)
		n = snprintf(head, sizeof head, "  -%c, --%s%s%s", short_name, name,
			     arg ? "=" : "", arg ? arg : "");
	else
		n = snprintf(head, sizeof head, "      --%s%s%s", name, arg ? "=" : "",
			     arg ? arg : "");
	fputs(head, f);
	if (n >= HELP_COL - 1) {
		fputc('\n', f);
		n = 0;
	}
	wrap(f, text, HELP_COL, n);
}

/* snprintf at b + m that never runs past size; returns the new length. */
static size_t add(char *b, size_t size, size_t m, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t add(char *b, size_t size, size_t m, const char *fmt, ...)
{
	va_list ap;
	if (m + 1 >= size)
		return m;
	va_start(ap, fmt);
	int r = vsnprintf(b + m, size - m, fmt, ap);
	va_end(ap);
	if (r < 0)
		return m;
	return m + (size_t)r < size ? m + (size_t)r : size - 1;
}

/* The rows of opts not hidden: flag, description, default, env. */
static void help_opts(FILE *f, const cli_opt_t *opts, int with_env)
{
	char buf[128], text[2048];
	for (const cli_opt_t *o = opts; o && o->name; o++) {
		if (o->flags & CLI_HIDDEN)
			continue;
		const char *env = with_env ? cli_env_name(o, buf, sizeof buf) : NULL;
		size_t m = add(text, sizeof text, 0, "%s", o->help);
		if (o->flags & CLI_REPEAT)
			m = add(text, sizeof text, m, " May be repeated.");
		if (o->dflt || env) {
			m = add(text, sizeof text, m, " [");
			if (o->dflt)
				m = add(text, sizeof text, m, "default: %s%s",
					*o->dflt ? o->dflt : "(empty)", env ? "; " : "");
			if (env)
				m = add(text, sizeof text, m, "env: %s", env);
			add(text, sizeof text, m, "]");
		}
		help_line(f, o->short_name, o->name, o->arg, text);
	}
}

/* "  zone add ZONE --ns NAME ..." with the arguments wrapped under themselves. */
static void help_synopsis(FILE *f, const char *lead, const char *name, const char *args)
{
	int at = fprintf(f, "%s%s", lead, name);
	if (args && *args)
		wrap(f, args, at + 1, at);
	else
		fputc('\n', f);
}

void cli_help(const cli_t *c, FILE *f)
{
	fprintf(f, "Usage: %s %s\n", c->prog, c->synopsis ? c->synopsis : "[OPTION]...");
	fprintf(f, "%s.\n\nOptions:\n", c->summary);
	help_opts(f, c->opts, 1);
	help_line(f, 'h', "help", NULL, "Show this help and exit.");
	help_line(f, 0, "version", NULL, "Show the version and exit.");
	if (c->cmds) {
		char text[1024];
		fputs("\nCommands:\n", f);
		for (const cli_cmd_t *k = c->cmds; k->name; k++) {
			help_synopsis(f, "  ", k->name, k->args);
			snprintf(text, sizeof text, "%s.", k->summary);
			wrap(f, text, 6, 0);
		}
		fprintf(f, "\n'%s COMMAND --help' shows the options of a command.\n", c->prog);
	} else {
		fputc('\n', f);
	}
	fprintf(f, "The manual page %s(%d) has the details.\n", c->prog, c->man_section);
}

void cli_cmd_help(const cli_t *c, const cli_cmd_t *cmd, FILE *f)
{
	char lead[128];
	snprintf(lead, sizeof lead, "Usage: %s ", c->prog);
	help_synopsis(f, lead, cmd->name, cmd->args);
	fprintf(f, "%s.\n", cmd->summary);
	if (cmd->notes) {
		fputc('\n', f);
		wrap(f, cmd->notes, 0, 0);
	}
	int any = 0;
	for (const cli_opt_t *o = cmd->opts; o && o->name; o++)
		any |= !(o->flags & CLI_HIDDEN);
	if (any) {
		fputs("\nOptions:\n", f);
		help_opts(f, cmd->opts, 0);
	}
	/* The program's own options work after a command too. */
	char names[512];
	size_t m = 0;
	for (const cli_opt_t *o = c->opts; o && o->name; o++)
		if (!(o->flags & CLI_HIDDEN))
			m = add(names, sizeof names, m, "%s--%s", m ? ", " : "", o->name);
	if (m)
		fprintf(f, "\nThe options of '%s --help' (%s) apply too.\n", c->prog, names);
	else
		fputc('\n', f);
	fprintf(f, "The manual page %s(%d) has the details.\n", c->prog, c->man_section);
}

/* ---- man page ---- */

/* Writes s escaped for roff text: backslash, hyphen-minus, line-start dots. */
static void roff_text(FILE *f, const char *s, size_t len, int line_start)
{
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (line_start && (ch == '.' || ch == '\''))
			fputs("\\&", f);
		line_start = 0;
		if (ch == '\\')
			fputs("\\e", f);
		else if (ch == '-')
			fputs("\\-", f);
		else if (ch == '\n') {
			fputc('\n', f);
			line_start = 1;
		} else
			fputc(ch, f);
	}
}

static void roff_str(FILE *f, const char *s)
{
	roff_text(f, s, strlen(s), 0);
}

/* One paragraph of the markup in cli.h. */
static void roff_para(FILE *f, const char *p, size_t len)
{
	if (len >= 2 && p[0] == ' ' && p[1] == ' ') {
		fputs(".PP\n.RS 4\n.EX\n", f);
		const char *end = p + len;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
			size_t skip = l >= 2 ? 2 : l;
			roff_text(f, p + skip, l - skip, 1);
			fputc('\n', f);
			p += l + (nl ? 1 : 0);
		}
		fputs(".EE\n.RE\n", f);
		return;
	}
	const char *end = p + len;
	int in_list = 0;
	fputs(".PP\n", f);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *tab = memchr(p, '\t', l);
		if (l >= 2 && p[0] == '-' && p[1] == ' ') {
			fputs(".IP \\(bu 2\n", f);
			roff_text(f, p + 2, l - 2, 1);
			in_list = 1;
		} else if (tab) {
			fputs(".TP\n", f);
			fputs("\\fB", f);
			roff_text(f, p, (size_t)(tab - p), 0);
			fputs("\\fR\n", f);
			const char *d = tab + 1;
			while (d < p + l && *d == ' ')
				d++;
			roff_text(f, d, (size_t)(p + l - d), 1);
			in_list = 1;
		} else {
			roff_text(f, p, l, 1);
		}
		fputc('\n', f);
		p += l + (nl ? 1 : 0);
	}
	(void)in_list;
}

static void roff_paras(FILE *f, const char *text)
{
	const char *p = text;
	while (*p) {
		while (*p == '\n')
			p++;
		if (!*p)
			break;
		const char *e = strstr(p, "\n\n");
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && p[len - 1] == '\n')
			len--;
		roff_para(f, p, len);
		p += len;
	}
}

static void man_opt(FILE *f, int short_name, const char *name, const char *arg)
{
	fputs(".TP\n", f);
	if (short_name)
		fprintf(f, "\\fB\\-%c\\fR, ", short_name);
	fputs("\\fB\\-\\-", f);
	roff_str(f, name);
	fputs("\\fR", f);
	if (arg) {
		fputs("=\\fI", f);
		roff_str(f, arg);
		fputs("\\fR", f);
	}
	fputc('\n', f);
}

/* The rows of opts not hidden, as tagged paragraphs. */
static void man_opts(FILE *f, const cli_opt_t *opts)
{
	for (const cli_opt_t *o = opts; o && o->name; o++) {
		if (o->flags & CLI_HIDDEN)
			continue;
		man_opt(f, o->short_name, o->name, o->arg);
		roff_text(f, o->help, strlen(o->help), 1);
		if (o->flags & CLI_REPEAT)
			fputs(" May be repeated.", f);
		if (o->dflt && *o->dflt) {
			fputs("\nDefault: \\fB", f);
			roff_str(f, o->dflt);
			fputs("\\fR.", f);
		} else if (o->dflt) {
			fputs("\nDefault: empty.", f);
		}
		fputc('\n', f);
	}
}

/* One subsection per command: synopsis, summary, notes, options. */
static void man_cmds(FILE *f, const cli_t *c)
{
	fputs(".SH COMMANDS\n", f);
	for (const cli_cmd_t *k = c->cmds; k->name; k++) {
		fputs(".SS \"", f);
		roff_str(f, k->name);
		/* The synopsis is a list of options: ragged, never hyphenated. */
		fputs("\"\n.PP\n.nh\n.ad l\n\\fB", f);
		roff_str(f, c->prog);
		fputc(' ', f);
		roff_str(f, k->name);
		fputs("\\fR", f);
		if (k->args && *k->args) {
			fputc(' ', f);
			roff_str(f, k->args);
		}
		fputs("\n.ad\n.hy\n.PP\n", f);
		roff_text(f, k->summary, strlen(k->summary), 1);
		fputs(".\n", f);
		if (k->notes)
			roff_paras(f, k->notes);
		man_opts(f, k->opts);
	}
}

void cli_man(const cli_t *c, FILE *f)
{
	char up[64];
	size_t i;
	for (i = 0; c->prog[i] && i + 1 < sizeof up; i++)
		up[i] = (char)toupper((unsigned char)c->prog[i]);
	up[i] = 0;
	fprintf(f, ".\\\" Generated by %s --help-man from the option table in its source.\n",
		c->prog);
	fprintf(f, ".TH \"%s\" \"%d\" \"\" \"KyedNS %s\" \"KyedNS Manual\"\n", up, c->man_section,
		KYEDNS_VERSION);
	fputs(".SH NAME\n", f);
	roff_str(f, c->prog);
	fputs(" \\- ", f);
	roff_str(f, c->summary);
	fputs("\n.SH SYNOPSIS\n.B ", f);
	roff_str(f, c->prog);
	fputc('\n', f);
	const char *syn = c->synopsis ? c->synopsis : "[OPTION]...";
	roff_text(f, syn, strlen(syn), 1);
	fputs("\n.SH DESCRIPTION\n", f);
	roff_paras(f, c->description ? c->description : c->summary);
	fputs(".SH OPTIONS\n", f);
	size_t n = count_opts(c);
	char buf[128];
	int any_env = 0;
	man_opts(f, c->opts);
	for (i = 0; i < n; i++)
		if (!(c->opts[i].flags & CLI_HIDDEN) && cli_env_name(&c->opts[i], buf, sizeof buf))
			any_env = 1;
	man_opt(f, 'h', "help", NULL);
	fputs("Show the options with their defaults and exit.\n", f);
	man_opt(f, 0, "version", NULL);
	fputs("Show the version and exit.\n", f);
	if (c->cmds)
		man_cmds(f, c);
	if (any_env) {
		fputs(".SH ENVIRONMENT\n.PP\nThese variables set the options of OPTIONS; "
		      "the command line wins.\nSwitches take 1, yes, true or on (0, no, false, off "
		      "turn them off).\n",
		      f);
		for (i = 0; i < n; i++) {
			const cli_opt_t *o = &c->opts[i];
			const char *env = cli_env_name(o, buf, sizeof buf);
			if (!env || (o->flags & CLI_HIDDEN))
				continue;
			fputs(".TP\n.B ", f);
			roff_str(f, env);
			fputs("\n\\fB\\-\\-", f);
			roff_str(f, o->name);
			fputs("\\fR", f);
			if (o->flags & CLI_REPEAT)
				fputs(" (comma-separated values)", f);
			fputc('\n', f);
		}
	}
	for (const cli_section_t *s = c->sections; s && s->title; s++) {
		fputs(".SH ", f);
		roff_str(f, s->title);
		fputc('\n', f);
		roff_paras(f, s->text);
	}
}
