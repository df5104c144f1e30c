/*
 * kyedns-backend - PowerDNS remote backend (launch=remote, unix socket)
 * answering from the KyedNS store.  Parses the configuration, opens the
 * store, runs the server loop; everything else lives in rb.c and server.c.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <uv.h>

#include "err.h"
#include "rb.h"
#include "server.h"
#include "store.h"

#define DEFAULT_DB "/var/lib/kyedns"
#define DEFAULT_SOCKET "/run/kyedns/backend.sock"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kyedns-backend [--db DIR] [--socket PATH] [--socket-group GROUP]\n"
		"                      [--txn-timeout SECONDS] [--txn-max-mb MB]\n"
		"                      [--max-conns N] [--idle-timeout SECONDS]\n"
		"                      [--idle-above N] [--max-buffer-mb MB] [--core-dumps]\n"
		"\n"
		"PowerDNS remote backend for KyedNS: answers pdns (launch=remote,\n"
		"remote-connection-string=unix:path=PATH) from the store in DIR.\n"
		"\n"
		"  --db DIR              store directory (env KYEDNS_DB; default " DEFAULT_DB ")\n"
		"  --socket PATH         unix socket to listen on (env KYEDNS_SOCKET;\n"
		"                        default " DEFAULT_SOCKET ")\n"
		"  --socket-group GROUP  group of the socket, mode 0660, so pdns can\n"
		"                        connect (env KYEDNS_SOCKET_GROUP)\n"
		"  --txn-timeout SECONDS drop a pdns transaction idle this long\n"
		"                        (env KYEDNS_TXN_TIMEOUT; default 60)\n"
		"  --txn-max-mb MB       memory one pdns transaction may buffer\n"
		"                        (env KYEDNS_TXN_MAX_MB; default 256)\n"
		"  --max-conns N         connections open at once; more are closed at\n"
		"                        once (env KYEDNS_BACKEND_MAX_CONNS; default 1024)\n"
		"  --idle-timeout SECONDS  while more than --idle-above connections are\n"
		"                        open, close the longest-idle ones (no request\n"
		"                        this long, no transaction) down to that count\n"
		"                        (env KYEDNS_BACKEND_IDLE_TIMEOUT; default 300)\n"
		"  --idle-above N        see --idle-timeout; pdns keeps one idle\n"
		"                        connection per thread for its lifetime\n"
		"                        (env KYEDNS_BACKEND_IDLE_ABOVE; default 64)\n"
		"  --max-buffer-mb MB    memory all connections together may hold in\n"
		"                        request lines still arriving, beyond 64 KiB each\n"
		"                        (env KYEDNS_BACKEND_MAX_BUFFER_MB; default 32)\n"
		"  --core-dumps          allow core dumps (they hold TSIG secrets and\n"
		"                        DNSSEC keys; env KYEDNS_CORE_DUMPS=1)\n"
		"  --help                this text\n"
		"  --version             print the version\n");
}

static void rb_log(void *arg, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	(void)arg;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	server_log("%s", line);
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

/* A decimal number in lo..hi: 0, or -EINVAL. */
static int parse_ul(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || *s == '-' || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *db = env_or("KYEDNS_DB", DEFAULT_DB);
	const char *sock = env_or("KYEDNS_SOCKET", DEFAULT_SOCKET);
	const char *group = env_or("KYEDNS_SOCKET_GROUP", NULL);
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"socket", required_argument, NULL, 's'},
		{"socket-group", required_argument, NULL, 'g'},
		{"txn-timeout", required_argument, NULL, 't'},
		{"txn-max-mb", required_argument, NULL, 'm'},
		{"max-conns", required_argument, NULL, 'c'},
		{"idle-timeout", required_argument, NULL, 'i'},
		{"idle-above", required_argument, NULL, 'a'},
		{"max-buffer-mb", required_argument, NULL, 'b'},
		{"core-dumps", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *txn_timeout_s = env_or("KYEDNS_TXN_TIMEOUT", "60");
	const char *txn_max_mb_s = env_or("KYEDNS_TXN_MAX_MB", "256");
	const char *max_conns_s = env_or("KYEDNS_BACKEND_MAX_CONNS", "1024");
	const char *idle_timeout_s = env_or("KYEDNS_BACKEND_IDLE_TIMEOUT", "300");
	const char *idle_above_s = env_or("KYEDNS_BACKEND_IDLE_ABOVE", "64");
	const char *max_buffer_s = env_or("KYEDNS_BACKEND_MAX_BUFFER_MB", "32");
	const char *core_dumps_s = env_or("KYEDNS_CORE_DUMPS", "0");
	int core_dumps;
	unsigned long txn_timeout, txn_max_mb, max_conns, idle_timeout, idle_above, max_buffer;
	char *end;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd': db = optarg; break;
		case 's': sock = optarg; break;
		case 'g': group = optarg; break;
		case 't': txn_timeout_s = optarg; break;
		case 'm': txn_max_mb_s = optarg; break;
		case 'c': max_conns_s = optarg; break;
		case 'i': idle_timeout_s = optarg; break;
		case 'a': idle_above_s = optarg; break;
		case 'b': max_buffer_s = optarg; break;
		case 'k': core_dumps_s = "1"; break;
		case 'h': usage(stdout); return 0;
		case 'V': puts(RB_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kyedns-backend: unexpected argument %s (see --help)\n", argv[optind]);
		return 2;
	}
	txn_timeout = strtoul(txn_timeout_s, &end, 10);
	if (*end || !*txn_timeout_s || txn_timeout < 1 || txn_timeout > 86400) {
		fprintf(stderr, "kyedns-backend: --txn-timeout wants 1..86400 seconds\n");
		return 2;
	}
	txn_max_mb = strtoul(txn_max_mb_s, &end, 10);
	if (*end || !*txn_max_mb_s || txn_max_mb < 1 || txn_max_mb > 65536) {
		fprintf(stderr, "kyedns-backend: --txn-max-mb wants 1..65536\n");
		return 2;
	}

	if (parse_ul(max_conns_s, 1, 1000000, &max_conns) < 0) {
		fprintf(stderr, "kyedns-backend: --max-conns wants 1..1000000\n");
		return 2;
	}
	if (parse_ul(idle_timeout_s, 1, 86400, &idle_timeout) < 0) {
		fprintf(stderr, "kyedns-backend: --idle-timeout wants 1..86400 seconds\n");
		return 2;
	}
	if (parse_ul(idle_above_s, 1, 1000000, &idle_above) < 0) {
		fprintf(stderr, "kyedns-backend: --idle-above wants 1..1000000\n");
		return 2;
	}
	if (parse_ul(max_buffer_s, 1, 65536, &max_buffer) < 0) {
		fprintf(stderr, "kyedns-backend: --max-buffer-mb wants 1..65536\n");
		return 2;
	}

	/* TSIG secrets and DNSSEC private keys pass through this process's
	 * buffers (getTSIGKey, getDomainKeys): a core would carry them to
	 * wherever cores go.  Not dumpable, as kyedns-updater: no core, no
	 * ptrace or /proc/PID/mem for other processes of the same user. */
	core_dumps = strcmp(core_dumps_s, "0") != 0;
	if (!core_dumps && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fprintf(stderr, "cannot turn off core dumps (%s)\n", strerror(errno));
	if (core_dumps)
		fprintf(stderr, "warning: core dumps on: a core holds TSIG secrets and DNSSEC keys\n");

	/* A peer that closes early must not kill us; the write just fails. */
	signal(SIGPIPE, SIG_IGN);
	/* pdns opens a handful of connections, but a flood (or a test with a
	 * thousand) must not hit the default soft limit of 1024. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	/*
	 * Read-write: pdns writes through us (transactions, metadata, TSIG
	 * keys, notified serials).  A store we may only read still serves
	 * lookups; the writes then fail with a log line.
	 */
	store_t *store;
	int rc = store_open(&store, db, 0);
	if (rc == -EACCES || rc == -EROFS || rc == -EPERM) {
		rc = store_open(&store, db, STORE_RDONLY);
		if (rc == 0)
			server_log("opened store %s read-only (writes from pdns will fail)", db);
	}
	if (rc < 0) {
		server_log("cannot open store %s (%s)", db, err_str(rc));
		return 1;
	}

	rb_t rb;
	rb_init(&rb, store);
	rb.log = rb_log;
	rb.txn_timeout = (unsigned)txn_timeout;
	rb.txn_max_bytes = (size_t)txn_max_mb << 20;

	uv_loop_t *loop = uv_default_loop();
	static server_t srv; /* large (read buffer): not on the stack */
	srv.max_conns = (unsigned)max_conns;
	srv.idle_timeout = (unsigned)idle_timeout;
	srv.idle_above = (unsigned)idle_above;
	srv.max_buffer = (size_t)max_buffer << 20;
	if (server_start(&srv, loop, &rb, sock, group) < 0) {
		rb_free(&rb);
		store_close(store);
		return 1;
	}
	server_log("listening on %s (store %s)", sock, db);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	rb_free(&rb);
	store_close(store);
	server_log("stopped");
	return 0;
}
