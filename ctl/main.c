/*
 * kyednsctl - the admin CLI of KyedNS.
 *
 * main.c only turns the command line into a ctl_t and a ctl_args_t, checks
 * that the command exists and got the options and words it takes, and calls
 * the command.  The table commands[] is the one source of the command line:
 * it drives the parsing, `kyednsctl --help`, `kyednsctl COMMAND --help`
 * (also `kyednsctl help COMMAND`) and the COMMANDS section of the man page
 * (--help-man), through common/cli.
 *
 * Two passes: the program's options (--db, --json; env KYEDNS_DB,
 * KYEDNS_JSON) come before the command and end at its first word; then the
 * command's own options, and the program's again, may appear anywhere among
 * the command's words ("--opt value" or "--opt=value"); "--" ends them, so
 * content starting with '-' can be given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctl.h"
#include "err.h"
#include "token.h"

/* ---- options ---- */

enum { G_DB, G_JSON, G_COUNT };

static const cli_opt_t global_opts[] = {
	[G_DB] = {"db", 0, "DIR", NULL, CTL_DEFAULT_DB,
		  "Store directory. Only zone add and autoprimary add create a store; every "
		  "other command fails on a directory without one.",
		  0},
	[G_JSON] = {"json", 0, NULL, NULL, NULL,
		    "Machine-readable output on stdout: one JSON document per command.", 0},
	[G_COUNT] = {0},
};

/* Command options read no environment: a stray KYEDNS_TTL or KYEDNS_TOKEN
 * must not change what a command writes. */
#define OPT(name, arg, dflt, help) {name, 0, arg, NULL, dflt, help, CLI_NO_ENV}
#define OPT_LIST(name, arg, help) {name, 0, arg, NULL, NULL, help, CLI_NO_ENV | CLI_REPEAT}

#define O_HOSTMASTER                                                                         \
	OPT("hostmaster", "EMAIL", NULL,                                                     \
	    "Mailbox of the person responsible for the zone, the SOA RNAME: "                \
	    "user@example.com becomes user.example.com. (a '.' in the user part is escaped)")
#define O_RNAME OPT("rname", "NAME", NULL, "The SOA RNAME as a domain name, instead of --hostmaster.")
#define O_KIND                                                                               \
	OPT("kind", "KIND", NULL,                                                            \
	    "native (pdns replicates nothing), master (pdns sends NOTIFY and serves AXFR) "   \
	    "or slave (pdns transfers the zone from --master); primary and secondary are "   \
	    "accepted too.")
#define O_MASTER                                                                             \
	OPT_LIST("master", "IP[:PORT]",                                                      \
		 "Primary of a slave zone: an IPv4 address, IPv4:PORT, an IPv6 address or "  \
		 "[IPv6]:PORT (port 53 if none).")
#define O_ACCOUNT OPT("account", "TEXT", NULL, "pdns account of the zone, up to 255 bytes.")
#define O_ZONE                                                                               \
	OPT("zone", "ZONE", NULL,                                                            \
	    "The zone the record belongs to; default: the closest enclosing zone of NAME "   \
	    "(for a DS at a zone apex: the parent zone). The delegation NS and glue of a "   \
	    "child zone need --zone PARENT.")

static const cli_opt_t zone_add_opts[] = {
	OPT_LIST("ns", "NAME",
		 "Name server of the zone: an NS record at its apex; the first one is also "
		 "the SOA MNAME. At least one, except for a slave zone."),
	O_HOSTMASTER,
	O_RNAME,
	OPT("ttl", "N", "3600", "TTL of the SOA and NS records, and the default TTL of the "
				"zone's other records."),
	O_KIND,
	O_MASTER,
	O_ACCOUNT,
	{0},
};

static const cli_opt_t zone_soa_opts[] = {
	OPT("serial", "N", NULL,
	    "New serial; it must be ahead of the current one (RFC 1982), since the store "
	    "never moves a serial back."),
	OPT("mname", "NAME", NULL, "Primary name server of the SOA."),
	O_HOSTMASTER,
	O_RNAME,
	OPT("refresh", "N", NULL, "SOA refresh, seconds (new zones: 10800)."),
	OPT("retry", "N", NULL, "SOA retry, seconds (new zones: 3600)."),
	OPT("expire", "N", NULL, "SOA expire, seconds (new zones: 604800)."),
	OPT("minimum", "N", NULL, "SOA minimum, the negative-caching TTL (new zones: 60)."),
	OPT("ttl", "N", NULL, "TTL of the SOA record."),
	{0},
};

static const cli_opt_t zone_ns_opts[] = {
	OPT("ttl", "N", NULL, "TTL of the NS set; default: the TTL it has."),
	{0},
};

static const cli_opt_t zone_set_opts[] = {O_KIND, O_MASTER, O_ACCOUNT, {0}};

static const cli_opt_t zone_import_opts[] = {
	OPT("config-dir", "DIR", NULL,
	    "pdns configuration directory that launches kyedns-backend, handed to pdnsutil; "
	    "default: pdnsutil's own."),
	{0},
};

static const cli_opt_t host_add_opts[] = {
	OPT("token", "TOKEN", NULL,
	    "The host's token instead of a generated one: at least 20 characters of "
	    "A-Z a-z 0-9 - _ . ~ that look random (about 96 bits). Prefer the generated one."),
	OPT("ttl", "N", "60", "TTL of the host's A and AAAA records."),
	OPT("ipv4", "ADDR", NULL, "First IPv4 address of the host."),
	OPT("ipv6", "ADDR", NULL, "First IPv6 address of the host."),
	{0},
};

static const cli_opt_t host_import_opts[] = {
	OPT("ttl", "N", "60", "TTL of the imported hosts' A and AAAA records."),
	{0},
};

static const cli_opt_t host_history_opts[] = {
	OPT("limit", "N", NULL, "Show at most N entries, the newest; default: all kept."),
	{0},
};

static const cli_opt_t host_set_opts[] = {
	OPT("offline", NULL, NULL,
	    "Take the host's addresses out of DNS and keep them stored (as the client's "
	    "offline=YES does); updates go on being stored."),
	OPT("online", NULL, NULL, "Serve the host's stored addresses again (offline=NO)."),
	OPT("wildcard", "on|off", NULL, "on: *.FQDN answers with the host's addresses too."),
	OPT("follow", "ROUTER", NULL,
	    "The host's AAAA becomes the IPv6 prefix that host ROUTER reports "
	    "(ip6lanprefix=, ipv6prefix=) plus the interface identifier of --iid, at "
	    "once when ROUTER has reported one. ROUTER's token authorises those updates."),
	OPT("iid", "IID", NULL,
	    "Interface identifier, the low 64 bits of the address: ::1234:5678:9abc:def0 "
	    "(or 1234:5678:9abc:def0). Alone it changes the identifier and keeps the "
	    "router."),
	OPT("no-follow", NULL, NULL,
	    "Stop following a router; the AAAA stays as it is until the next update."),
	{0},
};

static const cli_opt_t token_add_opts[] = {
	OPT("expires", "DURATION|DATE", NULL,
	    "The token stops working after DURATION (30d, 12h, 90m, 3600s, 2w) or at DATE "
	    "(2027-01-31 or 2027-01-31T12:00:00Z, UTC). Default: never."),
	OPT_LIST("cidr", "CIDR",
		 "Accept the token only from this source network (192.0.2.0/24, "
		 "2001:db8::/56, or one address). Default: from anywhere."),
	OPT("token", "TOKEN", NULL,
	    "The token instead of a generated one: at least 20 characters of "
	    "A-Z a-z 0-9 - _ . ~ that look random (about 96 bits). Prefer the generated one."),
	{0},
};

static const cli_opt_t record_add_opts[] = {
	OPT("ttl", "N", NULL,
	    "TTL of the RRset; default: the TTL the RRset has, else the zone's default TTL."),
	O_ZONE,
	{0},
};

static const cli_opt_t record_del_opts[] = {O_ZONE, {0}};

/* ---- commands ---- */

static const struct command {
	cli_cmd_t cli; /* name, synopsis, summary, notes, options: what cli shows */
	int (*fn)(ctl_t *, ctl_args_t *);
	int min_pos, max_pos; /* words after the command's name */
} commands[] = {
	{{"zone add",
	  "ZONE --ns NAME [--ns NAME]... [--hostmaster EMAIL|--rname NAME] [--ttl N] "
	  "[--kind native|master] [--account TEXT]",
	  "Add a zone with its SOA and NS records",
	  "Below a zone of the store it also adds the delegation (NS) to the parent. "
	  "'zone add ZONE --kind slave --master IP[:PORT] [--master IP[:PORT]]...' adds a "
	  "secondary zone: no --ns or SOA options, pdns transfers them from the primary. "
	  "pdns answers REFUSED for a new zone until its zone cache is refreshed; "
	  "'pdns_control rediscover' serves it at once.",
	  zone_add_opts},
	 cmd_zone_add, 1, 1},
	{{"zone list", "", "List the zones", NULL, NULL}, cmd_zone_list, 0, 0},
	{{"zone show", "ZONE",
	  "Show a zone: SOA fields, serials, id, NS, primaries, account, counts", NULL, NULL},
	 cmd_zone_show, 1, 1},
	{{"zone del", "ZONE", "Delete a zone with everything in it (zones below it stay)", NULL,
	  NULL},
	 cmd_zone_del, 1, 1},
	{{"zone soa",
	  "ZONE [--serial N] [--mname NAME] [--hostmaster EMAIL|--rname NAME] [--refresh N] "
	  "[--retry N] [--expire N] [--minimum N] [--ttl N]",
	  "Change fields of a zone's SOA", "Give at least one option.", zone_soa_opts},
	 cmd_zone_soa, 1, 1},
	{{"zone ns", "ZONE NAME [NAME]... [--ttl N]",
	  "Replace the NS set at a zone's apex, and its delegation in a parent zone of the "
	  "store",
	  NULL, zone_ns_opts},
	 cmd_zone_ns, 2, CTL_MAX_POS},
	{{"zone set", "ZONE [--kind KIND] [--master IP[:PORT]]... [--account TEXT]",
	  "Change the kind, primaries or account of a zone", "Give at least one option.",
	  zone_set_opts},
	 cmd_zone_set, 1, 1},
	{{"zone export", "ZONE",
	  "Print the zone as a zone file: NAME TTL IN TYPE CONTENT, absolute names, SOA first",
	  NULL, NULL},
	 cmd_zone_export, 1, 1},
	{{"zone import", "ZONE FILE [--config-dir DIR]",
	  "Load a zone file into an existing zone with pdns's own parser",
	  "Runs 'pdnsutil [--config-dir=DIR] load-zone ZONE FILE', which replaces the zone's "
	  "records through the running kyedns-backend in one transaction; dynamic hosts stay.",
	  zone_import_opts},
	 cmd_zone_import, 2, 2},
	{{"host add", "FQDN [--token TOKEN] [--ttl N] [--ipv4 ADDR] [--ipv6 ADDR]",
	  "Add a dynamic host and print its token, once",
	  "The store keeps only a hash of the token.", host_add_opts},
	 cmd_host_add, 1, 1},
	{{"host list", "[ZONE]", "List the hosts, or those of one zone", NULL, NULL},
	 cmd_host_list, 0, 1},
	{{"host show", "FQDN",
	  "Show a host: zone, addresses, last update, client, agent, options, followers",
	  "While the host is offline its stored addresses are shown, marked; with --json, "
	  "ipv4 and ipv6 are what DNS serves (null while offline) and stored_ipv4 and "
	  "stored_ipv6 what the host has.",
	  NULL},
	 cmd_host_show, 1, 1},
	{{"host del", "FQDN", "Delete a host and its addresses", NULL, NULL}, cmd_host_del, 1, 1},
	{{"host token", "FQDN", "Give a host a new default token and print it",
	  "Replaces the token named default (the one host add printed), also after 'token "
	  "revoke FQDN default'; the host's other named tokens stay.",
	  NULL},
	 cmd_host_token, 1, 1},
	{{"host set",
	  "FQDN [--offline|--online] [--wildcard on|off] [--follow ROUTER --iid IID] "
	  "[--no-follow]",
	  "Change a host's options: offline, wildcard, router prefix",
	  "Give at least one option. The operator's --offline and --online override the "
	  "client's last offline= until its next one. 'host show' and 'host list' show the "
	  "options.",
	  host_set_opts},
	 cmd_host_set, 1, 1},
	{{"host history", "FQDN [--limit N]",
	  "Show a host's last updates, newest first",
	  "Each entry: time (UTC), result, old and new IPv4 and IPv6 address, client "
	  "address, user agent. kyedns-updater writes them with each update; the store "
	  "keeps a bounded number per host.",
	  host_history_opts},
	 cmd_host_history, 1, 1},
	{{"host acme", "FQDN",
	  "List the live ACME DNS-01 values of a host (_acme-challenge.FQDN) and their expiry",
	  "Read-only: ACME clients set and clear the values through kyedns-updater, which "
	  "also removes them when they expire.",
	  NULL},
	 cmd_host_acme, 1, 1},
	{{"host import", "FILE [--ttl N]", "Add many hosts from a file",
	  "One host per line: FQDN [TOKEN|-] [IPV4|-] [IPV6|-]; '#' starts a comment. A "
	  "missing or '-' token is generated and printed before its host is stored. The whole "
	  "file is checked first; rerunning an interrupted import skips the hosts already in.",
	  host_import_opts},
	 cmd_host_import, 1, 1},
	{{"token add", "FQDN NAME [--expires DURATION|DATE] [--cidr CIDR]... [--token TOKEN]",
	  "Add a named token to a host and print it, once",
	  "A host has one or more named tokens; each authorises the host's updates, "
	  "optionally until it expires and only from the --cidr networks. The token 'host "
	  "add' prints (and 'host token' replaces) is named default. NAME: 1 to 32 "
	  "characters of a-z 0-9 - _. At most 16 named tokens per host. To rotate without "
	  "downtime: 'token add FQDN new', switch the clients to the new token, then "
	  "'token revoke FQDN default'.",
	  token_add_opts},
	 cmd_token_add, 2, 2},
	{{"token list", "FQDN",
	  "List a host's tokens: name, created, expiry, networks (never the token)", NULL,
	  NULL},
	 cmd_token_list, 1, 1},
	{{"token revoke", "FQDN NAME", "Delete one of a host's tokens",
	  "Clients using it get badauth at once. A host may be left without tokens: then "
	  "nothing can update it until 'token add' or 'host token'.",
	  NULL},
	 cmd_token_revoke, 2, 2},
	{{"record add", "NAME TYPE CONTENT... [--ttl N] [--zone ZONE]",
	  "Add a static record",
	  "Any type pdns 4.7 parses, or TYPEnnn with '\\# LENGTH HEX'. CONTENT may be several "
	  "words; put '--' before content that starts with '-'.",
	  record_add_opts},
	 cmd_record_add, 3, CTL_MAX_POS},
	{{"record del", "NAME TYPE [CONTENT...] [--zone ZONE]",
	  "Delete one record, or without CONTENT the whole RRset", NULL, record_del_opts},
	 cmd_record_del, 2, CTL_MAX_POS},
	{{"record list", "ZONE", "List the records of exactly that zone, SOA first", NULL, NULL},
	 cmd_record_list, 1, 1},
	{{"autoprimary add", "IP NAMESERVER [ACCOUNT]",
	  "Add a pdns autoprimary (autosecondary=yes)", NULL, NULL},
	 cmd_autoprimary_add, 2, 3},
	{{"autoprimary list", "", "List the autoprimaries", NULL, NULL}, cmd_autoprimary_list, 0,
	 0},
	{{"autoprimary del", "IP NAMESERVER", "Delete an autoprimary", NULL, NULL},
	 cmd_autoprimary_del, 2, 2},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static cli_cmd_t cli_cmds[NCOMMANDS + 1]; /* commands[].cli, for cli_t.cmds */

static const cli_section_t sections[] = {
	{"EXIT STATUS", "0\t success.\n"
			"1\t the command failed; one line on stderr says why: "
			"'kyednsctl: WHAT (REASON)'.\n"
			"2\t usage error: 'kyednsctl: MESSAGE' and a hint on stderr; nothing "
			"was done."},
	{"NOTES",
	 "Run kyednsctl as the store's owner, or as root: root opens a store directory that "
	 "belongs to another user with that user's ids, so every file it creates belongs to "
	 "the owner and the daemons are never locked out.\n\n"
	 "Records belong to a zone. Content is printed in pdns's backend form (names without "
	 "the trailing dot); input may have the dot or not."},
	{"SEE ALSO", "kyedns-backend(8), kyedns-updater(8), pdnsutil(1), pdns_control(1)"},
	{NULL, NULL},
};

static cli_t ctl_cli = {
	.prog = "kyednsctl",
	.man_section = 8,
	.summary = "admin tool of KyedNS: zones, hosts and records",
	.synopsis = "[OPTION]... COMMAND [ARG|OPTION]...",
	.description =
		"kyednsctl manages the LMDB store that kyedns-backend serves to PowerDNS and "
		"kyedns-updater updates: zones with their SOA, NS and static records, dynamic "
		"hosts with their tokens, and pdns autoprimaries. It works on the store "
		"directly, while the daemons run.\n\n"
		"The options below come before the command or among its words. Each command "
		"takes its own options, listed under COMMANDS; 'kyednsctl COMMAND --help' "
		"shows them too. Options take their value as --opt=value or --opt value; '--' "
		"ends the options.",
	.opts = global_opts,
	.sections = sections,
	.stop_at_operand = 1,
	.cmds = cli_cmds,
};

/* ---- parsing ---- */

/* Every distinct option of every command, plus the program's, at most. */
#define MAX_ROWS 64

/* The options a command's words are parsed with: its own (shown), those of
 * the other commands (hidden, so that one is refused by name: "does not
 * apply"), and the program's (hidden; their environment was read already). */
static size_t command_rows(const struct command *cmd, cli_opt_t *rows)
{
	size_t n = 0;
	for (const cli_opt_t *o = cmd->cli.opts; o && o->name; o++)
		rows[n++] = *o;
	for (size_t k = 0; k < NCOMMANDS; k++) {
		for (const cli_opt_t *o = commands[k].cli.opts; o && o->name; o++) {
			size_t i = 0;
			while (i < n && strcmp(rows[i].name, o->name) != 0)
				i++;
			if (i == n && n + G_COUNT + 1 < MAX_ROWS) {
				rows[n] = *o;
				rows[n++].flags |= CLI_HIDDEN;
			}
		}
	}
	for (size_t g = 0; g < G_COUNT; g++) {
		rows[n] = global_opts[g];
		rows[n].dflt = NULL;
		rows[n++].flags |= CLI_HIDDEN | CLI_NO_ENV;
	}
	memset(&rows[n], 0, sizeof rows[n]);
	return n;
}

static int own_option(const struct command *cmd, const char *name)
{
	for (const cli_opt_t *o = cmd->cli.opts; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return 1;
	return 0;
}

/* The command named by words[0] words[1]; prints the usage error if none. */
static const struct command *find_command(int nwords, char **words)
{
	int group_known = 0;
	for (size_t k = 0; k < NCOMMANDS; k++) {
		const char *name = commands[k].cli.name, *sp = strchr(name, ' ');
		if (strlen(words[0]) != (size_t)(sp - name) ||
		    strncmp(name, words[0], (size_t)(sp - name)) != 0)
			continue;
		group_known = 1;
		if (nwords > 1 && strcmp(sp + 1, words[1]) == 0)
			return &commands[k];
	}
	if (!group_known)
		ctl_usage("unknown command '%s'", ctl_q(words[0]));
	else if (nwords < 2)
		ctl_usage("%s needs a subcommand", ctl_q(words[0]));
	else
		ctl_usage("unknown command '%s %s'", ctl_q(words[0]), ctl_q(words[1]));
	return NULL;
}

/* 1 if the command's words ask for its help: -h or --help before "--",
 * not as the value of an option. */
static int wants_help(const cli_opt_t *rows, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return 0;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			return 1;
		if (strncmp(a, "--", 2) != 0 || strchr(a, '='))
			continue;
		for (const cli_opt_t *o = rows; o->name; o++)
			if (o->arg && strcmp(o->name, a + 2) == 0) {
				i++; /* its value */
				break;
			}
	}
	return 0;
}

/* A number option in 0..max into *out; prints the usage error. */
static int number(const cli_t *c, const cli_val_t *vals, int i, unsigned long max, uint32_t *out,
		  int *have)
{
	unsigned long v;
	if (cli_uint(c, vals, i, 0, max, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	*have = 1;
	return 0;
}

/* The values of a command's options into c and a; prints usage errors. */
static int take_values(const struct command *cmd, const cli_t *cc, const cli_opt_t *rows,
		       const cli_val_t *v, ctl_t *c, ctl_args_t *a)
{
	static const char *const timers[4] = {"refresh", "retry", "expire", "minimum"};
	for (int i = 0; rows[i].name; i++) {
		const char *name = rows[i].name, *s = v[i].s;
		if (v[i].from != CLI_FROM_ARG)
			continue;
		if (strcmp(name, "db") == 0) {
			c->db = s;
			continue;
		}
		if (strcmp(name, "json") == 0) {
			c->json = 1;
			continue;
		}
		if (!own_option(cmd, name))
			return ctl_usage("option --%s does not apply to %s", name, cmd->cli.name);
		if (strcmp(name, "ns") == 0 || strcmp(name, "master") == 0) {
			const char **list = name[0] == 'n' ? a->ns : a->masters;
			int *n = name[0] == 'n' ? &a->nns : &a->nmasters;
			if (v[i].n > CTL_MAX_NS)
				return ctl_usage("too many --%s, at most %d", name, CTL_MAX_NS);
			for (size_t k = 0; k < v[i].n; k++)
				list[k] = v[i].list[k];
			*n = (int)v[i].n;
		} else if (strcmp(name, "ttl") == 0) {
			if (number(cc, v, i, CTL_MAX_TTL, &a->ttl, &a->have_ttl) < 0)
				return CTL_EXIT_USAGE;
		} else if (strcmp(name, "serial") == 0) {
			if (number(cc, v, i, 4294967295ul, &a->serial, &a->have_serial) < 0)
				return CTL_EXIT_USAGE;
		} else if (strcmp(name, "hostmaster") == 0) {
			a->hostmaster = s;
		} else if (strcmp(name, "rname") == 0) {
			a->rname = s;
		} else if (strcmp(name, "mname") == 0) {
			a->mname = s;
		} else if (strcmp(name, "kind") == 0) {
			a->kind = s;
		} else if (strcmp(name, "token") == 0) {
			a->token = s;
		} else if (strcmp(name, "ipv4") == 0) {
			a->ipv4 = s;
		} else if (strcmp(name, "ipv6") == 0) {
			a->ipv6 = s;
		} else if (strcmp(name, "zone") == 0) {
			a->zone = s;
		} else if (strcmp(name, "account") == 0) {
			a->account = s;
		} else if (strcmp(name, "config-dir") == 0) {
			a->config_dir = s;
		} else if (strcmp(name, "limit") == 0) {
			if (number(cc, v, i, 4294967295ul, &a->limit, &a->have_limit) < 0)
				return CTL_EXIT_USAGE;
		} else if (strcmp(name, "expires") == 0) {
			a->expires = s;
		} else if (strcmp(name, "cidr") == 0) {
			if (v[i].n > CTL_MAX_CIDRS)
				return ctl_usage("too many --cidr, at most %d", CTL_MAX_CIDRS);
			for (size_t k = 0; k < v[i].n; k++)
				a->cidrs[k] = v[i].list[k];
			a->ncidrs = (int)v[i].n;
		} else if (strcmp(name, "offline") == 0) {
			a->offline = 1;
		} else if (strcmp(name, "online") == 0) {
			a->online = 1;
		} else if (strcmp(name, "wildcard") == 0) {
			a->wildcard = s;
		} else if (strcmp(name, "follow") == 0) {
			a->follow = s;
		} else if (strcmp(name, "iid") == 0) {
			a->iid = s;
		} else if (strcmp(name, "no-follow") == 0) {
			a->no_follow = 1;
		} else {
			int k = 0;
			while (k < 4 && strcmp(name, timers[k]) != 0)
				k++;
			if (k == 4)
				return ctl_usage("option --%s is not handled", name); /* a table bug */
			if (number(cc, v, i, 4294967295ul, &a->timer[k], &a->have_timer[k]) < 0)
				return CTL_EXIT_USAGE;
		}
	}
	if (a->hostmaster && a->rname)
		return ctl_usage("give --hostmaster or --rname, not both");
	if (a->offline && a->online)
		return ctl_usage("give --offline or --online, not both");
	if (a->follow && a->no_follow)
		return ctl_usage("give --follow or --no-follow, not both");
	if (a->iid && a->no_follow)
		return ctl_usage("--iid does not go with --no-follow");
	return 0;
}

/* `kyednsctl help [COMMAND]`. */
static int help(int nwords, char **words)
{
	if (nwords == 1) {
		cli_help(&ctl_cli, stdout);
		return 0;
	}
	const struct command *cmd = find_command(nwords - 1, words + 1);
	if (!cmd)
		return CTL_EXIT_USAGE;
	if (nwords > 3)
		return ctl_usage("help takes a command, like: help zone add");
	cli_cmd_help(&ctl_cli, &cmd->cli, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static cli_opt_t rows[MAX_ROWS];
	static cli_val_t gv[G_COUNT], v[MAX_ROWS];
	static char hint[128], synopsis[512];
	ctl_t c = {0};
	ctl_args_t a = {0};
	int first, ops, rc;

	for (size_t k = 0; k < NCOMMANDS; k++)
		cli_cmds[k] = commands[k].cli;
	rc = cli_parse(&ctl_cli, argc, argv, gv, &first);
	if (rc != 0)
		return rc > 0 ? 0 : CLI_EXIT_USAGE;
	c.db = gv[G_DB].s;
	c.json = gv[G_JSON].s != NULL;

	char **words = argv + first;
	int nwords = argc - first;
	if (nwords == 0)
		return ctl_usage("missing command");
	if (strcmp(words[0], "help") == 0)
		return help(nwords, words);
	const struct command *cmd = find_command(nwords, words);
	if (!cmd)
		return CTL_EXIT_USAGE;

	/* The command's words: words[1] (its verb) stands in for argv[0]. */
	snprintf(hint, sizeof hint, "kyednsctl %s --help", cmd->cli.name);
	ctl_set_hint(hint);
	command_rows(cmd, rows);
	if (wants_help(rows, nwords - 1, words + 1)) {
		cli_cmd_help(&ctl_cli, &cmd->cli, stdout);
		return 0;
	}
	cli_t cc = ctl_cli;
	snprintf(synopsis, sizeof synopsis, "%s %s", cmd->cli.name, cmd->cli.args);
	cc.synopsis = synopsis;
	cc.summary = cmd->cli.summary;
	cc.opts = rows;
	cc.stop_at_operand = 0;
	cc.cmds = NULL;
	cc.hint = hint;
	rc = cli_parse(&cc, nwords - 1, words + 1, v, &ops);
	if (rc != 0)
		return rc > 0 ? 0 : CLI_EXIT_USAGE;
	rc = take_values(cmd, &cc, rows, v, &c, &a);
	if (rc == 0) {
		a.npos = nwords - 1 - ops;
		for (int k = 0; k < a.npos && k < CTL_MAX_POS; k++)
			a.pos[k] = words[1 + ops + k];
		if (a.npos < cmd->min_pos)
			rc = ctl_usage("%s needs %s%d argument%s, got %d", cmd->cli.name,
				       cmd->min_pos < cmd->max_pos ? "at least " : "", cmd->min_pos,
				       cmd->min_pos == 1 ? "" : "s", a.npos);
		else if (a.npos > cmd->max_pos)
			rc = ctl_usage("%s: unexpected argument '%s'", cmd->cli.name,
				       ctl_q(words[1 + ops + cmd->max_pos]));
		else if (c.db && !*c.db)
			rc = ctl_usage("--db needs a directory");
	}
	if (rc != 0) {
		cli_free(&cc, v);
		return rc;
	}
	if ((rc = token_init()) < 0) {
		cli_free(&cc, v);
		return ctl_fail(rc, "cannot initialise libsodium");
	}

	rc = cmd->fn(&c, &a);
	if (fflush(stdout) != 0 && rc == 0)
		rc = ctl_fail(-EIO, "cannot write output");
	store_close(c.store);
	cli_free(&cc, v);
	return rc;
}
