/*
 * kyednsctl - the admin CLI of KyedNS.
 *
 * main.c only turns the command line into a ctl_t and a ctl_args_t, checks
 * that the command exists and got the options and words it takes, and calls
 * the command.  Options may appear anywhere (before or after the command
 * words); "--" ends them, so content starting with '-' can be given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "err.h"
#include "token.h"

#ifndef KYEDNS_VERSION
#define KYEDNS_VERSION "0.1.0"
#endif

enum {
	O_NS = 1 << 0,
	O_HOSTMASTER = 1 << 1,
	O_TTL = 1 << 2,
	O_KIND = 1 << 3,
	O_TOKEN = 1 << 4,
	O_IPV4 = 1 << 5,
	O_IPV6 = 1 << 6,
	O_ZONE = 1 << 7,
	O_SERIAL = 1 << 8,
	O_MNAME = 1 << 9,
	O_RNAME = 1 << 10,
	O_TIMERS = 1 << 11, /* --refresh --retry --expire --minimum */
	O_MASTER = 1 << 12,
	O_ACCOUNT = 1 << 13,
	O_CONFIG_DIR = 1 << 14,
};

enum opt_id { OPT_DB, OPT_JSON, OPT_HELP, OPT_VERSION, OPT_NS, OPT_HOSTMASTER, OPT_TTL,
	      OPT_KIND, OPT_TOKEN, OPT_IPV4, OPT_IPV6, OPT_ZONE, OPT_SERIAL, OPT_MNAME,
	      OPT_RNAME, OPT_REFRESH, OPT_RETRY, OPT_EXPIRE, OPT_MINIMUM, OPT_MASTER,
	      OPT_ACCOUNT, OPT_CONFIG_DIR };

static const struct option_def {
	const char *name;
	enum opt_id id;
	unsigned bit; /* command option bit; 0: global option */
	int has_value;
} options[] = {
	{"db", OPT_DB, 0, 1},
	{"json", OPT_JSON, 0, 0},
	{"help", OPT_HELP, 0, 0},
	{"version", OPT_VERSION, 0, 0},
	{"ns", OPT_NS, O_NS, 1},
	{"hostmaster", OPT_HOSTMASTER, O_HOSTMASTER, 1},
	{"ttl", OPT_TTL, O_TTL, 1},
	{"kind", OPT_KIND, O_KIND, 1},
	{"token", OPT_TOKEN, O_TOKEN, 1},
	{"ipv4", OPT_IPV4, O_IPV4, 1},
	{"ipv6", OPT_IPV6, O_IPV6, 1},
	{"zone", OPT_ZONE, O_ZONE, 1},
	{"serial", OPT_SERIAL, O_SERIAL, 1},
	{"mname", OPT_MNAME, O_MNAME, 1},
	{"rname", OPT_RNAME, O_RNAME, 1},
	{"refresh", OPT_REFRESH, O_TIMERS, 1},
	{"retry", OPT_RETRY, O_TIMERS, 1},
	{"expire", OPT_EXPIRE, O_TIMERS, 1},
	{"minimum", OPT_MINIMUM, O_TIMERS, 1},
	{"master", OPT_MASTER, O_MASTER, 1},
	{"account", OPT_ACCOUNT, O_ACCOUNT, 1},
	{"config-dir", OPT_CONFIG_DIR, O_CONFIG_DIR, 1},
};

static const struct command {
	const char *group, *verb;
	int (*fn)(ctl_t *, ctl_args_t *);
	int min_pos, max_pos;
	unsigned opts;
	const char *usage;
} commands[] = {
	{"zone", "add", cmd_zone_add, 1, 1,
	 O_NS | O_HOSTMASTER | O_RNAME | O_TTL | O_KIND | O_MASTER | O_ACCOUNT,
	 "zone add ZONE --ns NAME [--ns NAME] [--hostmaster EMAIL|--rname NAME] [--ttl N] "
	 "[--kind native|master|slave] [--master IP[:PORT]] [--account TEXT]"},
	{"zone", "list", cmd_zone_list, 0, 0, 0, "zone list"},
	{"zone", "show", cmd_zone_show, 1, 1, 0, "zone show ZONE"},
	{"zone", "del", cmd_zone_del, 1, 1, 0, "zone del ZONE"},
	{"zone", "soa", cmd_zone_soa, 1, 1,
	 O_SERIAL | O_MNAME | O_HOSTMASTER | O_RNAME | O_TIMERS | O_TTL,
	 "zone soa ZONE [--serial N] [--mname NAME] [--hostmaster EMAIL|--rname NAME] "
	 "[--refresh N] [--retry N] [--expire N] [--minimum N] [--ttl N]"},
	{"zone", "ns", cmd_zone_ns, 2, CTL_MAX_POS, O_TTL, "zone ns ZONE NAME [NAME...] [--ttl N]"},
	{"zone", "set", cmd_zone_set, 1, 1, O_KIND | O_MASTER | O_ACCOUNT,
	 "zone set ZONE [--kind native|master|slave] [--master IP[:PORT] ...] [--account TEXT]"},
	{"zone", "export", cmd_zone_export, 1, 1, 0, "zone export ZONE"},
	{"zone", "import", cmd_zone_import, 2, 2, O_CONFIG_DIR,
	 "zone import ZONE FILE [--config-dir PDNS_CONFIG_DIR]"},
	{"host", "add", cmd_host_add, 1, 1, O_TOKEN | O_TTL | O_IPV4 | O_IPV6,
	 "host add FQDN [--token TOKEN] [--ttl N] [--ipv4 ADDR] [--ipv6 ADDR]"},
	{"host", "list", cmd_host_list, 0, 1, 0, "host list [ZONE]"},
	{"host", "show", cmd_host_show, 1, 1, 0, "host show FQDN"},
	{"host", "del", cmd_host_del, 1, 1, 0, "host del FQDN"},
	{"host", "token", cmd_host_token, 1, 1, 0, "host token FQDN"},
	{"host", "import", cmd_host_import, 1, 1, O_TTL, "host import FILE [--ttl N]"},
	{"record", "add", cmd_record_add, 3, CTL_MAX_POS, O_TTL | O_ZONE,
	 "record add NAME TYPE CONTENT [--ttl N] [--zone ZONE]"},
	{"record", "del", cmd_record_del, 2, CTL_MAX_POS, O_ZONE,
	 "record del NAME TYPE [CONTENT] [--zone ZONE]"},
	{"record", "list", cmd_record_list, 1, 1, 0, "record list ZONE"},
	{"autoprimary", "add", cmd_autoprimary_add, 2, 3, 0,
	 "autoprimary add IP NAMESERVER [ACCOUNT]"},
	{"autoprimary", "list", cmd_autoprimary_list, 0, 0, 0, "autoprimary list"},
	{"autoprimary", "del", cmd_autoprimary_del, 2, 2, 0, "autoprimary del IP NAMESERVER"},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: kyednsctl [--db DIR] [--json] COMMAND ...\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "\noptions:\n"
		   "  --db DIR     store directory (default $KYEDNS_DB, then %s)\n"
		   "  --json       machine-readable output on stdout\n"
		   "  --help       this text\n"
		   "  --version    print the version\n"
		   "\nzone add ZONE --kind slave --master IP[:PORT] [--master ...]: a secondary\n"
		   "zone (no --ns or SOA options: pdns transfers them from the primary).\n"
		   "A new zone is served at once after: pdns_control rediscover.\n"
		   "zone import runs: pdnsutil [--config-dir DIR] load-zone ZONE FILE.\n"
		   "record add/del: the zone is --zone, else the closest enclosing zone\n"
		   "(a DS at a zone apex: the parent zone); CONTENT may be several words.\n"
		   "host import reads one host per line: FQDN [TOKEN|-] [IPV4] [IPV6];\n"
		   "'#' starts a comment; a missing or '-' token is generated and printed\n"
		   "before its host is stored; rerunning an interrupted import skips the\n"
		   "hosts already in.  Tokens given by hand must look random.\n"
		   "Errors are one line on stderr; exit status 1, or 2 for usage errors.\n",
		CTL_DEFAULT_DB);
}

static int parse_u32(const char *s, uint32_t *out, unsigned long long max)
{
	unsigned long long v = 0;
	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || p - s > 10)
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_ttl(const char *s, uint32_t *out)
{
	return parse_u32(s, out, CTL_MAX_TTL);
}

int main(int argc, char **argv)
{
	ctl_t c = {0};
	ctl_args_t a = {0};
	const char *words[CTL_MAX_POS + 2];
	int nwords = 0, dashdash = 0, help = 0, version = 0, rc;
	unsigned given = 0;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (dashdash || arg[0] != '-' || arg[1] == '\0') {
			if (nwords == CTL_MAX_POS + 2)
				return ctl_usage("too many arguments");
			words[nwords++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (strcmp(arg, "-h") == 0) {
			help = 1;
			continue;
		}
		if (arg[1] != '-')
			return ctl_usage("unknown option -%c", arg[1]);
		const char *name = arg + 2, *eq = strchr(name, '='), *value = NULL;
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const struct option_def *o = NULL;
		for (size_t k = 0; k < NOPTIONS; k++)
			if (strlen(options[k].name) == nlen && memcmp(options[k].name, name, nlen) == 0)
				o = &options[k];
		if (!o) { /* the name only: a value may be a mistyped --token */
			char opt[64];
			snprintf(opt, sizeof opt, "%.*s", (int)(nlen < 60 ? nlen : 60), name);
			return ctl_usage("unknown option --%s", ctl_q(opt));
		}
		if (o->has_value) {
			if (eq)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return ctl_usage("option --%s needs a value", o->name);
		} else if (eq) {
			return ctl_usage("option --%s takes no value", o->name);
		}
		given |= o->bit;
		switch (o->id) {
		case OPT_DB: c.db = value; break;
		case OPT_JSON: c.json = 1; break;
		case OPT_HELP: help = 1; break;
		case OPT_VERSION: version = 1; break;
		case OPT_NS:
			if (a.nns == CTL_MAX_NS)
				return ctl_usage("too many --ns, at most %d", CTL_MAX_NS);
			a.ns[a.nns++] = value;
			break;
		case OPT_HOSTMASTER: a.hostmaster = value; break;
		case OPT_TTL:
			if (parse_ttl(value, &a.ttl) < 0)
				return ctl_usage("bad --ttl %s, want 0..%u", ctl_q(value), CTL_MAX_TTL);
			a.have_ttl = 1;
			break;
		case OPT_KIND: a.kind = value; break;
		case OPT_TOKEN: a.token = value; break;
		case OPT_IPV4: a.ipv4 = value; break;
		case OPT_IPV6: a.ipv6 = value; break;
		case OPT_ZONE: a.zone = value; break;
		case OPT_SERIAL:
			if (parse_u32(value, &a.serial, 4294967295ull) < 0)
				return ctl_usage("bad --serial %s, want 0..4294967295",
						 ctl_q(value));
			a.have_serial = 1;
			break;
		case OPT_MNAME: a.mname = value; break;
		case OPT_RNAME: a.rname = value; break;
		case OPT_REFRESH:
		case OPT_RETRY:
		case OPT_EXPIRE:
		case OPT_MINIMUM: {
			int k = (int)(o->id - OPT_REFRESH);
			if (parse_u32(value, &a.timer[k], 4294967295ull) < 0)
				return ctl_usage("bad --%s %s, want 0..4294967295", o->name,
						 ctl_q(value));
			a.have_timer[k] = 1;
			break;
		}
		case OPT_MASTER:
			if (a.nmasters == CTL_MAX_NS)
				return ctl_usage("too many --master, at most %d", CTL_MAX_NS);
			a.masters[a.nmasters++] = value;
			break;
		case OPT_ACCOUNT: a.account = value; break;
		case OPT_CONFIG_DIR: a.config_dir = value; break;
		}
	}
	if (a.hostmaster && a.rname)
		return ctl_usage("give --hostmaster or --rname, not both");
	if (help) {
		usage(stdout);
		return 0;
	}
	if (version) {
		printf("kyednsctl %s\n", KYEDNS_VERSION);
		return 0;
	}
	if (nwords == 0)
		return ctl_usage("missing command; try kyednsctl --help");

	const struct command *cmd = NULL;
	int group_known = 0;
	for (size_t k = 0; k < NCOMMANDS; k++) {
		if (strcmp(commands[k].group, words[0]) != 0)
			continue;
		group_known = 1;
		if (nwords > 1 && strcmp(commands[k].verb, words[1]) == 0)
			cmd = &commands[k];
	}
	if (!group_known)
		return ctl_usage("unknown command %s; try kyednsctl --help", ctl_q(words[0]));
	if (!cmd) {
		if (nwords < 2)
			return ctl_usage("%s needs a subcommand; try kyednsctl --help", words[0]);
		return ctl_usage("unknown command %s %s; try kyednsctl --help", words[0],
				 ctl_q(words[1]));
	}
	a.npos = nwords - 2;
	for (int k = 0; k < a.npos; k++)
		a.pos[k] = words[k + 2];
	if (a.npos < cmd->min_pos || a.npos > cmd->max_pos)
		return ctl_usage("usage: kyednsctl %s", cmd->usage);
	if (given & ~cmd->opts) {
		for (size_t k = 0; k < NOPTIONS; k++)
			if (options[k].bit & given & ~cmd->opts)
				return ctl_usage("option --%s does not apply to %s %s", options[k].name,
						 cmd->group, cmd->verb);
	}

	if (c.db && !*c.db)
		return ctl_usage("--db needs a directory");
	if (!c.db) {
		const char *env = getenv("KYEDNS_DB");
		c.db = env && *env ? env : CTL_DEFAULT_DB;
	}
	if ((rc = token_init()) < 0)
		return ctl_fail(rc, "cannot initialise libsodium");

	rc = cmd->fn(&c, &a);
	if (fflush(stdout) != 0 && rc == 0)
		rc = ctl_fail(-EIO, "cannot write output");
	store_close(c.store);
	return rc;
}
