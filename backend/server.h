/*
 * server - the unix-socket server of kyedns-backend: accepts pdns's
 * connections, frames newline-delimited requests, hands each line to the
 * protocol module (rb.h) and writes the replies back.
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
 * Lifecycle: server_start() binds and listens; SIGTERM or SIGINT stops
 * accepting, removes the socket file, lets every connection finish its
 * deferred request and flush its replies, closes it, and the loop ends, so
 * uv_run() returns and the daemon exits 0.
 */
#ifndef KYEDNS_SERVER_H
#define KYEDNS_SERVER_H

#include <uv.h>

#include "rb.h"

#define SERVER_READ_CHUNK 65536
#define SERVER_BACKLOG 4096
#define SERVER_TICK_MS 5000 /* how often idle transactions are looked for */

struct server_conn;

typedef struct server {
	uv_loop_t *loop;
	rb_t *rb;                  /* borrowed */
	uv_pipe_t listener;
	uv_signal_t sigterm, sigint;
	uv_timer_t tick;           /* drops idle transactions (rb_conn_tick) */
	char path[108];            /* socket path (sun_path size) */
	int listening;             /* listener is open (and path is ours) */
	int stopping;              /* a signal arrived */
	struct server_conn *conns; /* open connections (for shutdown) */
	char rbuf[SERVER_READ_CHUNK]; /* shared read buffer: each read is
					 consumed inside its callback */
} server_t;

/*
 * Prepares the socket at path: refuses (-EADDRINUSE) when a live server
 * answers on it, replaces a stale socket file, refuses (-EEXIST) to touch a
 * path that is not a socket; binds with mode 0660, changes the group to
 * group (a name or number) when group is not NULL, listens, and installs the
 * signal handlers.  Returns 0 or a negative error (errno or libuv code); a
 * failure has already been logged with its cause.
 */
int server_start(server_t *srv, uv_loop_t *loop, rb_t *rb, const char *path, const char *group);

/* Logs one line on stderr: "kyedns-backend: <message>". */
void server_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
