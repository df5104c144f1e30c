/*
 * server - the server of kyedns-backend: accepts pdns's connections on a
 * unix socket (or serves one on stdin/stdout), frames newline-delimited
 * requests, hands each line to the protocol module (rb.h) and writes the
 * replies back.
 *
 * One libuv loop on one thread does everything except the writes (setNotified,
 * commitTransaction, metadata, TSIG keys...), whose store write runs on
 * libuv's thread pool (the connection waits for it; the loop does not).
 * Closing a connection aborts its open transaction.  Framing: any number of connections; partial reads,
 * several requests in one read and a request split across reads all work;
 * requests on one connection are answered in order.  A line over
 * RB_MAX_LINE gets an error reply and the connection is closed after it.
 * While a connection has a write in flight or a deferred request, it is not
 * read (backpressure: a peer that does not read its replies cannot make the
 * server buffer without bound).
 *
 * Lifecycle: server_start() binds and listens (or takes over a listening
 * socket systemd passed, socket activation) and tells systemd READY=1;
 * SIGTERM or SIGINT tells it STOPPING=1, stops accepting, removes the
 * socket file (not a passed one: systemd owns it, and connections that
 * arrive meanwhile wait in its backlog for the next start), lets every
 * connection finish its deferred request and flush its replies, closes it,
 * and the loop ends, so uv_run() returns and the daemon exits 0.  SIGHUP
 * reopens the log file (log_reopen) and re-executes the program in place
 * (below); all three signals are uv_signal handles, so the work happens on
 * the loop, not in a signal handler.  The daemon blocks the three from the
 * start of main until the handlers exist (server_start*() installs them,
 * the daemon unblocks them just before the loop runs), so one that arrives
 * during start-up, or across a re-exec, waits instead of killing.
 *
 * Re-exec, one mechanism for both modes (rx_exec in server.c): the daemon
 * sets srv->rx (argv, exe, release, restore) before server_start*(); with
 * rx.argv NULL there is none (SIGHUP only reopens the log file, SIGTERM in
 * stdio mode stops).  The exec blocks SIGTERM, SIGINT and SIGHUP across
 * execve(2), calls rx.release (the daemon closes its store, freeing this
 * pid's reader slots), execs rx.exe with rx.argv (then /proc/self/exe,
 * the running image) passing what the new image serves on (handover.h),
 * and when both fail calls rx.restore and serves on.  The stats slot needs
 * nothing: the kernel releases it at the exec and the new image, with the
 * same pid, takes it back (stats.h).
 *
 * Socket mode (SIGHUP, when srv->rx.argv is set): pdns 4.7 keeps its
 * connections for its lifetime and a primary or secondary pdns exits when
 * one breaks, so a restart must keep them.  The server tells systemd
 * RELOADING=1, keeps serving until no pdns transaction is open (a
 * transaction lives in this process's memory only) or rx.wait seconds have
 * passed, then stops handling requests, lets every deferred request finish
 * and every reply flush (replies stuck for SERVER_RX_FLUSH_MS: the peer
 * reads nothing, its connection is closed), aborts the transactions still
 * open (logged; their next call gets "no open transaction"), calls
 * rx.release (the daemon closes its store) and execs rx.exe with rx.argv,
 * handing over the listening socket, every connection with the input read
 * but not yet handled, and the log file (handover.h).  pdns sees a pause of
 * a few milliseconds, no error.  The new image (same pid, so systemd keeps
 * it as the main process) passes what it took in srv->ho to server_start(),
 * which serves it instead of binding, and says READY=1.  When the exec
 * fails (the binary is gone and /proc/self/exe too), the old image calls
 * rx.restore and resumes serving.  Connections keep arriving meanwhile:
 * they are accepted and handed over like the others.
 *
 * Standard input and output (server_start_stdio, for pdns's pipe
 * connector): the server serves exactly one connection whose requests come
 * on stdin and whose replies go to stdout, with the same framing, deferred
 * writes, backpressure and line limit as a socket connection; no socket,
 * no connection limits, no systemd notification.  pdns starts one such
 * process (a keeper, below) per backend instance and often kills it with
 * SIGKILL right after the last reply: as in socket mode, a write is answered only
 * after its store transaction committed, so a kill loses nothing that was
 * answered.  End of input (pdns closed its end) or SIGINT: the deferred
 * request finishes, every complete request line already received is
 * answered, the replies are flushed, and the loop ends.  A failed write
 * (pdns went away), a read error or an over-long line ends it too, with
 * srv->failed set (the daemon then exits 1).
 *
 * SIGTERM in stdio mode does not end the process: pdns 4.7 checks that its
 * coprocess is alive before it sends a call and, finding it gone, fails
 * that call and every later one of that backend instance without starting
 * a new process (only a failed read starts one); when the instance is the
 * communicator's, pdns exits.  So SIGTERM re-executes the program in place
 * instead (the re-exec above): at the next idle point (no request running,
 * every reply written, no partial line held, no transaction open; reading
 * goes on meanwhile, and the tick aborts a transaction idle for
 * --txn-timeout) fds 0 and 1 go back on the pipes and the program execs:
 * same pid, same pipes, new program (an upgraded binary, say).  Nothing is
 * unread, so only the log file is handed over; no RELOADING=1 or READY=1
 * (a pipe process may hold pdns's $NOTIFY_SOCKET).  When the exec fails,
 * fds 0 and 1 go back to /dev/null and stderr and the process serves on.
 * SIGHUP only reopens the log file; SIGINT still stops (a human at a
 * terminal).
 *
 * The keeper (server_keep): pdns's coprocess is a small process that only
 * runs the serving one (the worker, its child) and waits.  A worker that
 * dies of a signal (a crash, the OOM killer, kill -9) is replaced at once
 * by a new one on the same pipes, and pdns, whose child lives on, does not
 * notice.  With timeout=0 pdns waits for a reply without limit (and reads
 * it buffered, not one byte per read(2) as with any other timeout), so the
 * keeper must know whether pdns waits for one: the worker keeps a state
 * word in a memfd the keeper made (shared mapping, inherited through the
 * fork and, its descriptor named in SERVER_KEEP_ENV, across the worker's
 * re-exec in place), and the keeper reads it after the worker's death:
 *   IDLE: no request byte taken that is not answered in full: a new worker,
 *     silently (input pdns sent meanwhile waits in the pipe for it);
 *   REQ: whole request lines taken, no byte of their reply written, no
 *     partial line held: the keeper writes one failure reply itself
 *     ({"result":false,"log":[...the worker died (signal N)]}; pdns
 *     logs it and fails that call, not the connection), then a new worker;
 *   PARTIAL: a partial request line held or part of a reply written: the
 *     stream cannot be resumed; the keeper exits 1, pdns's pending read
 *     fails ("Child closed pipe") and pdns starts a new process;
 *   WRITE: the worker was handing every reply due to the kernel in one
 *     write(2): done or not, the keeper cannot tell; done is by far the
 *     likelier (the write wakes pdns, which may run before the worker
 *     stores IDLE), so it is handled as IDLE.
 * The worker writes the word (one store to shared memory, a few per
 * request): REQ or PARTIAL first thing in the read callback, by the last
 * byte read; WRITE just before it hands replies to the kernel, then at once
 * its settled state (IDLE once nothing is held, running or unwritten) when
 * the kernel took them all, or PARTIAL when it took part (libuv writes the
 * rest as pdns reads); the settled state again when such a write ends and
 * at the end of every pass over the connection.  The windows that remain:
 * (a) between read(2) returning request bytes inside libuv and the read
 * callback's store, the word still says IDLE: a worker killed there is
 * replaced silently and, with timeout=0, that pdns thread waits for ever
 * (with a timeout, it times out and starts anew); (b) between the store of
 * WRITE and the write(2) (a few instructions; nothing wakes pdns there):
 * the same; (c) between a write(2) that took only part of a reply and the
 * store of PARTIAL: the same; (d) for a reply written in several parts,
 * between libuv's write of the last part and the write callback's store of
 * IDLE (early in the next loop iteration), the word says PARTIAL: pdns has
 * its whole reply, the keeper exits, and pdns 4.7.3 fails every later call
 * of that backend instance (the same as a kill of the keeper, below); only
 * replies larger than the pipe's free space (zone lists) take that path.
 * (A write that took nothing counts as PARTIAL: pdns starts anew, nothing
 * is lost.)  The death count below covers every state.  The keeper
 * forwards SIGTERM, SIGINT and SIGHUP to the worker and exits with the worker's exit status.  Only a kill of
 * the keeper itself is what pdns 4.7.3 cannot recover from.
 *
 * Logging: every line goes through the daemon's log_t (srv->log) with a
 * priority: LOG_ERR for failures of ours, LOG_WARNING for refusals and
 * limits, LOG_NOTICE/LOG_INFO for the lifecycle.
 */
#ifndef KYEDNS_SERVER_H
#define KYEDNS_SERVER_H

#include <stdint.h>

#include <uv.h>

#include "handover.h"
#include "log.h"
#include "rb.h"

#define SERVER_READ_CHUNK 65536
#define SERVER_BACKLOG 4096
#define SERVER_TICK_MS 5000 /* how often idle transactions are looked for */
#define SERVER_RX_WAIT 30       /* seconds a re-exec waits for transactions */
#define SERVER_RX_FLUSH_MS 2000 /* and for replies to flush */
#define SERVER_RX_WAIT_POLL_MS 50 /* how often it looks for transactions */
#define SERVER_RX_POLL_MS 2     /* and for requests and replies in flight */

/*
 * Resource limits (server_t fields; 0 in a field means its default).
 *
 * max_conns: connections open at once.  One more is accepted and closed at
 * once (pdns's call on it fails; it reconnects on its next call).  pdns
 * itself keeps one connection per distributor and receiver thread, one for
 * the communicator, and one per API request, AXFR and pdnsutil run.
 *
 * idle_timeout and idle_above: pdns keeps its connections for its
 * lifetime, idle for hours at quiet times, and closing the communicator's
 * makes a primary or secondary pdns exit (its next write fails).  So idle
 * connections are closed only while more than idle_above are open, the
 * longest-idle first, and only as many as bring the count back to
 * idle_above.  Idle means: no complete request for idle_timeout seconds,
 * no open transaction, no deferred write running.  A partial line does not
 * count as activity.
 *
 * max_buffer: the bytes all connections together may hold in request
 * lines that are still arriving, beyond SERVER_IN_FREE each (so the input
 * side holds at most max_buffer + max_conns * SERVER_IN_FREE).  A line
 * that would pass it gets an error reply and its connection is closed;
 * pdns's own requests are far below SERVER_IN_FREE except a big
 * replaceRRSet or feedRecord.  The output side has backpressure (server.h
 * above), and a peer that reads no replies is idle in the sense below.
 */
#define SERVER_MAX_CONNS 1024
#define SERVER_IDLE_TIMEOUT 300 /* seconds */
#define SERVER_IDLE_ABOVE 64
#define SERVER_MAX_BUFFER (32u << 20)
#define SERVER_IN_FREE 65536 /* input bytes per connection not counted */

struct server_conn;

/* A stdio stream: a pipe or socket (what pdns passes), or a terminal (a
 * human trying requests by hand). */
typedef union server_stream {
	uv_handle_t handle;
	uv_stream_t stream;
	uv_pipe_t pipe;
	uv_tty_t tty;
} server_stream_t;

typedef struct server {
	uv_loop_t *loop;
	rb_t *rb;                  /* borrowed */
	log_t *log;                /* borrowed; set before server_start */
	uv_pipe_t listener;
	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t tick;           /* drops idle transactions (rb_conn_tick) */
	char path[108];            /* socket path (sun_path size) */
	int listening;             /* listener is open */
	int activated;             /* the listener came from systemd: the
				      path is not ours to remove */
	int stopping;              /* a signal arrived, or (stdio) the
				      connection ended */
	int stdio;                 /* serving stdin/stdout, not a socket */
	int failed;                /* stdio: the connection ended for another
				      reason than end of input or a signal */
	int restart;               /* stdio: SIGTERM asked for a re-exec at
				      the next idle point */
	server_stream_t sin, sout; /* stdio: the streams of the connection */
	struct server_conn *conns; /* open connections (for shutdown) */
	unsigned max_conns;        /* limits: set before server_start */
	unsigned idle_timeout;     /* seconds */
	unsigned idle_above;
	size_t max_buffer;         /* bytes */
	unsigned nconns;           /* connections open */
	uint64_t seq;              /* counts connects and requests (idle order) */
	size_t buffered;           /* input bytes counted against max_buffer */
	uint64_t refused_logged;   /* rb->conns_refused at the last log line */
	uint64_t refused_log_ms;   /* loop time of that line */
	uint64_t buffer_log_ms;    /* loop time of the last max_buffer line */
	struct {                   /* re-exec in place (socket: SIGHUP, stdio:
				      SIGTERM): set before server_start* */
		char *const *argv; /* NULL: no re-exec (above) */
		const char *exe;   /* the program file to execute */
		unsigned wait;     /* socket: seconds; 0 means SERVER_RX_WAIT */
		void (*release)(void *arg); /* before the exec: close the store */
		int (*restore)(void *arg);  /* the exec failed: reopen it; < 0
					       ends the daemon */
		void *arg;
		int state;         /* socket: 0, or waiting for transactions
				      (1), draining (2) */
		uint64_t until;    /* loop ms: end of the current phase */
		uv_timer_t timer;
	} rx;
	handover_t *ho;            /* borrowed; set before server_start* to
				      serve a handover (emptied); stdio: a
				      re-exec (its one connection is not
				      counted in conns_total again) */
	char rbuf[SERVER_READ_CHUNK]; /* shared read buffer: each read is
					 consumed inside its callback */
} server_t;

/*
 * With fd < 0, prepares the socket at path (srv's limit fields are kept;
 * zero ones get their defaults): refuses (-EADDRINUSE) when a live server
 * answers on it, replaces a stale socket file, refuses (-EEXIST) to touch a
 * path that is not a socket; binds with mode 0660, changes the group to
 * group (a name or number) when group is not NULL, listens.
 *
 * With fd >= 0 (socket activation: systemd's, already bound and listening,
 * with the mode and group of the .socket unit), checks that fd is a
 * listening unix stream socket (-ENOTSOCK otherwise) and serves it; path
 * and group are then only compared with it and logged.
 *
 * With srv->ho set (a re-exec, server.h above), serves its listener and
 * connections instead (fd, path and group are unused then), each one's
 * held input first; what server_start takes is set to -1 in srv->ho, what
 * it leaves there is the caller's to free.  When srv->ho has
 * no listener, it binds or adopts as above.
 *
 * Then installs the signal handlers and sends READY=1 to systemd (a no-op
 * without $NOTIFY_SOCKET).  Returns 0 or a negative error (errno or libuv
 * code); a failure has already been logged with its cause.
 */
int server_start(server_t *srv, uv_loop_t *loop, rb_t *rb, const char *path, const char *group,
		 int fd);

/*
 * Serves one connection on stdin and stdout instead of a socket (see
 * above).  First moves the two descriptors out of the way: the protocol
 * uses close-on-exec copies, fd 0 becomes /dev/null and fd 1 a copy of
 * stderr, so nothing else in the process can read a request or write into
 * the reply stream.  Each must be a pipe, a socket or a terminal; a regular
 * file or anything else is refused (-EINVAL, logged).  Then installs the
 * signal handlers and starts reading; sends nothing to systemd.  With
 * srv->ho set (a re-exec in place) the connection is pdns's old one on the
 * same pipes.  Returns 0 or a negative error (errno or libuv code), already
 * logged.
 */
int server_start_stdio(server_t *srv, uv_loop_t *loop, rb_t *rb);

/*
 * For --stdio, before anything is opened: forks the worker and returns 0
 * in it (it then serves, its parent dying kills it); the calling process
 * becomes the keeper and never returns.  The keeper replaces a worker
 * killed by a signal (answering for it or exiting 1 by its state word,
 * above), at most SERVER_KEEP_DEATHS times in SERVER_KEEP_WINDOW seconds
 * (then it gives up: exit 1), and exits with a worker's own exit status.
 * A process that is already a worker (restarted in place, see above: the
 * environment says so and names the state word's descriptor) maps the word
 * and returns 0 at once; so does one that cannot fork (it then serves
 * unkept, with a log line).  Without a state word (memfd_create failed,
 * logged) a worker's death is handled as IDLE.
 */
int server_keep(log_t *log);

#define SERVER_KEEP_DEATHS 5
#define SERVER_KEEP_WINDOW 10
#define SERVER_KEEP_ENV "KYEDNS_BACKEND_STDIO_WORKER" /* set in workers: the
							 state word's fd */
/* The state word a worker keeps for its keeper (above). */
#define SERVER_KEEP_IDLE 0    /* no request pending: nothing taken unanswered */
#define SERVER_KEEP_REQ 1     /* whole request lines taken, no reply byte out */
#define SERVER_KEEP_PARTIAL 2 /* a partial line held, or a reply partly out */
#define SERVER_KEEP_WRITE 3   /* handing every reply due to the kernel in one
				 write(2): most likely done (kept as IDLE) */

#endif
