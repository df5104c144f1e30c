/*
 * kyedns-backend - PowerDNS remote backend (launch=remote, unix socket)
 * answering from the KyedNS store.  Reads the option table (common/cli.h:
 * flags, else environment variables, else defaults), sets up the log,
 * opens the store, takes the socket (its own, or the one systemd passed)
 * and runs the server loop; everything else lives in rb.c and server.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <uv.h>

#include "cli.h"
#include "err.h"
#include "handover.h"
#include "log.h"
#include "rb.h"
#include "server.h"
#include "stats.h"
#include "store.h"

enum {
	O_DB,
	O_STDIO,
	O_SOCKET,
	O_GROUP,
	O_TXN_TIMEOUT,
	O_TXN_MAX_MB,
	O_MAX_CONNS,
	O_IDLE_TIMEOUT,
	O_IDLE_ABOVE,
	O_MAX_BUFFER,
	O_NOTIFY_MIN_INTERVAL,
	O_RELOAD_WAIT,
	O_CORE,
	O_LEVEL,
	O_LOG_FILE,
	O_COUNT
};

/*
 * Environment names: KYEDNS_<FLAG>, except where kyedns-updater has a flag
 * of the same name.  Both units read /etc/default/kyedns, so those carry
 * the program (KYEDNS_BACKEND_<FLAG>) and a setting meant for one daemon
 * never reaches the other.
 */
static const cli_opt_t opts[] = {
	[O_DB] = {"db", 0, "DIR", NULL, "/var/lib/kyedns",
		  "The LMDB store shared with kyedns-updater and kyednsctl.", 0},
	[O_STDIO] = {"stdio", 0, NULL, NULL, NULL,
		     "Serve one pdns backend instance on standard input and output instead of "
		     "a socket, as the command of pdns's pipe connector (see PIPE MODE in the "
		     "manual). pdns starts one process per backend instance; each ends at the "
		     "end of its input. The socket's options (--socket, --socket-group, "
		     "--max-conns, --idle-timeout, --idle-above, --reload-wait) do not apply and "
		     "are a usage error on the command line.",
		     0},
	[O_SOCKET] = {"socket", 0, "PATH", NULL, "/run/kyedns/backend.sock",
		      "Unix socket to listen on; pdns's remote-connection-string must name it "
		      "(unix:path=PATH). Ignored, apart from a warning when it differs, when "
		      "systemd passes the socket (kyedns-backend.socket).",
		      0},
	[O_GROUP] = {"socket-group", 0, "GROUP", NULL, NULL,
		     "Group (name or number) of the socket, which is mode 0660, so that pdns "
		     "can connect. Unset: the process's group.",
		     0},
	[O_TXN_TIMEOUT] = {"txn-timeout", 0, "SEC", NULL, "60",
			   "Drop a pdns transaction idle this long (1..86400).", 0},
	[O_TXN_MAX_MB] = {"txn-max-mb", 0, "MB", NULL, "256",
			  "Memory one pdns transaction may buffer (1..65536).", 0},
	[O_MAX_CONNS] = {"max-conns", 0, "N", "KYEDNS_BACKEND_MAX_CONNS", "1024",
			 "Connections open at once (1..1000000); more are accepted and closed at "
			 "once. The environment variable names the backend because "
			 "kyedns-updater has a --max-conns of its own.",
			 0},
	[O_IDLE_TIMEOUT] = {"idle-timeout", 0, "SEC", "KYEDNS_BACKEND_IDLE_TIMEOUT", "300",
			    "While more than --idle-above connections are open, close the "
			    "longest-idle ones (no request this long, no transaction) down to that "
			    "count (1..86400). The environment variable names the backend because "
			    "kyedns-updater has an --idle-timeout of its own.",
			    0},
	[O_IDLE_ABOVE] = {"idle-above", 0, "N", NULL, "64",
			  "See --idle-timeout; pdns keeps one idle connection per thread for its "
			  "lifetime (1..1000000). KYEDNS_BACKEND_IDLE_ABOVE still works but is "
			  "deprecated.",
			  0},
	[O_MAX_BUFFER] = {"max-buffer-mb", 0, "MB", NULL, "32",
			  "Memory all connections together may hold in request lines still "
			  "arriving, beyond 64 KiB each (1..65536). KYEDNS_BACKEND_MAX_BUFFER_MB "
			  "still works but is deprecated.",
			  0},
	[O_NOTIFY_MIN_INTERVAL] = {"notify-min-interval", 0, "SEC", NULL, "0",
				   "Report a changed master zone to pdns's communicator (which then "
				   "NOTIFYs its secondaries, and each transfers the whole zone) only "
				   "when its last NOTIFY round is at least SEC seconds old (0..86400). "
				   "The first change after a quiet spell still goes out at the next "
				   "xfr-cycle-interval; a stream of changes gets one round per SEC. "
				   "0: every cycle that finds a new serial notifies.",
				   0},
	[O_RELOAD_WAIT] = {"reload-wait", 0, "SEC", NULL, "30",
			   "On SIGHUP, wait this long for open pdns transactions to end before "
			   "re-executing; those still open then are aborted (1..3600).",
			   0},
	[O_CORE] = {"core-dumps", 0, NULL, NULL, NULL,
		    "Allow core dumps (they hold TSIG secrets and DNSSEC keys).", 0},
	[O_LEVEL] = {"log-level", 0, "LEVEL", "KYEDNS_BACKEND_LOG_LEVEL", "info",
		     "Least important messages written: error, warning, notice or info (debug "
		     "adds nothing yet). The environment variable names the backend because "
		     "kyedns-updater has a --log-level of its own.",
		     0},
	[O_LOG_FILE] = {"log-file", 0, "FILE", "KYEDNS_BACKEND_LOG_FILE", NULL,
			"Append the log to FILE instead of stderr; SIGHUP reopens it (after "
			"logrotate). The environment variable names the backend because "
			"kyedns-updater has a --log-file of its own.",
			0},
	[O_COUNT] = {0},
};

/* Environment names of before the option table, still honoured. */
static const struct {
	int opt;
	const char *old_env;
} deprecated[] = {
	{O_IDLE_ABOVE, "KYEDNS_BACKEND_IDLE_ABOVE"},
	{O_MAX_BUFFER, "KYEDNS_BACKEND_MAX_BUFFER_MB"},
};

static const cli_section_t sections[] = {
	{"SIGNALS", "SIGTERM, SIGINT\t stop accepting, let every connection finish its request "
		    "and flush its replies, remove the socket file (not one systemd passed) "
		    "and exit 0.\n"
		    "SIGHUP\t reopen the --log-file, then re-execute the program file in place "
		    "(same pid, same command line and environment; a new binary takes over, "
		    "the store is reopened): once no pdns transaction is open (at most "
		    "--reload-wait), requests pause for a few milliseconds while the listening "
		    "socket, every pdns connection and the log file pass to the new image, "
		    "which tells systemd READY=1 (RELOADING=1 before). pdns sees no error, so "
		    "a primary or secondary pdns survives it, unlike a restart. When the exec "
		    "fails, the old image serves on.\n"
		    "\n"
		    "With --stdio, SIGTERM instead re-executes the program in place at the next "
		    "idle point (no request running or partly read, every reply written, no "
		    "transaction open): the same process and pipes, so pdns does not notice, and "
		    "an upgraded binary takes over (the store is reopened; when the exec fails, "
		    "the old image serves on). SIGHUP only reopens the --log-file. pdns 4.7 does "
		    "not replace a pipe process that ended between two calls; that backend "
		    "instance then fails every later call, and pdns exits when it is the "
		    "communicator's. End of input (pdns closed the pipe) or SIGINT ends the "
		    "process (exit 0; 1 after a broken pipe or an over-long request line)."},
	{"PIPE MODE",
	 "pdns runs the command itself, one process per backend instance (each distributor "
	 "and receiver thread, the communicator, every API request and pdnsutil run), "
	 "splitting it at single spaces; the program must be an absolute path:\n"
	 "\n"
	 "  remote-connection-string=pipe:command=/usr/bin/kyedns-backend \\\n"
	 "    --stdio --db=/var/lib/kyedns,timeout=0\n"
	 "\n"
	 "(one line in pdns.conf). With timeout=0 pdns reads the replies buffered and waits "
	 "for them without limit (the keeper below answers for a worker that dies); any "
	 "other timeout makes pdns 4.7 read them one byte per system call, about 4 times "
	 "slower for large zone transfers and uncached lookups. pdns kills a process for an API request or a pdnsutil run "
	 "with SIGKILL right after its last reply; a write is answered only once it is in "
	 "the store, so nothing answered is lost. The options in the connection string reach "
	 "the backend in pdns's initialize call and are ignored.\n"
	 "\n"
	 "With --stdio the process pdns starts is a keeper: it forks the worker that serves "
	 "and only waits. A worker killed by a signal (a crash, the OOM killer, kill -9) is "
	 "replaced at once on the same pipes, unseen by pdns. One that died with a whole "
	 "request read and no byte of its reply written: the keeper answers that call with "
	 "a failure (pdns logs it and goes on). One that died holding part of a request "
	 "line or having written part of a reply: the keeper exits 1, pdns's read fails and "
	 "pdns starts a new process. After 5 deaths within "
	 "10 seconds the keeper gives up and exits 1. The keeper passes SIGTERM, SIGINT and "
	 "SIGHUP on to the worker. Only a kill of the keeper itself cannot be recovered by "
	 "pdns 4.7.\n"
	 "\n"
	 "Stdout carries nothing but replies: log lines go to stderr (which pdns passes on, "
	 "to its own log) or to --log-file; the start and end of a process are logged at "
	 "debug level only. stdin must be a pipe, a socket or a terminal."},
	{"SYSTEMD",
	 "With Type=notify the backend reports READY=1 once its socket accepts connections, "
	 "and STOPPING=1 when it begins to stop.\n"
	 "\n"
	 "Socket activation: when systemd passes one listening unix stream socket "
	 "($LISTEN_FDS, kyedns-backend.socket), the backend serves it instead of binding "
	 "--socket; the socket unit sets its owner, group and mode. The socket then outlives "
	 "the backend: pdns can start before it, and connections made while the backend "
	 "restarts wait in the socket's queue instead of failing."},
	{"LOGGING", "One line per event with a priority: under systemd the journal's priority "
		    "prefix (\"<4>closing connection ...\"), else a UTC timestamp, the level word, "
		    "the program and its pid. KYEDNS_LOG_FORMAT=journal or plain forces one shape. "
		    "Errors are failures of the backend or the store, warnings are refused "
		    "requests and limits reached, notice and info the lifecycle."},
	{"STATISTICS", "pdnsutil backend-cmd remote stats\t counts, errors and latency "
		       "percentiles per method, connections and store use, for humans.\n"
		       "pdnsutil backend-cmd remote metrics\t the same in the Prometheus text "
		       "format (kyedns_backend_*), for monitoring/kyedns-backend-stats.sh."},
	{"SEE ALSO", "kyedns-updater(8), kyednsctl(8), pdns_server(1), pdnsutil(1)"},
	{NULL, NULL},
};

static const cli_t cli = {
	.prog = "kyedns-backend",
	.man_section = 8,
	.summary = "PowerDNS remote backend of KyedNS",
	.synopsis = "[OPTION]...",
	.description =
		"kyedns-backend answers PowerDNS's remote backend (launch=remote, "
		"remote-connection-string=unix:path=PATH) over a unix socket from the LMDB store "
		"that kyedns-updater and kyednsctl write: lookups, zone transfers, DNSSEC keys, "
		"metadata, TSIG keys and the writes of pdns's API, pdnsutil and AXFR-in. With "
		"--stdio it serves one pdns backend instance on stdin and stdout instead, as the "
		"command of pdns's pipe connector (PIPE MODE below).",
	.opts = opts,
	.sections = sections,
};

/* rb's lines without a priority are about requests it refused. */
static void rb_log(void *arg, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vprintf(arg, LOG_WARNING, fmt, ap);
	va_end(ap);
}

static void rb_logp(void *arg, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vprintf(arg, prio, fmt, ap);
	va_end(ap);
}

/* What a re-exec releases and, when the exec fails, takes back: the store
 * (closing the env frees this process's reader slots, which the new image,
 * with the same pid, could never reclaim). */
typedef struct store_hold {
	rb_t *rb;
	store_t **store;
	const char *db;
	unsigned flags;
} store_hold_t;

static void store_release(void *arg)
{
	store_hold_t *h = arg;
	rb_free(h->rb);
	store_close(*h->store);
	*h->store = h->rb->store = NULL;
}

static int store_restore(void *arg)
{
	store_hold_t *h = arg;
	int rc = store_open(h->store, h->db, h->flags);
	h->rb->store = rc == 0 ? *h->store : NULL;
	return rc;
}

/* The program file, for re-executing it: where a new binary would be
 * installed.  An absolute argv[0] is the path it was started by (pdns's
 * pipe connector and systemd's ExecStart= use one): through a symlink, the
 * link's target of now.  Else the path of the running image. */
static const char *exe_path(const char *argv0)
{
	static char buf[4096];
	if (argv0 && argv0[0] == '/')
		return argv0;
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return "/proc/self/exe";
	buf[n] = 0;
	/* started from a file replaced since: its path holds the new one */
	size_t k = strlen(" (deleted)");
	if ((size_t)n > k && strcmp(buf + n - k, " (deleted)") == 0)
		buf[n - k] = 0;
	return buf;
}

/* Copies a deprecated variable to its new name when only the old one is
 * set; returns the old name used, or NULL. */
static const char *adopt_deprecated(size_t k)
{
	char buf[128];
	const char *name = cli_env_name(&opts[deprecated[k].opt], buf, sizeof buf);
	const char *old = getenv(deprecated[k].old_env);
	if (!old || !*old || getenv(name))
		return NULL;
	setenv(name, old, 0);
	return deprecated[k].old_env;
}

int main(int argc, char **argv)
{
	/* SIGTERM, SIGINT and SIGHUP wait until the server handles them (just
	 * before the loop runs): one that arrives during start-up then stops
	 * or re-executes as usual instead of killing a process that pdns, in
	 * pipe mode, would not replace, or one whose socket and connections
	 * the image before handed over.  A re-exec arrives here with them
	 * blocked already (server.c blocks them across the exec). */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	const char *old_used[sizeof deprecated / sizeof *deprecated] = {0};
	for (size_t k = 0; k < sizeof deprecated / sizeof *deprecated; k++)
		old_used[k] = adopt_deprecated(k);

	/* argv as given, for a re-exec (getopt may permute the original);
	 * kept for the process's lifetime */
	static char **rx_argv;
	rx_argv = calloc((size_t)argc + 1, sizeof *rx_argv);
	if (!rx_argv)
		return 1;
	memcpy(rx_argv, argv, (size_t)argc * sizeof *argv);
	handover_t ho;
	int handed = handover_take(&ho);

	cli_val_t v[O_COUNT];
	int rc = cli_parse(&cli, argc, argv, v, NULL);
	if (rc != 0)
		return rc > 0 ? 0 : CLI_EXIT_USAGE;
	/* A bad value from a deprecated variable is reported under the name
	 * the user wrote: the checks below see a table naming it. */
	cli_opt_t eff[O_COUNT + 1];
	memcpy(eff, opts, sizeof eff);
	for (size_t k = 0; k < sizeof deprecated / sizeof *deprecated; k++)
		if (old_used[k] && v[deprecated[k].opt].from == CLI_FROM_ENV)
			eff[deprecated[k].opt].env = old_used[k];
	cli_t c = cli;
	c.opts = eff;
	unsigned long txn_timeout, txn_max_mb, max_conns, idle_timeout, idle_above, max_buffer;
	unsigned long notify_min_interval, reload_wait;
	if (cli_uint(&c, v, O_TXN_TIMEOUT, 1, 86400, &txn_timeout) ||
	    cli_uint(&c, v, O_TXN_MAX_MB, 1, 65536, &txn_max_mb) ||
	    cli_uint(&c, v, O_MAX_CONNS, 1, 1000000, &max_conns) ||
	    cli_uint(&c, v, O_IDLE_TIMEOUT, 1, 86400, &idle_timeout) ||
	    cli_uint(&c, v, O_IDLE_ABOVE, 1, 1000000, &idle_above) ||
	    cli_uint(&c, v, O_MAX_BUFFER, 1, 65536, &max_buffer) ||
	    cli_uint(&c, v, O_NOTIFY_MIN_INTERVAL, 0, 86400, &notify_min_interval) ||
	    cli_uint(&c, v, O_RELOAD_WAIT, 1, 3600, &reload_wait))
		return CLI_EXIT_USAGE;
	int level = log_level_parse(v[O_LEVEL].s);
	if (level < 0) {
		cli_usage_error(&cli, "--log-level: '%s' is not one of error, warning, notice, "
				      "info, debug",
				v[O_LEVEL].s);
		return CLI_EXIT_USAGE;
	}
	const char *db = v[O_DB].s, *sock = v[O_SOCKET].s, *group = v[O_GROUP].s;
	int stdio = v[O_STDIO].s != NULL;
	static const int socket_only[] = {O_SOCKET,       O_GROUP,     O_MAX_CONNS,
					  O_IDLE_TIMEOUT, O_IDLE_ABOVE, O_RELOAD_WAIT};
	for (size_t k = 0; stdio && k < sizeof socket_only / sizeof *socket_only; k++)
		if (v[socket_only[k]].from == CLI_FROM_ARG) {
			cli_usage_error(&cli, "--%s applies to the socket, not to --stdio",
					opts[socket_only[k]].name);
			return CLI_EXIT_USAGE;
		}
	int core_dumps = v[O_CORE].s != NULL;

	log_t lg; /* outlives the loop: the server and rb log through it */
	if (ho.log_fd >= 0 && v[O_LOG_FILE].s && *v[O_LOG_FILE].s &&
	    strlen(v[O_LOG_FILE].s) < sizeof lg.path) {
		/* A re-exec: the old image reopened the file on SIGHUP. */
		rc = log_init(&lg, "kyedns-backend", NULL, level);
		lg.fd = ho.log_fd;
		lg.journald = 0;
		snprintf(lg.path, sizeof lg.path, "%s", v[O_LOG_FILE].s);
		ho.log_fd = -1;
	} else {
		rc = log_init(&lg, "kyedns-backend", v[O_LOG_FILE].s, level);
	}
	if (rc < 0) {
		log_printf(&lg, LOG_ERR, "cannot open log file %s (%s)", v[O_LOG_FILE].s,
			   strerror(-rc));
		return 1;
	}
	if (handed < 0)
		log_printf(&lg, LOG_ERR, "cannot take the handover of the image before (%s)",
			   strerror(-handed));
	else if (handed && ho.err[0])
		log_printf(&lg, LOG_ERR, "handover of the image before is incomplete (%s)", ho.err);
	for (size_t k = 0; k < sizeof deprecated / sizeof *deprecated; k++)
		if (old_used[k] && !handed) {
			char buf[128];
			log_printf(&lg, LOG_WARNING, "%s is deprecated; use %s (--%s)", old_used[k],
				   cli_env_name(&opts[deprecated[k].opt], buf, sizeof buf),
				   opts[deprecated[k].opt].name);
		}

	/* TSIG secrets and DNSSEC private keys pass through this process's
	 * buffers (getTSIGKey, getDomainKeys): a core would carry them to
	 * wherever cores go.  Not dumpable, as kyedns-updater: no core, no
	 * ptrace or /proc/PID/mem for other processes of the same user. */
	if (!core_dumps && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_printf(&lg, LOG_WARNING, "cannot turn off core dumps (%s)", strerror(errno));
	if (core_dumps)
		log_printf(&lg, LOG_WARNING, "core dumps on: a core holds TSIG secrets and DNSSEC "
					     "keys");

	/* A socket passed by systemd (kyedns-backend.socket): exactly one, a
	 * listening unix stream socket (server_start checks the kind). */
	int fd = -1;
	int nfds = sd_listen_fds(1);
	if (nfds < 0) {
		log_printf(&lg, LOG_ERR, "cannot read the sockets systemd passed (%s)",
			   strerror(-nfds));
		return 1;
	}
	if (nfds > 1) {
		log_printf(&lg, LOG_ERR, "systemd passed %d sockets; the backend serves one "
					 "(ListenStream= once in kyedns-backend.socket)",
			   nfds);
		return 1;
	}
	if (nfds == 1)
		fd = SD_LISTEN_FDS_START;
	if (stdio && fd >= 0) {
		cli_usage_error(&cli, "--stdio serves stdin and stdout, but systemd passed a "
				      "socket ($LISTEN_FDS): run --stdio from pdns's pipe "
				      "connector, not from a socket unit");
		return CLI_EXIT_USAGE;
	}

	/* --stdio: this process becomes the keeper, and only its worker
	 * child goes on from here (server.h). */
	if (stdio)
		server_keep(&lg);

	/* A peer that closes early must not kill us; the write just fails. */
	signal(SIGPIPE, SIG_IGN);
	/* pdns opens a handful of connections, but a flood (or a test with a
	 * thousand) must not hit the default soft limit of 1024. */
	struct rlimit rl;
	if (!stdio && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	/*
	 * Read-write: pdns writes through us (transactions, metadata, TSIG
	 * keys, notified serials).  A store we may only read still serves
	 * lookups; the writes then fail with a log line.
	 */
	store_t *store;
	unsigned store_flags = 0;
	rc = store_open(&store, db, 0);
	if (rc == -EACCES || rc == -EROFS || rc == -EPERM) {
		store_flags = STORE_RDONLY;
		rc = store_open(&store, db, STORE_RDONLY);
		if (rc == 0)
			log_printf(&lg, LOG_WARNING, "opened store %s read-only (writes from pdns "
						     "will fail)",
				   db);
	}
	if (rc < 0) {
		log_printf(&lg, LOG_ERR, "cannot open store %s (%s)", db, err_str(rc));
		return 1;
	}

	rb_t rb;
	rb_init(&rb, store);
	rb.log = rb_log;
	rb.logp = rb_logp;
	rb.log_arg = &lg;
	rb.txn_timeout = (unsigned)txn_timeout;
	rb.txn_max_bytes = (size_t)txn_max_mb << 20;
	rb.notify_min_interval = (unsigned)notify_min_interval;
	/* Count into this process's slot of the service's stats file, so
	 * that stats and metrics report every process of the service (with
	 * --stdio, pdns runs many). */
	rbstats_t *shared = NULL;
	rb_stats_t *slot;
	rc = rbstats_open(&shared, db, &slot);
	if (rc == 0) {
		rb.st = slot;
		rb.shared = shared;
		if (rbstats_replaced(shared))
			log_printf(&lg, LOG_WARNING, "replaced %s/%s of an older layout (the "
						     "counts it held are gone)",
				   db, RBSTATS_FILE);
	} else {
		shared = NULL;
		log_printf(&lg, LOG_WARNING, "cannot share statistics in %s/%s (%s); stats "
					     "report this process only",
			   db, RBSTATS_FILE, err_str(rc));
	}

	uv_loop_t *loop = uv_default_loop();
	static server_t srv; /* large (read buffer): not on the stack */
	srv.log = &lg;
	srv.max_conns = (unsigned)max_conns;
	srv.idle_timeout = (unsigned)idle_timeout;
	srv.idle_above = (unsigned)idle_above;
	srv.max_buffer = (size_t)max_buffer << 20;
	/* Both modes re-execute in place (server.h): SIGHUP with a socket,
	 * SIGTERM with --stdio. */
	store_hold_t hold = {&rb, &store, db, store_flags};
	srv.rx.argv = rx_argv;
	srv.rx.exe = exe_path(argv[0]);
	srv.rx.wait = (unsigned)reload_wait;
	srv.rx.release = store_release;
	srv.rx.restore = store_restore;
	srv.rx.arg = &hold;
	srv.ho = handed > 0 ? &ho : NULL;
	int adopted = handed > 0 && ho.listen_fd >= 0;
	rc = stdio ? server_start_stdio(&srv, loop, &rb)
		   : server_start(&srv, loop, &rb, sock, group, fd);
	handover_free(&ho); /* what the server did not take */
	if (rc < 0) {
		rb_free(&rb);
		rbstats_close(shared);
		store_close(store);
		return 1;
	}
	/* pdns starts a --stdio process for every API request and pdnsutil
	 * run: their start and end are no events worth a line each. */
	if (stdio)
		log_printf(&lg, LOG_DEBUG, "serving on stdin/stdout%s (store %s, version %s)",
			   handed > 0 ? " (re-executed)" : "", db, KYEDNS_VERSION);
	else if (adopted && srv.listening)
		log_printf(&lg, LOG_NOTICE, "re-executed; %u connections kept (socket %s, store "
					    "%s, version %s)",
			   srv.nconns, srv.path, db, KYEDNS_VERSION);
	else
		log_printf(&lg, LOG_NOTICE, "listening on %s%s (store %s, version %s)", srv.path,
			   fd >= 0 ? " (passed by systemd)" : "", db, KYEDNS_VERSION);
	/* Blocked since the start of main (or, after a re-exec, since before
	 * the exec): pending ones arrive now, with their handlers in place. */
	sigprocmask(SIG_UNBLOCK, &sigs, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	rb_free(&rb);
	rbstats_close(shared);
	store_close(store);
	log_printf(&lg, stdio ? LOG_DEBUG : LOG_NOTICE, "stopped");
	log_close(&lg);
	cli_free(&cli, v);
	return srv.failed; /* stdio: 1 when the connection ended in an error */
}
