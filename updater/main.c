/*
 * kyedns-updater - the dyndns2 HTTP daemon of KyedNS.
 *
 * Thin on purpose: reads flags (each also from a KYEDNS_* environment
 * variable, flags win), opens the store and hands over to server_run().
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "err.h"
#include "server.h"
#include "store.h"
#include "token.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kyedns-updater [--db DIR] [--listen ADDR:PORT]... [--trusted-proxy CIDR]...\n"
		"                      [--pdns-api URL --pdns-api-key KEY] [--max-conns N]\n"
		"                      [--idle-timeout SEC] [--header-timeout SEC]\n"
		"                      [--rate-limit PER_SEC] [--rate-burst N]\n"
		"                      [--max-conns-per-client N] [--host-change-rate PER_MIN]\n"
		"                      [--host-change-burst N] [--host-fail-limit N]\n"
		"                      [--allow-loopback] [--core-dumps] [--no-access-log]\n"
		"environment: KYEDNS_DB, KYEDNS_LISTEN (comma-separated), KYEDNS_TRUSTED_PROXY\n"
		"  (comma-separated), KYEDNS_PDNS_API, KYEDNS_PDNS_API_KEY, KYEDNS_MAX_CONNS,\n"
		"  KYEDNS_IDLE_TIMEOUT, KYEDNS_HEADER_TIMEOUT, KYEDNS_RATE_LIMIT, KYEDNS_RATE_BURST,\n"
		"  KYEDNS_MAX_CONNS_PER_CLIENT, KYEDNS_HOST_CHANGE_RATE, KYEDNS_HOST_CHANGE_BURST,\n"
		"  KYEDNS_HOST_FAIL_LIMIT, KYEDNS_ALLOW_LOOPBACK (1 = on), KYEDNS_CORE_DUMPS (1 = on),\n"
		"  KYEDNS_ACCESS_LOG (0 = off)\n");
}

static int add_listen(server_config_t *cfg, const char *s)
{
	if (cfg->nlisten == SERVER_MAX_LISTEN) {
		fprintf(stderr, "cannot listen on %s (at most %d addresses)\n", s, SERVER_MAX_LISTEN);
		return -1;
	}
	cfg->listen[cfg->nlisten++] = s;
	return 0;
}

static int add_trusted(server_config_t *cfg, const char *s)
{
	if (cfg->ntrusted == SERVER_MAX_TRUSTED) {
		fprintf(stderr, "cannot trust proxy %s (at most %d)\n", s, SERVER_MAX_TRUSTED);
		return -1;
	}
	if (addr_cidr_parse(&cfg->trusted[cfg->ntrusted], s, strlen(s)) != 0) {
		fprintf(stderr, "cannot trust proxy %s (not an address or CIDR)\n", s);
		return -1;
	}
	cfg->ntrusted++;
	return 0;
}

/* Splits a comma-separated list (modified in place) and adds each item. */
static int add_list(server_config_t *cfg, char *list, int (*add)(server_config_t *, const char *))
{
	for (char *save = NULL, *tok = strtok_r(list, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save))
		if (add(cfg, tok))
			return -1;
	return 0;
}

static int number(const char *flag, const char *s, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "invalid %s %s (want a number from %g to %g)\n", flag, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Lets the process use every descriptor the hard limit allows (each
 * client connection is one) and keeps max_conns below what is left after
 * the store, listeners and purge connections. */
static void raise_nofile(server_config_t *cfg)
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
		fprintf(stderr, "max-conns lowered to %u (open file limit %llu)\n", cfg->max_conns,
			(unsigned long long)rl.rlim_cur);
	}
}

int main(int argc, char **argv)
{
	server_config_t cfg = {
		.max_conns = 16384,
		.idle_timeout_ms = 60000,
		.header_timeout_ms = 10000,
		.rate = 20,
		.burst = 200,
		.limit_slots = 65536,
		.conns_per_client = 64,
		.change_rate = 2,
		.change_burst = 10,
		.host_fails = 100,
		.access_log = 1,
	};
	int core_dumps = 0;
	const char *db = getenv("KYEDNS_DB");
	if (!db || !*db)
		db = "/var/lib/kyedns";
	const char *env_listen = getenv("KYEDNS_LISTEN");
	const char *env_trusted = getenv("KYEDNS_TRUSTED_PROXY");
	cfg.pdns_api = getenv("KYEDNS_PDNS_API");
	cfg.pdns_api_key = getenv("KYEDNS_PDNS_API_KEY");
	struct {
		const char *env;
		const char *flag;
		double min, max;
	} nums[] = {
		{"KYEDNS_MAX_CONNS", "--max-conns", 1, 1e6},
		{"KYEDNS_IDLE_TIMEOUT", "--idle-timeout", 0.01, 86400},
		{"KYEDNS_HEADER_TIMEOUT", "--header-timeout", 0.01, 3600},
		{"KYEDNS_RATE_LIMIT", "--rate-limit", 0, 1e9},
		{"KYEDNS_RATE_BURST", "--rate-burst", 1, 1e9},
		{"KYEDNS_MAX_CONNS_PER_CLIENT", "--max-conns-per-client", 0, 1e6},
		{"KYEDNS_HOST_CHANGE_RATE", "--host-change-rate", 0, 1e9},
		{"KYEDNS_HOST_CHANGE_BURST", "--host-change-burst", 1, 1e9},
		{"KYEDNS_HOST_FAIL_LIMIT", "--host-fail-limit", 0, 1e9},
	};
	enum { NNUMS = sizeof(nums) / sizeof(nums[0]) };
	double vals[NNUMS] = {cfg.max_conns,        cfg.idle_timeout_ms / 1000.0,
			      cfg.header_timeout_ms / 1000.0, cfg.rate,
			      cfg.burst,            cfg.conns_per_client,
			      cfg.change_rate,      cfg.change_burst,
			      cfg.host_fails};
	for (int i = 0; i < NNUMS; i++) {
		const char *e = getenv(nums[i].env);
		if (e && *e && number(nums[i].env, e, nums[i].min, nums[i].max, &vals[i]))
			return 2;
	}
	const char *e = getenv("KYEDNS_ACCESS_LOG");
	if (e && strcmp(e, "0") == 0)
		cfg.access_log = 0;
	e = getenv("KYEDNS_ALLOW_LOOPBACK");
	if (e && strcmp(e, "1") == 0)
		cfg.allow_loopback = 1;
	e = getenv("KYEDNS_CORE_DUMPS");
	if (e && strcmp(e, "1") == 0)
		core_dumps = 1;

	int flag_listen = 0, flag_trusted = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int matched = 0;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--no-access-log") == 0) {
			cfg.access_log = 0;
			continue;
		}
		if (strcmp(a, "--allow-loopback") == 0) {
			cfg.allow_loopback = 1;
			continue;
		}
		if (strcmp(a, "--core-dumps") == 0) {
			core_dumps = 1;
			continue;
		}
		for (int k = 0; k < NNUMS; k++) {
			if (strcmp(a, nums[k].flag) == 0) {
				matched = 1;
				if (!v) {
					fprintf(stderr, "option %s needs a value\n", a);
					return 2;
				}
				if (number(a, v, nums[k].min, nums[k].max, &vals[k]))
					return 2;
			}
		}
		if (matched) {
			i++;
			continue;
		}
		static const char *const with_value[] = {"--db", "--listen", "--trusted-proxy",
							 "--pdns-api", "--pdns-api-key"};
		int known = 0;
		for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
			known |= strcmp(a, with_value[k]) == 0;
		if (!known) {
			fprintf(stderr, "unknown option %s (see --help)\n", a);
			return 2;
		}
		if (!v) {
			fprintf(stderr, "option %s needs a value\n", a);
			return 2;
		}
		if (strcmp(a, "--db") == 0) {
			db = v;
		} else if (strcmp(a, "--listen") == 0) {
			if (!flag_listen)
				cfg.nlisten = 0;
			flag_listen = 1;
			if (add_listen(&cfg, v))
				return 2;
		} else if (strcmp(a, "--trusted-proxy") == 0) {
			if (!flag_trusted)
				cfg.ntrusted = 0;
			flag_trusted = 1;
			if (add_trusted(&cfg, v))
				return 2;
		} else if (strcmp(a, "--pdns-api") == 0) {
			cfg.pdns_api = v;
		} else if (strcmp(a, "--pdns-api-key") == 0) {
			cfg.pdns_api_key = v;
		}
		i++;
	}
	if (cfg.pdns_api && !*cfg.pdns_api)
		cfg.pdns_api = NULL;
	if (cfg.pdns_api && (!cfg.pdns_api_key || !*cfg.pdns_api_key)) {
		fprintf(stderr, "cannot use pdns api %s (no --pdns-api-key)\n", cfg.pdns_api);
		return 2;
	}
	/* The placeholder of the shipped kyedns-api.conf is no key: anyone who
	 * read the docs could use the API with it. */
	if (cfg.pdns_api && strcmp(cfg.pdns_api_key, "CHANGE-ME") == 0) {
		fprintf(stderr, "refusing pdns api key CHANGE-ME (the shipped placeholder); "
				"generate one: head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \\n'\n");
		return 2;
	}
	/* The copies hold the strings cfg's listen and trusted lists point
	 * into; they live until the server has run. */
	char *listen_copy = NULL, *trusted_copy = NULL;
	if (!flag_listen && env_listen && *env_listen) {
		listen_copy = strdup(env_listen);
		if (!listen_copy || add_list(&cfg, listen_copy, add_listen)) {
			free(listen_copy);
			return 2;
		}
	}
	if (!flag_trusted && env_trusted && *env_trusted) {
		trusted_copy = strdup(env_trusted);
		if (!trusted_copy || add_list(&cfg, trusted_copy, add_trusted)) {
			free(listen_copy);
			free(trusted_copy);
			return 2;
		}
	}
	if (cfg.nlisten == 0)
		add_listen(&cfg, "127.0.0.1:8053");
	cfg.max_conns = (unsigned)vals[0];
	cfg.idle_timeout_ms = (unsigned)(vals[1] * 1000);
	cfg.header_timeout_ms = (unsigned)(vals[2] * 1000);
	cfg.rate = vals[3];
	cfg.burst = vals[4];
	cfg.conns_per_client = (unsigned)vals[5];
	cfg.change_rate = vals[6];
	cfg.change_burst = vals[7];
	cfg.host_fails = (unsigned)vals[8];

	/* The pdns API key (argv, environment, every purge request) and the
	 * tokens of requests (read buffers, parsed parameters) live in this
	 * process's memory: a core dump would carry them to wherever cores
	 * go.  Not dumpable: no core, and no ptrace or /proc/PID/mem for
	 * other processes of the same user.  --core-dumps to debug a crash. */
	if (!core_dumps && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fprintf(stderr, "cannot turn off core dumps (%s)\n", strerror(errno));
	if (core_dumps)
		fprintf(stderr, "warning: core dumps on: a core holds the pdns API key and tokens\n");

	signal(SIGPIPE, SIG_IGN);
	raise_nofile(&cfg);
	/* stderr is flushed by the loop before it waits, so a busy server
	 * writes its access log in large chunks instead of one write per line. */
	static char logbuf[1 << 16];
	setvbuf(stderr, logbuf, _IOFBF, sizeof(logbuf));

	store_t *store = NULL;
	int rc = 1;
	if (token_init() != 0) {
		fprintf(stderr, "cannot initialise libsodium\n");
	} else if ((rc = store_open(&store, db, 0)) != 0) {
		fprintf(stderr, "cannot open store %s (%s)\n", db, err_str(rc));
		fflush(stderr);
		rc = 1;
	} else {
		rc = server_run(&cfg, store);
		store_close(store);
	}
	free(listen_copy);
	free(trusted_copy);
	fflush(stderr);
	return rc ? 1 : 0;
}
