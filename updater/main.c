/*
 * kyedns-updater - the dyndns2 HTTP daemon of KyedNS.
 *
 * Thin on purpose: reads the option table (common/cli.h: flags, else
 * KYEDNS_* environment variables, else defaults), sets up the log, opens
 * the store and hands over to server_run().
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "cli.h"
#include "err.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "token.h"

enum {
	O_DB,
	O_LISTEN,
	O_TRUSTED,
	O_API,
	O_API_KEY,
	O_API_CA,
	O_API_DNS,
	O_MAX_CONNS,
	O_IDLE,
	O_HEADER,
	O_RATE,
	O_BURST,
	O_PER_CLIENT,
	O_CHANGE_RATE,
	O_CHANGE_BURST,
	O_FAIL_LIMIT,
	O_LOOPBACK,
	O_HISTORY,
	O_ACME_LIFETIME,
	O_ACME_TTL,
	O_ACME_GC,
	O_CORE,
	O_NO_ACCESS,
	O_LEVEL,
	O_LOG_FILE,
	O_COUNT
};

static const cli_opt_t opts[] = {
	[O_DB] = {"db", 0, "DIR", NULL, "/var/lib/kyedns",
		  "The LMDB store shared with kyedns-backend and kyednsctl.", 0},
	[O_LISTEN] = {"listen", 0, "ADDR:PORT", NULL, "127.0.0.1:8053",
		      "Address to serve HTTP on; IPv6 as [ADDR]:PORT, an empty ADDR is 0.0.0.0. "
		      "At most 16; the environment variable takes a comma-separated list.",
		      CLI_REPEAT},
	[O_TRUSTED] = {"trusted-proxy", 0, "CIDR", NULL, NULL,
		       "Reverse proxy (address or network) whose X-Forwarded-For and X-Real-IP "
		       "name the client. At most 32; the environment variable takes a "
		       "comma-separated list.",
		       CLI_REPEAT},
	[O_API] = {"pdns-api", 0, "URL", NULL, NULL,
		   "Base URL of the pdns HTTP API (http:// or https://, with an optional path "
		   "prefix for a reverse proxy); updated names are purged from pdns's caches "
		   "through it. Unset: no purges.",
		   0},
	[O_API_KEY] = {"pdns-api-key", 0, "KEY", NULL, NULL,
		       "The pdns api-key (sent as X-API-Key). Required with --pdns-api; prefer the "
		       "environment variable, which other users cannot read in ps.",
		       0},
	[O_API_CA] = {"pdns-api-ca", 0, "FILE", NULL, NULL,
		      "CA certificates (PEM) that the https pdns API's certificate must chain to. "
		      "Unset: the system's CA store. The certificate is always verified.",
		      0},
	[O_API_DNS] = {"pdns-api-dns-cache", 0, "SEC", NULL, "30",
		       "How long the pdns API host's resolved addresses are reused; after that "
		       "the name is resolved again (a recreated pdns container is found).",
		       0},
	[O_MAX_CONNS] = {"max-conns", 0, "N", NULL, "16384",
			 "Client connections open at once (lowered to fit the open file limit).",
			 0},
	[O_IDLE] = {"idle-timeout", 0, "SEC", NULL, "60",
		    "Close a keep-alive connection idle for this long.", 0},
	[O_HEADER] = {"header-timeout", 0, "SEC", NULL, "10",
		      "Time from the accept, or a request's first byte, to the request's end.", 0},
	[O_RATE] = {"rate-limit", 0, "PER_SEC", NULL, "20",
		    "Requests per second per client address (IPv6: per /64); 0 turns the limit "
		    "off.",
		    0},
	[O_BURST] = {"rate-burst", 0, "N", NULL, "200", "Burst allowed above --rate-limit.", 0},
	[O_PER_CLIENT] = {"max-conns-per-client", 0, "N", NULL, "64",
			  "Open connections per client address (IPv6: per /64), trusted proxies "
			  "exempt; 0 turns the limit off.",
			  0},
	[O_CHANGE_RATE] = {"host-change-rate", 0, "PER_MIN", NULL, "2",
			   "Address changes per minute per host; 0 turns the throttle off.", 0},
	[O_CHANGE_BURST] = {"host-change-burst", 0, "N", NULL, "10",
			    "Burst allowed above --host-change-rate.", 0},
	[O_FAIL_LIMIT] = {"host-fail-limit", 0, "N", NULL, "100",
			  "Failed authentications per host name and 5 minutes, all clients "
			  "together, before further failures are answered abuse; 0 turns it off.",
			  0},
	[O_LOOPBACK] = {"allow-loopback", 0, NULL, NULL, NULL,
			"Allow publishing loopback addresses (127/8, ::1).", 0},
	[O_HISTORY] = {"history-size", 0, "N", NULL, "32",
		       "Changes kept per host in its history (kyednsctl host history), written in "
		       "the same transaction as the change; 0 keeps none, at most 64.",
		       0},
	[O_ACME_LIFETIME] = {"acme-lifetime", 0, "SEC", NULL, "3600",
			     "How long an ACME DNS-01 value lives when its client does not clean "
			     "it up (1 to 604800).",
			     0},
	[O_ACME_TTL] = {"acme-ttl", 0, "SEC", NULL, "60",
			"TTL of the _acme-challenge TXT records (0 to 3600).", 0},
	[O_ACME_GC] = {"acme-gc-interval", 0, "SEC", NULL, "60",
		       "How often expired ACME values are looked for and removed.", 0},
	[O_CORE] = {"core-dumps", 0, NULL, NULL, NULL,
		    "Allow core dumps (they would hold the pdns API key and tokens).", 0},
	[O_NO_ACCESS] = {"no-access-log", 0, NULL, NULL, NULL,
			 "Do not write the access log (one line per request). The older "
			 "KYEDNS_ACCESS_LOG=0 still works but is deprecated.",
			 0},
	[O_LEVEL] = {"log-level", 0, "LEVEL", NULL, "info",
		     "Least important messages written: error, warning, notice, info (access "
		     "lines) or debug.",
		     0},
	[O_LOG_FILE] = {"log-file", 0, "FILE", NULL, NULL,
			"Append the log to FILE instead of stderr; SIGHUP reopens it (after "
			"logrotate).",
			0},
	[O_COUNT] = {0},
};

static const cli_section_t sections[] = {
	{"SIGNALS", "SIGTERM, SIGINT\t stop accepting, let queued updates commit and be "
		    "answered, close all connections and exit 0.\n"
		    "SIGHUP\t reopen the --log-file."},
	{"LOGGING",
	 "One line per event with a priority: under systemd the journal's priority prefix, "
	 "else a UTC timestamp and the level word. Access lines (priority info) are logfmt "
	 "key=value pairs; tokens and passwords are never logged:\n"
	 "\n"
	 "  msg=access client=192.0.2.1 method=GET path=/nic/update\n"
	 "  query=\"hostname=h.example.org&myip=192.0.2.1&token=***\" status=200\n"
	 "  result=good addr=192.0.2.1 user=h.example.org bytes=15 duration_ms=0.412\n"
	 "  ua=ddclient/3.10.0"},
	{"SYSTEMD", "With Type=notify the updater reports READY=1 once its store is open and "
		    "every listener is bound, and STOPPING=1 when it begins to stop."},
	{"SEE ALSO", "kyedns-backend(8), kyednsctl(8), pdns_server(1)"},
	{NULL, NULL},
};

static const cli_t cli = {
	.prog = "kyedns-updater",
	.man_section = 8,
	.summary = "dyndns2 update server of KyedNS",
	.synopsis = "[OPTION]...",
	.description =
		"kyedns-updater answers dyndns2 update requests (routers, ddclient, inadyn, curl) "
		"over HTTP, commits each change durably to the LMDB store that kyedns-backend "
		"serves to PowerDNS, and asks the pdns HTTP API to purge updated names from its "
		"caches.\n"
		"\n"
		"Endpoints: /nic/update (and its aliases; also ACME DNS-01 values with txt=), "
		"/api/v1/httpreq/present and /cleanup (lego's httpreq provider), "
		"/api/v1/acme-dns/update (acme-dns clients), /ip, /nic/checkip.html, /health and "
		"/metrics (Prometheus). Put a TLS reverse proxy in front of it and name the proxy "
		"with --trusted-proxy.",
	.opts = opts,
	.sections = sections,
};

/* Reports a bad value of option i the way cli_uint does. */
static int bad_value(const cli_val_t *v, int i, const char *why)
{
	char buf[128];
	const char *env = cli_env_name(&opts[i], buf, sizeof(buf));
	if (v[i].from == CLI_FROM_ENV && env)
		return cli_usage_error(&cli, "%s: '%s' %s", env, v[i].s, why);
	return cli_usage_error(&cli, "--%s: '%s' %s", opts[i].name, v[i].s, why);
}

static int number(const cli_val_t *v, int i, double min, double max, double *out)
{
	const char *s = v[i].s;
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(d) || d < min || d > max) {
		char why[96];
		snprintf(why, sizeof(why), "is not a number from %.15g to %.15g", min, max);
		return bad_value(v, i, why);
	}
	*out = d;
	return 0;
}

/* Copies one list item with the spaces around it trimmed ("a, b" in the
 * environment worked before the lists went through cli.c). */
static const char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static int set_lists(server_config_t *cfg, cli_val_t *v)
{
	char *dflt_listen[] = {(char *)opts[O_LISTEN].dflt};
	char **l = v[O_LISTEN].n ? v[O_LISTEN].list : dflt_listen;
	size_t n = v[O_LISTEN].n ? v[O_LISTEN].n : 1;
	for (size_t i = 0; i < n; i++) {
		const char *s = l == dflt_listen ? l[i] : trim(l[i]);
		if (!*s)
			continue;
		if (cfg->nlisten == SERVER_MAX_LISTEN)
			return cli_usage_error(&cli, "--listen: at most %d addresses",
					       SERVER_MAX_LISTEN);
		cfg->listen[cfg->nlisten++] = s;
	}
	if (cfg->nlisten == 0)
		return cli_usage_error(&cli, "--listen: no address given");
	for (size_t i = 0; i < v[O_TRUSTED].n; i++) {
		const char *s = trim(v[O_TRUSTED].list[i]);
		if (!*s)
			continue;
		if (cfg->ntrusted == SERVER_MAX_TRUSTED)
			return cli_usage_error(&cli, "--trusted-proxy: at most %d networks",
					       SERVER_MAX_TRUSTED);
		if (addr_cidr_parse(&cfg->trusted[cfg->ntrusted], s, strlen(s)) != 0)
			return cli_usage_error(&cli, "--trusted-proxy: '%s' is not an address or "
						     "CIDR",
					       s);
		cfg->ntrusted++;
	}
	return 0;
}

/* Fills cfg from the parsed options; 0, or -1 after a usage error. */
static int configure(server_config_t *cfg, cli_val_t *v, int *core_dumps, int *level)
{
	static const struct {
		int opt;
		double min, max;
	} nums[] = {
		{O_MAX_CONNS, 1, 1e6},    {O_IDLE, 0.01, 86400},      {O_HEADER, 0.01, 3600},
		{O_RATE, 0, 1e9},         {O_BURST, 1, 1e9},          {O_PER_CLIENT, 0, 1e6},
		{O_CHANGE_RATE, 0, 1e9},  {O_CHANGE_BURST, 1, 1e9},   {O_FAIL_LIMIT, 0, 1e9},
		{O_API_DNS, 0, 86400},    {O_HISTORY, 0, STORE_HIST_MAX_KEEP},
		{O_ACME_LIFETIME, 1, 604800}, {O_ACME_TTL, 0, 3600}, {O_ACME_GC, 0.1, 86400},
	};
	double d[O_COUNT] = {0};
	for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
		if (number(v, nums[k].opt, nums[k].min, nums[k].max, &d[nums[k].opt]))
			return -1;
	cfg->max_conns = (unsigned)d[O_MAX_CONNS];
	cfg->idle_timeout_ms = (unsigned)(d[O_IDLE] * 1000);
	cfg->header_timeout_ms = (unsigned)(d[O_HEADER] * 1000);
	cfg->rate = d[O_RATE];
	cfg->burst = d[O_BURST];
	cfg->limit_slots = 65536;
	cfg->conns_per_client = (unsigned)d[O_PER_CLIENT];
	cfg->change_rate = d[O_CHANGE_RATE];
	cfg->change_burst = d[O_CHANGE_BURST];
	cfg->host_fails = (unsigned)d[O_FAIL_LIMIT];
	cfg->pdns_dns_cache_s = (long)d[O_API_DNS];
	cfg->allow_loopback = v[O_LOOPBACK].s != NULL;
	cfg->history_size = (unsigned)d[O_HISTORY];
	cfg->acme_lifetime = (unsigned)d[O_ACME_LIFETIME];
	cfg->acme_ttl = (unsigned)d[O_ACME_TTL];
	cfg->acme_gc_interval_ms = (unsigned)(d[O_ACME_GC] * 1000);
	*core_dumps = v[O_CORE].s != NULL;
	cfg->access_log = v[O_NO_ACCESS].s == NULL;
	/* Deprecated name of the switch, from before the env names followed
	 * the flags: KYEDNS_ACCESS_LOG=0 meant --no-access-log. */
	const char *old = getenv("KYEDNS_ACCESS_LOG");
	if (v[O_NO_ACCESS].from == CLI_FROM_DEFAULT && old &&
	    (strcmp(old, "0") == 0 || strcasecmp(old, "no") == 0 || strcasecmp(old, "off") == 0 ||
	     strcasecmp(old, "false") == 0))
		cfg->access_log = 0;
	*level = log_level_parse(v[O_LEVEL].s);
	if (*level < 0)
		return bad_value(v, O_LEVEL, "is not a level (error, warning, notice, info, debug)");
	if (set_lists(cfg, v))
		return -1;

	cfg->pdns_api = v[O_API].s && *v[O_API].s ? v[O_API].s : NULL;
	cfg->pdns_api_key = v[O_API_KEY].s;
	cfg->pdns_api_ca = v[O_API_CA].s && *v[O_API_CA].s ? v[O_API_CA].s : NULL;
	if (cfg->pdns_api && (!cfg->pdns_api_key || !*cfg->pdns_api_key))
		return cli_usage_error(&cli, "--pdns-api %s needs --pdns-api-key", cfg->pdns_api);
	/* The placeholder of the shipped kyedns-api.conf is no key: anyone who
	 * read the docs could use the API with it. */
	if (cfg->pdns_api && strcmp(cfg->pdns_api_key, "CHANGE-ME") == 0)
		return cli_usage_error(&cli,
				       "refusing pdns api key CHANGE-ME (the shipped placeholder); "
				       "generate one: head -c 24 /dev/urandom | od -An -tx1 | tr -d "
				       "' \\n'");
	if (cfg->pdns_api && strncmp(cfg->pdns_api, "http://", 7) != 0 &&
	    strncmp(cfg->pdns_api, "https://", 8) != 0)
		return bad_value(v, O_API, "is not an http:// or https:// URL");
	return 0;
}

/* Lets the process use every descriptor the hard limit allows (each
 * client connection is one) and keeps max_conns below what is left after
 * the store, listeners and purge connections. */
static void raise_nofile(server_config_t *cfg, log_t *lg)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 128 && cfg->max_conns > rl.rlim_cur - 64) {
		cfg->max_conns = (unsigned)(rl.rlim_cur - 64);
		log_printf(lg, LOG_WARNING, "max-conns lowered to %u (open file limit %llu)",
			   cfg->max_conns, (unsigned long long)rl.rlim_cur);
	}
}

int main(int argc, char **argv)
{
	cli_val_t v[O_COUNT];
	int rc = cli_parse(&cli, argc, argv, v, NULL);
	if (rc)
		return rc > 0 ? 0 : CLI_EXIT_USAGE;
	server_config_t cfg = {0};
	int core_dumps = 0, level = LOG_INFO;
	if (configure(&cfg, v, &core_dumps, &level)) {
		cli_free(&cli, v);
		return CLI_EXIT_USAGE;
	}

	log_t lg;
	rc = log_init(&lg, cli.prog, v[O_LOG_FILE].s, level);
	cfg.log = &lg;
	if (rc) {
		log_printf(&lg, LOG_ERR, "cannot open log file %s (%s)", v[O_LOG_FILE].s,
			   strerror(-rc));
		cli_free(&cli, v);
		return 1;
	}

	/* The pdns API key (argv, environment, every purge request) and the
	 * tokens of requests (read buffers, parsed parameters) live in this
	 * process's memory: a core dump would carry them to wherever cores
	 * go.  Not dumpable: no core, and no ptrace or /proc/PID/mem for
	 * other processes of the same user.  --core-dumps to debug a crash. */
	if (!core_dumps && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_printf(&lg, LOG_ERR, "cannot turn off core dumps (%s)", strerror(errno));
	if (core_dumps)
		log_printf(&lg, LOG_WARNING,
			   "warning: core dumps on: a core holds the pdns API key and tokens");

	signal(SIGPIPE, SIG_IGN);
	raise_nofile(&cfg, &lg);

	store_t *store = NULL;
	const char *db = v[O_DB].s;
	rc = 1;
	if (token_init() != 0) {
		log_printf(&lg, LOG_ERR, "cannot initialise libsodium");
	} else if ((rc = store_open(&store, db, 0)) != 0) {
		log_printf(&lg, LOG_ERR, "cannot open store %s (%s)", db, err_str(rc));
		rc = 1;
	} else {
		rc = server_run(&cfg, store);
		store_close(store);
	}
	cli_free(&cli, v);
	log_close(&lg);
	return rc ? 1 : 0;
}
