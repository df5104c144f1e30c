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
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *txn_timeout_s = env_or("KYEDNS_TXN_TIMEOUT", "60");
	const char *txn_max_mb_s = env_or("KYEDNS_TXN_MAX_MB", "256");
	unsigned long txn_timeout, txn_max_mb;
	char *end;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd': db = optarg; break;
		case 's': sock = optarg; break;
		case 'g': group = optarg; break;
		case 't': txn_timeout_s = optarg; break;
		case 'm': txn_max_mb_s = optarg; break;
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
