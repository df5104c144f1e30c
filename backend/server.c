/*
 * server - unix-socket and stdio server, framing, connections, signals.
 * See server.h.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "txn.h"

/* Stop parsing pipelined requests once this much output waits. */
#define OUT_HIGH_WATER (1u << 20)

typedef struct server_conn {
	uv_pipe_t pipe;          /* socket mode: the connection; pipe.data = this */
	uv_stream_t *rs, *ws;    /* the streams read and written: both &pipe,
				    or (stdio) &srv->sin and &srv->sout */
	unsigned handles;        /* handles not yet closed (on_close frees at 0) */
	server_t *srv;
	char *in;                /* unconsumed input: a partial line, or lines
				    held back while busy/writing */
	size_t in_len, in_cap;
	rb_buf_t out;            /* replies not yet handed to the kernel */
	rb_buf_t wbuf;           /* replies owned by the write in flight */
	uv_write_t wreq;
	uv_work_t work;          /* the deferred request */
	rb_work_t rbw;
	rb_conn_t rbc;           /* protocol state: the open transaction */
	uint64_t last_active;    /* loop ms of the last complete request */
	uint64_t last_seq;       /* srv->seq then: orders equal last_active */
	size_t in_acct;          /* bytes of in counted in srv->buffered */
	unsigned busy : 1;       /* a deferred request is running */
	unsigned writing : 1;    /* wreq is in flight */
	unsigned reading : 1;
	unsigned closing : 1;    /* close once busy and writing are done */
	unsigned closed : 1;     /* uv_close called */
	unsigned eof : 1;        /* the peer sent all it will send */
	struct server_conn *prev, *next;
} conn_t;

/* The worker's state word (server.h, the keeper), or NULL: not a kept
 * worker.  Only stdio's one connection sets it. */
static uint32_t *keep_word;

static inline void keep_set(uint32_t state)
{
	if (keep_word)
		__atomic_store_n(keep_word, state, __ATOMIC_SEQ_CST);
}

/* The state that the connection's fields say (server.h): a write in
 * flight or a partial line held is PARTIAL; a request running, a reply not
 * yet written or whole lines held is REQ. */
static void keep_settle(const struct server_conn *c);

static void pump(conn_t *c);
static void stop(server_t *srv, int prio, const char *why);
static void restart_point(conn_t *c);
/* Re-exec (socket: SIGHUP, stdio: SIGTERM), at the end of this file:
 * srv->rx.state. */
enum { RX_WAIT = 1, RX_DRAIN = 2 };
static void rx_begin(server_t *srv);
static void rx_adopt(server_t *srv);
static void rx_exec(server_t *srv);

/* The part of an input buffer of cap bytes that counts against max_buffer. */
static size_t in_counted(size_t cap)
{
	return cap > SERVER_IN_FREE ? cap - SERVER_IN_FREE : 0;
}

/* Frees the connection's input buffer and its share of the budget. */
static void in_release(conn_t *c)
{
	c->srv->buffered -= c->in_acct;
	c->in_acct = 0;
	free(c->in);
	c->in = NULL;
	c->in_cap = 0;
}

static void slog(server_t *srv, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void slog(server_t *srv, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vprintf(srv->log, prio, fmt, ap);
	va_end(ap);
}

/* ---- connections ---- */

static void on_close(uv_handle_t *h)
{
	conn_t *c = h->data;
	server_t *srv = c->srv;
	if (--c->handles)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->rb->st->conns_open--;
	srv->nconns--;
	rb_conn_close(srv->rb, &c->rbc); /* a closed connection aborts */
	in_release(c);
	rb_buf_free(&c->out);
	rb_buf_free(&c->wbuf);
	int eof = c->eof;
	free(c);
	/* stdio: the one connection is the process's reason to run */
	if (srv->stdio && !srv->stopping) {
		srv->failed = !eof;
		if (eof)
			stop(srv, LOG_DEBUG, "end of input"); /* pdns's normal goodbye */
		else
			stop(srv, LOG_NOTICE, "the connection failed");
	}
}

/* Closes the connection's handles (one, or stdio's two); on_close frees it
 * after the last. */
static void close_conn(conn_t *c)
{
	if (c->closed)
		return;
	c->closed = 1;
	if (c->reading) {
		uv_read_stop(c->rs);
		c->reading = 0;
	}
	c->handles = c->rs == c->ws ? 1 : 2;
	uv_close((uv_handle_t *)c->rs, on_close);
	if (c->ws != c->rs)
		uv_close((uv_handle_t *)c->ws, on_close);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	conn_t *c = h->data;
	(void)suggested;
	*buf = uv_buf_init(c->srv->rbuf, sizeof c->srv->rbuf);
}

/* Appends n bytes to the connection's input.  0, -ENOMEM, or -ENOBUFS when
 * the growth would pass the server's max_buffer. */
static int in_append(conn_t *c, const char *p, size_t n)
{
	if (c->in_cap - c->in_len < n) {
		server_t *srv = c->srv;
		size_t cap = c->in_cap ? c->in_cap : 4096;
		while (cap - c->in_len < n)
			cap *= 2;
		size_t acct = in_counted(cap);
		if (acct > c->in_acct && srv->buffered - c->in_acct + acct > srv->max_buffer)
			return -ENOBUFS;
		char *q = realloc(c->in, cap);
		if (!q)
			return -ENOMEM;
		c->in = q;
		c->in_cap = cap;
		srv->buffered = srv->buffered - c->in_acct + acct;
		c->in_acct = acct;
	}
	memcpy(c->in + c->in_len, p, n);
	c->in_len += n;
	return 0;
}

static void too_long(conn_t *c)
{
	slog(c->srv, LOG_WARNING, "closing connection (request line over %u bytes)", RB_MAX_LINE);
	rb_reply_too_long(c->srv->rb, &c->out);
	c->closing = 1;
}

static void drop(conn_t *c, const char *why)
{
	if (why)
		slog(c->srv, LOG_ERR, "dropping connection (%s)", why);
	c->out.len = 0;
	c->closing = 1;
}

/* Appends a literal reply to out; a failed growth only loses the reply. */
static void put_text(rb_buf_t *b, const char *text)
{
	size_t n = strlen(text);
	if (b->cap - b->len < n) {
		size_t cap = b->len + n;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, text, n);
	b->len += n;
}

/* A request line that would pass max_buffer: the connection gets an error
 * reply and is closed.  Logged at most once a second. */
static void over_budget(conn_t *c)
{
	server_t *srv = c->srv;
	uint64_t closed = ++srv->rb->st->conns_buffer_closed;
	uint64_t now = uv_now(srv->loop);
	if (now - srv->buffer_log_ms >= 1000 || closed == 1) {
		slog(srv, LOG_WARNING, "closing connection (request buffers full: %zu MiB held by "
		     "partial request lines, limit %zu MiB; %" PRIu64 " closed so far)",
		     srv->buffered >> 20, srv->max_buffer >> 20, closed);
		srv->buffer_log_ms = now;
	}
	in_release(c);
	c->in_len = 0;
	put_text(&c->out, "{\"result\":false,\"log\":[\"request dropped: the backend's "
			  "buffer for incoming requests is full\"]}\n");
	c->closing = 1;
}

static void work_cb(uv_work_t *w)
{
	conn_t *c = w->data;
	rb_work_run(c->srv->rb, &c->rbw);
}

static void after_work_cb(uv_work_t *w, int status)
{
	conn_t *c = w->data;
	(void)status; /* never cancelled: uv_cancel is not used */
	c->busy = 0;
	if (rb_work_done(c->srv->rb, &c->rbw, &c->out) < 0)
		drop(c, "out of memory");
	pump(c);
}

/*
 * Handles the complete lines in p[0..n); returns the bytes consumed.  Stops
 * early when a request is deferred, the connection is closing, or enough
 * output is waiting; *partial is set when it stopped only because the rest
 * holds no newline.
 */
static size_t scan_lines(conn_t *c, const char *p, size_t n, int *partial)
{
	size_t off = 0;
	*partial = 0;
	while (off < n) {
		if (c->busy || c->closing || c->out.len >= OUT_HIGH_WATER ||
		    c->srv->rx.state == RX_DRAIN)
			return off;
		const char *nl = memchr(p + off, '\n', n - off);
		if (!nl) {
			*partial = 1;
			return off;
		}
		size_t len = (size_t)(nl - (p + off));
		const char *line = p + off;
		off += len + 1;
		c->last_active = uv_now(c->srv->loop);
		c->last_seq = ++c->srv->seq;
		if (len > RB_MAX_LINE) {
			too_long(c);
			return n;
		}
		/* Blank lines (a human's stray Enter, "\r\n") are no requests. */
		size_t i = 0;
		while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
			i++;
		if (i == len)
			continue;
		int rc = rb_handle(c->srv->rb, &c->rbc, line, len, &c->out, &c->rbw);
		if (rc == RB_DEFER) {
			c->busy = 1;
			c->work.data = c;
			if (uv_queue_work(c->srv->loop, &c->work, work_cb, after_work_cb) < 0) {
				c->busy = 0;
				c->rbw.rc = -EAGAIN;
				rb_work_done(c->srv->rb, &c->rbw, &c->out);
			}
		} else if (rc < 0) {
			drop(c, "out of memory");
			return n;
		}
	}
	return off;
}

/* Handles lines held in c->in. */
static void scan_held(conn_t *c)
{
	if (!c->in_len)
		return;
	int partial;
	size_t used = scan_lines(c, c->in, c->in_len, &partial);
	if (used >= c->in_len) {
		c->in_len = 0;
	} else if (used) {
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
	}
	if (partial && c->in_len > RB_MAX_LINE) {
		c->in_len = 0;
		too_long(c);
	}
	/* A long line's buffer is not kept for the connection's lifetime. */
	if (!c->in_len && c->in_cap > SERVER_IN_FREE)
		in_release(c);
}

static void keep_settle(const conn_t *c)
{
	if (!keep_word)
		return;
	uint32_t st = SERVER_KEEP_IDLE;
	if (c->writing || (c->in_len && c->in[c->in_len - 1] != '\n'))
		st = SERVER_KEEP_PARTIAL;
	else if (c->busy || c->out.len || c->in_len)
		st = SERVER_KEEP_REQ;
	keep_set(st);
}

static void on_write(uv_write_t *req, int status)
{
	conn_t *c = req->data;
	c->writing = 0;
	keep_settle(c); /* first: the last byte went to the kernel */
	c->wbuf.len = 0;
	/* A big reply's buffer is not kept for the connection's lifetime. */
	if (c->wbuf.cap > 65536)
		rb_buf_free(&c->wbuf);
	if (status < 0 && !c->closing)
		drop(c, NULL); /* peer went away; nothing to report */
	pump(c);
}

/* Hands waiting output to the kernel: directly when it takes it all, else
 * through one uv_write that owns the rest. */
static void flush(conn_t *c)
{
	if (c->writing || !c->out.len || c->closed)
		return;
	uv_buf_t b = uv_buf_init(c->out.p, (unsigned)c->out.len);
	keep_set(SERVER_KEEP_WRITE); /* before any byte of a reply */
	int n = uv_try_write(c->ws, &b, 1);
	if (n == (int)c->out.len) {
		c->out.len = 0;
		keep_settle(c); /* at once: IDLE unless more waits */
		if (c->out.cap > OUT_HIGH_WATER)
			rb_buf_free(&c->out);
		return;
	}
	keep_set(SERVER_KEEP_PARTIAL); /* at once: the rest goes later */
	if (n < 0 && n != UV_EAGAIN) {
		drop(c, NULL);
		return;
	}
	if (n > 0)
		rb_buf_consume(&c->out, (size_t)n);
	/* The write owns wbuf until on_write; new replies go to out. */
	rb_buf_t t = c->wbuf;
	c->wbuf = c->out;
	c->out = t;
	c->out.len = 0;
	b = uv_buf_init(c->wbuf.p, (unsigned)c->wbuf.len);
	c->wreq.data = c;
	if (uv_write(&c->wreq, c->ws, &b, 1, on_write) < 0) {
		c->wbuf.len = 0;
		drop(c, NULL);
		return;
	}
	c->writing = 1;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/*
 * stdio, a restart pending: at an idle point (no request running or held,
 * every reply written, no transaction open) re-executes the program in
 * place (rx_exec puts the connection's descriptors back on 0 and 1 for
 * it).  Input pdns sends meanwhile waits in the pipe.  Returns only when
 * the exec failed (the connection is served on) or it is no idle point.
 */
static void restart_point(conn_t *c)
{
	if (c->busy || c->writing || c->out.len || c->in_len || c->eof || c->rbc.tx)
		return;
	rx_exec(c->srv);
}

/*
 * The one place that moves a connection forward: handles held input,
 * flushes, starts or stops reading, and closes when it is done.
 */
static void pump(conn_t *c)
{
	if (c->closed)
		return;
	/* Held lines are handled until they run out, a request is deferred,
	 * or a write is pending: a peer waiting for replies to what it has
	 * sent must never depend on sending more. */
	for (;;) {
		size_t before = c->in_len;
		/* with the output full, a scan makes no progress, yet a flush
		 * that empties it in one go makes room for the next pass */
		int full = c->out.len >= OUT_HIGH_WATER;
		if (!c->busy && !c->writing && !c->closing)
			scan_held(c);
		flush(c);
		if (c->busy || c->writing || c->closing || !c->in_len ||
		    (c->in_len == before && !full))
			break;
	}
	/* After the peer's end of input, every complete line it sent has
	 * been answered once nothing is running and none is left; a partial
	 * last line is no request. */
	if (c->eof && !c->busy && !c->writing && !c->closing &&
	    (!c->in_len || !memchr(c->in, '\n', c->in_len)))
		c->closing = 1;
	/* Output left after a flush means a write is in flight. */
	int want = !c->busy && !c->writing && !c->closing && !c->eof && !c->srv->stopping &&
		   c->srv->rx.state != RX_DRAIN;
	if (want && !c->reading) {
		if (uv_read_start(c->rs, on_alloc, on_read) == 0)
			c->reading = 1;
		else
			drop(c, NULL);
	} else if (!want && c->reading) {
		uv_read_stop(c->rs);
		c->reading = 0;
	}
	if (c->srv->restart && !c->closing && !c->srv->stopping) {
		restart_point(c); /* the exec failed: c serves on */
		if (c->closed)
			return;
	}
	keep_settle(c);
	if ((c->closing || c->srv->stopping) && !c->busy && !c->writing)
		close_conn(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	conn_t *c = s->data;
	if (nread == 0)
		return; /* EAGAIN */
	if (nread < 0) {
		/* EOF: answer what is complete (pump), then close; a
		 * half-closed peer (a script) still reads the replies. */
		c->reading = 0; /* libuv stopped reading */
		uv_read_stop(s);
		if (nread == UV_EOF) {
			c->eof = 1;
		} else {
			if (c->srv->stdio)
				slog(c->srv, LOG_ERR, "cannot read stdin (%s)", uv_strerror((int)nread));
			c->out.len = 0;
			c->closing = 1;
		}
		pump(c);
		return;
	}
	const char *p = buf->base;
	size_t n = (size_t)nread;
	/* First: bytes of a request are taken (the keeper, server.h). */
	keep_set(c->writing || p[n - 1] != '\n' ? SERVER_KEEP_PARTIAL : SERVER_KEEP_REQ);
	if (c->in_len == 0) {
		/* The common case: whole requests straight from the shared
		 * buffer, no copy. */
		int partial;
		size_t used = scan_lines(c, p, n, &partial);
		(void)partial; /* a read chunk is far below RB_MAX_LINE */
		p += used;
		n -= used;
	}
	if (n) {
		int rc = in_append(c, p, n);
		if (rc == -ENOBUFS)
			over_budget(c);
		else if (rc < 0)
			drop(c, "out of memory");
	}
	pump(c);
}

static void on_refused_close(uv_handle_t *h)
{
	free(h);
}

/* Over max_conns: accept (so the backlog does not fill) and close at once.
 * Logged at most once a second, with the count. */
static void refuse(server_t *srv, uv_stream_t *listener)
{
	uv_pipe_t *p = malloc(sizeof *p);
	if (!p)
		return;
	uv_pipe_init(srv->loop, p, 0);
	int rc = uv_accept(listener, (uv_stream_t *)p);
	uv_close((uv_handle_t *)p, on_refused_close);
	if (rc < 0)
		return;
	uint64_t refused = ++srv->rb->st->conns_refused;
	uint64_t now = uv_now(srv->loop);
	if (srv->refused_logged == 0 || now - srv->refused_log_ms >= 1000) {
		slog(srv, LOG_WARNING, "refusing connections (%u open, the limit; %" PRIu64
		     " refused so far)", srv->nconns, refused);
		srv->refused_logged = refused;
		srv->refused_log_ms = now;
	}
}

/* Links a connection (calloc'd, its handles initialised) into srv.  fresh:
 * a new connection of pdns's, counted in conns_total; 0 for one the image
 * before handed over (the stats slot kept its count, and its gauges were
 * zeroed: conns_open counts it again). */
static void conn_add(server_t *srv, conn_t *c, uv_stream_t *in, uv_stream_t *out, int fresh)
{
	c->srv = srv;
	c->rs = in;
	c->ws = out;
	in->data = out->data = c;
	c->next = srv->conns;
	if (c->next)
		c->next->prev = c;
	srv->conns = c;
	srv->rb->st->conns_open++;
	if (fresh)
		srv->rb->st->conns_total++;
	srv->nconns++;
	c->last_active = uv_now(srv->loop);
	c->last_seq = ++srv->seq;
}

static void on_connection(uv_stream_t *listener, int status)
{
	server_t *srv = listener->data;
	if (status < 0) {
		slog(srv, LOG_ERR, "cannot accept connection (%s)", uv_strerror(status));
		return;
	}
	if (srv->nconns >= srv->max_conns) {
		refuse(srv, listener);
		return;
	}
	conn_t *c = calloc(1, sizeof *c);
	if (!c) {
		slog(srv, LOG_ERR, "cannot accept connection (out of memory)");
		return;
	}
	uv_pipe_init(srv->loop, &c->pipe, 0);
	conn_add(srv, c, (uv_stream_t *)&c->pipe, (uv_stream_t *)&c->pipe, 1);
	int rc = uv_accept(listener, (uv_stream_t *)&c->pipe);
	if (rc < 0) {
		slog(srv, LOG_ERR, "cannot accept connection (%s)", uv_strerror(rc));
		c->closing = 1;
	}
	pump(c);
}

static int by_last_active(const void *a, const void *b)
{
	const conn_t *x = *(conn_t *const *)a, *y = *(conn_t *const *)b;
	return x->last_seq < y->last_seq ? -1 : x->last_seq > y->last_seq;
}

/* Above idle_above connections: closes the longest-idle ones (see
 * server.h), at most as many as bring the count back to idle_above. */
static void close_idle(server_t *srv)
{
	if (srv->nconns <= srv->idle_above)
		return;
	uint64_t now = uv_now(srv->loop), limit = (uint64_t)srv->idle_timeout * 1000;
	unsigned n = 0, open = 0;
	for (conn_t *c = srv->conns; c; c = c->next)
		if (!c->closing && !c->closed) {
			open++;
			n += !c->busy && !c->rbc.tx && now - c->last_active >= limit;
		}
	if (open <= srv->idle_above || n == 0)
		return;
	conn_t **idle = malloc(n * sizeof *idle);
	if (!idle)
		return;
	unsigned k = 0;
	for (conn_t *c = srv->conns; c; c = c->next)
		if (!c->closing && !c->closed && !c->busy && !c->rbc.tx &&
		    now - c->last_active >= limit)
			idle[k++] = c;
	qsort(idle, k, sizeof *idle, by_last_active);
	unsigned excess = open - srv->idle_above, closed = 0;
	for (unsigned i = 0; i < k && closed < excess; i++, closed++) {
		conn_t *c = idle[i];
		c->out.len = 0;
		c->closing = 1;
		if (c->writing) {
			/* a peer that reads nothing would hold it for ever; the
			 * write is cancelled (on_write runs before on_close) */
			close_conn(c);
		} else {
			pump(c); /* may free it: not touched again */
		}
	}
	free(idle);
	srv->rb->st->conns_idle_closed += closed;
	slog(srv, LOG_WARNING, "closed %u idle connections (idle %u s or more; %u were open, "
	     "above %u; %" PRIu64 " so far)", closed, srv->idle_timeout, open, srv->idle_above,
	     srv->rb->st->conns_idle_closed);
}

/* Drops transactions left idle by a pdns that went away without closing,
 * and idle connections above the threshold. */
static void on_tick(uv_timer_t *t)
{
	server_t *srv = t->data;
	uint64_t now = rb_now_ns() / 1000000000u;
	for (conn_t *c = srv->conns; c; c = c->next)
		if (!c->busy)
			rb_conn_tick(srv->rb, &c->rbc, now);
	close_idle(srv);
	/* a restart may have waited for a transaction the tick dropped */
	if (srv->restart && srv->conns)
		pump(srv->conns);
}

/* ---- signals and shutdown ---- */

static void stop(server_t *srv, int prio, const char *why)
{
	if (srv->stopping)
		return;
	srv->stopping = 1;
	/* A pipe process of pdns's may have pdns's $NOTIFY_SOCKET: never
	 * speak for pdns's unit. */
	if (!srv->stdio)
		sd_notify(0, "STOPPING=1");
	slog(srv, prio, "stopping (%s)", why);
	if (srv->listening) {
		/* A socket of systemd's stays bound and listening in systemd:
		 * closing our descriptor only stops our accepting. */
		uv_close((uv_handle_t *)&srv->listener, NULL);
		if (!srv->activated)
			unlink(srv->path);
		srv->listening = 0;
	}
	uv_close((uv_handle_t *)&srv->sigterm, NULL);
	uv_close((uv_handle_t *)&srv->sigint, NULL);
	uv_close((uv_handle_t *)&srv->sighup, NULL);
	uv_close((uv_handle_t *)&srv->tick, NULL);
	uv_close((uv_handle_t *)&srv->rx.timer, NULL);
	srv->rx.state = 0; /* held requests are answered before the close */
	conn_t *next;
	for (conn_t *c = srv->conns; c; c = next) {
		next = c->next; /* pump may close c (freed later, in on_close) */
		pump(c);
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	server_t *srv = h->data;
	if (signum == SIGTERM && srv->stdio && srv->rx.argv) {
		/* pdns 4.7 never relaunches a pipe process that ended between
		 * two calls: that backend instance fails every later call, and
		 * when it is the communicator's, pdns exits.  So the process
		 * lives on: the same pid and pipes, the program started anew. */
		if (srv->restart || srv->stopping)
			return;
		slog(srv, LOG_NOTICE, "restarting in place at the next idle point (sigterm)");
		srv->restart = 1;
		if (srv->conns)
			pump(srv->conns);
		return;
	}
	if (signum != SIGHUP) {
		stop(srv, LOG_NOTICE, signum == SIGTERM ? "sigterm" : "sigint");
		return;
	}
	if (srv->log->path[0]) {
		int rc = log_reopen(srv->log);
		if (rc < 0)
			slog(srv, LOG_ERR, "cannot reopen log file %s (%s); still writing the old one",
			     srv->log->path, strerror(-rc));
		else
			slog(srv, LOG_INFO, "reopened log file %s (sighup)", srv->log->path);
	}
	/* stdio: the one connection is pdns's; SIGTERM restarts it (above) */
	if (srv->rx.argv && !srv->stdio)
		rx_begin(srv);
}

/* ---- socket set-up ---- */

/* 1 when something accepts connections on path, 0 when not, < 0 on error. */
static int socket_alive(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	close(fd);
	if (rc == 0)
		return 1;
	if (e == ECONNREFUSED || e == ENOENT)
		return 0;
	return -e;
}

static int resolve_group(const char *group, gid_t *gid)
{
	struct group *g = getgrnam(group);
	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	char *end;
	unsigned long v = strtoul(group, &end, 10);
	if (*group && !*end) {
		*gid = (gid_t)v;
		return 0;
	}
	return -ENOENT;
}

/* Binds, sets mode and group, and listens on path (server_start, fd < 0). */
static int bind_path(server_t *srv, const char *path, const char *group)
{
	int rc;
	gid_t gid = 0;
	if (group && *group && resolve_group(group, &gid) < 0) {
		slog(srv, LOG_ERR, "cannot use socket group %s (no such group)", group);
		return -ENOENT;
	}

	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			slog(srv, LOG_ERR, "refusing to replace %s (not a socket)", path);
			return -EEXIST;
		}
		rc = socket_alive(path);
		if (rc == 1) {
			slog(srv, LOG_ERR, "refusing to start: socket %s is in use (another "
			     "backend is running)", path);
			return -EADDRINUSE;
		}
		if (rc < 0) {
			slog(srv, LOG_ERR, "cannot check socket %s (%s)", path, strerror(-rc));
			return rc;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			rc = -errno;
			slog(srv, LOG_ERR, "cannot remove stale socket %s (%s)", path,
			     strerror(errno));
			return rc;
		}
		slog(srv, LOG_NOTICE, "replaced stale socket %s", path);
	}

	/* Bind, set mode and group, and listen under a temporary name, then
	 * rename it into place: a client (or a test) that sees the path sees
	 * a socket that already has its final permissions and accepts. */
	char tmp[sizeof srv->path + 32];
	int n = snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	struct sockaddr_un sun;
	const char *bindpath = n > 0 && (size_t)n < sizeof sun.sun_path ? tmp : path;

	uv_pipe_init(srv->loop, &srv->listener, 0);
	srv->listener.data = srv;
	/* The umask makes the socket 0660 from the start: no window in which
	 * other users could connect. */
	mode_t old = umask(0117);
	rc = uv_pipe_bind(&srv->listener, bindpath);
	umask(old);
	if (rc < 0) {
		slog(srv, LOG_ERR, "cannot bind socket %s (%s)", bindpath, uv_strerror(rc));
		uv_close((uv_handle_t *)&srv->listener, NULL);
		return rc;
	}
	srv->listening = 1;
	if (chmod(bindpath, 0660) < 0 ||
	    (group && *group && chown(bindpath, (uid_t)-1, gid) < 0)) {
		rc = -errno;
		slog(srv, LOG_ERR, "cannot set mode or group of socket %s (%s)", path,
		     strerror(errno));
		goto fail;
	}
	rc = uv_listen((uv_stream_t *)&srv->listener, SERVER_BACKLOG, on_connection);
	if (rc < 0) {
		slog(srv, LOG_ERR, "cannot listen on socket %s (%s)", path, uv_strerror(rc));
		goto fail;
	}
	if (bindpath != path && rename(bindpath, path) < 0) {
		rc = -errno;
		slog(srv, LOG_ERR, "cannot move socket into place at %s (%s)", path,
		     strerror(errno));
		goto fail;
	}
	return 0;
fail:
	uv_close((uv_handle_t *)&srv->listener, NULL);
	unlink(bindpath);
	srv->listening = 0;
	return rc;
}

static void start_handles(server_t *srv);

/* Serves the listening socket fd that systemd passed (server_start). */
static int adopt_fd(server_t *srv, int fd, const char *path)
{
	int rc = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);
	if (rc <= 0) {
		slog(srv, LOG_ERR, "cannot use the socket systemd passed (fd %d: %s)", fd,
		     rc < 0 ? strerror(-rc) : "not a listening unix stream socket");
		return rc < 0 ? rc : -ENOTSOCK;
	}
	/* Its path, for the log lines; an abstract or unnamed socket has none
	 * to compare. */
	struct sockaddr_un sun;
	socklen_t len = sizeof sun;
	memset(&sun, 0, sizeof sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == 0 &&
	    len > offsetof(struct sockaddr_un, sun_path) && sun.sun_path[0]) {
		snprintf(srv->path, sizeof srv->path, "%.*s", (int)sizeof sun.sun_path,
			 sun.sun_path);
		if (strcmp(srv->path, path) != 0)
			slog(srv, LOG_WARNING, "the socket systemd passed is %s, not --socket %s "
			     "(pdns must connect to %s)", srv->path, path, srv->path);
	}
	uv_pipe_init(srv->loop, &srv->listener, 0);
	srv->listener.data = srv;
	rc = uv_pipe_open(&srv->listener, fd);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv->listener, SERVER_BACKLOG, on_connection);
	if (rc < 0) {
		slog(srv, LOG_ERR, "cannot listen on the socket systemd passed (%s)",
		     uv_strerror(rc));
		uv_close((uv_handle_t *)&srv->listener, NULL);
		return rc;
	}
	srv->listening = 1;
	srv->activated = 1;
	return 0;
}

int server_start(server_t *srv, uv_loop_t *loop, rb_t *rb, const char *path, const char *group,
		 int fd)
{
	int rc;
	srv->loop = loop;
	srv->rb = rb;
	srv->conns = NULL;
	srv->stopping = srv->listening = srv->activated = 0;
	srv->nconns = 0;
	srv->buffered = 0;
	if (!srv->max_conns)
		srv->max_conns = SERVER_MAX_CONNS;
	if (!srv->idle_timeout)
		srv->idle_timeout = SERVER_IDLE_TIMEOUT;
	if (!srv->idle_above)
		srv->idle_above = SERVER_IDLE_ABOVE;
	if (!srv->max_buffer)
		srv->max_buffer = SERVER_MAX_BUFFER;
	if (strlen(path) >= sizeof srv->path) {
		slog(srv, LOG_ERR, "cannot use socket %s (path longer than %zu bytes)", path,
		     sizeof srv->path - 1);
		return -ENAMETOOLONG;
	}
	strcpy(srv->path, path);
	srv->rx.state = 0;
	if (srv->ho)
		rx_adopt(srv);
	if (srv->listening)
		rc = 0;
	else
		rc = fd >= 0 ? adopt_fd(srv, fd, path) : bind_path(srv, path, group);
	if (rc < 0)
		return rc;
	start_handles(srv);
	/* The socket accepts: pdns may start (Type=notify orders it after us
	 * when the .socket unit is not used). */
	sd_notifyf(0, "READY=1\nSTATUS=serving %s\nMAINPID=%ld", srv->path, (long)getpid());
	return 0;
}

/* Installs the signal handlers and the tick timer. */
static void start_handles(server_t *srv)
{
	uv_loop_t *loop = srv->loop;
	uv_signal_init(loop, &srv->sigterm);
	uv_signal_init(loop, &srv->sigint);
	uv_signal_init(loop, &srv->sighup);
	srv->sigterm.data = srv->sigint.data = srv->sighup.data = srv;
	uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
	uv_signal_start(&srv->sigint, on_signal, SIGINT);
	uv_signal_start(&srv->sighup, on_signal, SIGHUP);
	uv_timer_init(loop, &srv->tick);
	srv->tick.data = srv;
	uv_timer_start(&srv->tick, on_tick, SERVER_TICK_MS, SERVER_TICK_MS);
	uv_timer_init(loop, &srv->rx.timer);
	srv->rx.timer.data = srv;
}

/* Moves fd (0 or 1) to a close-on-exec descriptor of its own and puts
 * over it the descriptor repl (opened as needed).  Returns the new
 * descriptor or -errno. */
static int move_fd(int fd, int repl)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	if (repl < 0 || dup2(repl, fd) < 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, fd) < 0) {
			int e = errno;
			if (null >= 0)
				close(null);
			close(nfd);
			return -e;
		}
		close(null);
	}
	return nfd;
}

/* Opens one stdio stream on fd into st; output: written, not read. */
static int open_stream(server_t *srv, server_stream_t *st, int fd, int output)
{
	const char *what = output ? "stdout" : "stdin";
	int rc;
	uv_handle_type t = uv_guess_handle(fd);
	switch (t) {
	case UV_FILE: /* writes to a file never wait; reads would need polling */
		if (!output)
			goto refuse;
		/* fall through */
	case UV_NAMED_PIPE: /* a pipe or a unix socket */
	case UV_TCP:
		uv_pipe_init(srv->loop, &st->pipe, 0);
		rc = uv_pipe_open(&st->pipe, fd);
		break;
	case UV_TTY:
		rc = uv_tty_init(srv->loop, &st->tty, fd, 0);
		break;
	default:
	refuse:
		slog(srv, LOG_ERR, "cannot serve on %s (it is %s; --stdio speaks to pdns's pipe "
		     "connector over pipes, or to a terminal)", what,
		     t == UV_FILE ? "a regular file or device" : "not a pipe, socket or terminal");
		return -EINVAL;
	}
	if (rc < 0) {
		slog(srv, LOG_ERR, "cannot serve on %s (%s)", what, uv_strerror(rc));
		uv_close(&st->handle, NULL);
	}
	return rc;
}

int server_start_stdio(server_t *srv, uv_loop_t *loop, rb_t *rb)
{
	srv->loop = loop;
	srv->rb = rb;
	srv->conns = NULL;
	srv->stopping = srv->listening = srv->activated = 0;
	srv->stdio = 1;
	srv->failed = srv->restart = 0;
	srv->rx.state = 0;
	srv->nconns = 0;
	srv->buffered = 0;
	srv->max_conns = 1;
	if (!srv->idle_timeout)
		srv->idle_timeout = SERVER_IDLE_TIMEOUT;
	srv->idle_above = 1; /* the one connection is never idle-closed */
	if (!srv->max_buffer)
		srv->max_buffer = SERVER_MAX_BUFFER;
	snprintf(srv->path, sizeof srv->path, "stdin/stdout");

	int in = move_fd(0, -1);
	int out = in < 0 ? in : move_fd(1, 2);
	if (in < 0 || out < 0) {
		int rc = in < 0 ? in : out;
		slog(srv, LOG_ERR, "cannot take over stdin and stdout (%s)", strerror(-rc));
		return rc;
	}
	conn_t *c = calloc(1, sizeof *c);
	if (!c) {
		slog(srv, LOG_ERR, "cannot serve on stdin (out of memory)");
		return -ENOMEM;
	}
	int rc = open_stream(srv, &srv->sin, in, 0);
	if (rc == 0) {
		rc = open_stream(srv, &srv->sout, out, 1);
		if (rc < 0)
			uv_close(&srv->sin.handle, NULL);
	}
	if (rc < 0) {
		free(c);
		return rc;
	}
	conn_add(srv, c, &srv->sin.stream, &srv->sout.stream, !srv->ho);
	start_handles(srv);
	pump(c);
	return 0;
}

/* ---- the keeper (stdio) ---- */

/* In a new worker: dies with the keeper, marks itself with the state
 * word's descriptor (a restart in place then keeps it a worker and maps
 * the word again) and takes back the caller's signal mask. */
static int worker_start(log_t *log, pid_t keeper, const sigset_t *old, int mfd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != keeper)
		_exit(1); /* the keeper died before the line above */
	log->pid = (long)getpid();
	char mark[16];
	snprintf(mark, sizeof mark, "%d", mfd);
	setenv(SERVER_KEEP_ENV, mark, 1);
	sigprocmask(SIG_SETMASK, old, NULL);
	return 0;
}

/* The word of a state file descriptor, mapped shared; NULL on failure. */
static uint32_t *keep_map(int fd)
{
	void *p = mmap(NULL, sizeof(uint32_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* The state word in a memfd that a worker inherits, across its re-exec
 * too (no close-on-exec); -1 when there is none. */
static int keep_memfd(log_t *log, uint32_t **word)
{
	int fd = memfd_create("kyedns-keeper", 0);
	if (fd >= 0 && fd < 3) { /* never on stdin, stdout or stderr */
		int nfd = fcntl(fd, F_DUPFD, 3);
		close(fd);
		fd = nfd;
	}
	if (fd < 0 || ftruncate(fd, sizeof(uint32_t)) < 0 || !(*word = keep_map(fd))) {
		log_printf(log, LOG_WARNING, "cannot share a state word with the worker (%s); a "
			   "worker that dies inside a request is not answered for", strerror(errno));
		if (fd >= 0)
			close(fd);
		*word = NULL;
		return -1;
	}
	return fd;
}

/* The keeper answers pdns's pending request for a worker that died. */
static int keep_fail_reply(int sig)
{
	char msg[160];
	int n = snprintf(msg, sizeof msg, "{\"result\":false,\"log\":[\"kyedns-backend: the "
			 "worker serving this request died (signal %d)\"]}\n", sig);
	ssize_t w;
	do
		w = write(1, msg, (size_t)n); /* below PIPE_BUF: all or nothing */
	while (w < 0 && errno == EINTR);
	return w == n ? 0 : -1;
}

int server_keep(log_t *log)
{
	const char *mark = getenv(SERVER_KEEP_ENV);
	if (mark && *mark) {
		/* a worker restarted in place: its keeper is alive */
		char *end;
		long fd = strtol(mark, &end, 10);
		/* only a memfd (seals): never a file the mark names by mistake */
		if (!*end && fd >= 3 && fd <= INT32_MAX && fcntl((int)fd, F_GET_SEALS) >= 0)
			keep_word = keep_map((int)fd);
		return 0;
	}
	sigset_t set, old, mask;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked from before the fork: the keeper takes them with
	 * sigwaitinfo, and none is lost between fork and wait.  SIGPIPE too:
	 * a failure reply to a pdns that went away fails with EPIPE. */
	signal(SIGCHLD, SIG_DFL);
	mask = set;
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, &old);
	uint32_t *word;
	int mfd = keep_memfd(log, &word);
	pid_t keeper = getpid();
	time_t window = 0;
	unsigned deaths = 0;
	int st = 0;
	for (;;) {
		if (word)
			__atomic_store_n(word, SERVER_KEEP_IDLE, __ATOMIC_SEQ_CST);
		pid_t pid = fork();
		if (pid == 0) {
			keep_word = word;
			return worker_start(log, keeper, &old, mfd);
		}
		if (pid < 0) {
			log_printf(log, LOG_WARNING, "cannot start a worker (%s); serving without a "
				   "keeper", strerror(errno));
			if (word)
				munmap(word, sizeof *word);
			if (mfd >= 0)
				close(mfd);
			sigprocmask(SIG_SETMASK, &old, NULL);
			return 0;
		}
		for (;;) {
			int sig = sigwaitinfo(&set, NULL);
			if (sig < 0)
				continue; /* EINTR */
			if (sig != SIGCHLD) {
				kill(pid, sig); /* the worker decides (server.h) */
				continue;
			}
			pid_t w = waitpid(pid, &st, WNOHANG);
			if (w == 0)
				continue;
			if (w < 0)
				_exit(1);
			if (WIFEXITED(st))
				_exit(WEXITSTATUS(st));
			break; /* killed by a signal */
		}
		int sig = WTERMSIG(st);
		uint32_t state = word ? __atomic_load_n(word, __ATOMIC_SEQ_CST) : SERVER_KEEP_IDLE;
		time_t now = time(NULL);
		if (now - window >= SERVER_KEEP_WINDOW) {
			window = now;
			deaths = 0;
		}
		if (++deaths > SERVER_KEEP_DEATHS) {
			log_printf(log, LOG_ERR, "worker died %u times in %d s; giving up", deaths,
				   SERVER_KEEP_WINDOW);
			_exit(1);
		}
		if (state == SERVER_KEEP_REQ) {
			log_printf(log, LOG_ERR, "worker %ld died inside a request (signal %d, %s); "
				   "failing that request and starting another", (long)pid, sig,
				   strsignal(sig));
			if (keep_fail_reply(sig) < 0) {
				log_printf(log, LOG_ERR, "cannot answer pdns (%s); exiting",
					   strerror(errno));
				_exit(1);
			}
		} else if (state == SERVER_KEEP_WRITE) {
			/* killed around the write(2) of a whole reply: after it
			 * most likely (the write wakes pdns, which may run first),
			 * so pdns has its reply (server.h) */
			log_printf(log, LOG_ERR, "worker %ld died handing over a reply (signal %d, "
				   "%s); starting another", (long)pid, sig, strsignal(sig));
		} else if (state != SERVER_KEEP_IDLE) {
			/* part of a request or reply went through: the stream
			 * cannot be resumed; closing it fails pdns's pending read
			 * and pdns starts a new process */
			log_printf(log, LOG_ERR, "worker %ld died in the middle of a request or reply "
				   "(signal %d, %s); exiting so that pdns starts anew", (long)pid,
				   sig, strsignal(sig));
			_exit(1);
		} else {
			log_printf(log, LOG_ERR, "worker %ld died (signal %d, %s); starting another",
				   (long)pid, sig, strsignal(sig));
		}
	}
}

/* ---- re-exec (socket: SIGHUP, stdio: SIGTERM; server.h) ---- */

static unsigned open_txns(server_t *srv)
{
	unsigned n = 0;
	for (conn_t *c = srv->conns; c; c = c->next)
		n += !c->closed && c->rbc.tx != NULL;
	return n;
}

static void pump_all(server_t *srv)
{
	conn_t *next;
	for (conn_t *c = srv->conns; c; c = next) {
		next = c->next;
		pump(c);
	}
}

static void rx_end(server_t *srv)
{
	srv->rx.state = 0;
	uv_timer_stop(&srv->rx.timer);
	sd_notifyf(0, "READY=1\nSTATUS=serving %s", srv->path);
	pump_all(srv); /* reading again, held requests first */
}

/* "new binary" when the file at path is not the running image: an upgrade. */
static const char *which_binary(const char *path)
{
	struct stat a, b;
	if (stat(path, &a) < 0)
		return "binary missing";
	if (stat("/proc/self/exe", &b) < 0)
		return "binary unknown";
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino ? "same binary" : "new binary";
}

/* stdio, after a failed exec: fd 0 back on /dev/null and fd 1 on stderr
 * (as server_start_stdio left them), so that nothing else reads a request
 * or writes into the replies. */
static void stdio_park(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		close(null);
	}
	dup2(2, 1);
}

/* Everything is quiet: hands over and execs, in both modes; returns only
 * when the exec failed, serving on.  Socket mode hands over the listener
 * and every connection with its unread input; stdio mode puts its one
 * connection back on fds 0 and 1 (restart_point found no unread input)
 * and hands over only the log file. */
static void rx_exec(server_t *srv)
{
	handover_t ho = {.listen_fd = -1, .log_fd = -1, .activated = srv->activated};
	uv_os_fd_t fd, out;
	if (srv->listening && uv_fileno((uv_handle_t *)&srv->listener, &fd) == 0)
		ho.listen_fd = fd;
	if (srv->log->path[0])
		ho.log_fd = srv->log->fd;
	if (srv->stdio) {
		if (uv_fileno(&srv->sin.handle, &fd) < 0 || uv_fileno(&srv->sout.handle, &out) < 0 ||
		    dup2(fd, 0) < 0 || dup2(out, 1) < 0) {
			slog(srv, LOG_ERR, "cannot restart in place (%s); serving on", strerror(errno));
			stdio_park();
			srv->restart = 0;
			return;
		}
	} else if (!(ho.conns = calloc(srv->nconns ? srv->nconns : 1, sizeof *ho.conns))) {
		slog(srv, LOG_ERR, "cannot re-execute (out of memory); serving on");
		rx_end(srv);
		return;
	}
	size_t bytes = 0;
	for (conn_t *c = srv->conns; c && !srv->stdio; c = c->next) {
		if (c->closed || c->closing || ho.nconns == srv->nconns ||
		    uv_fileno((uv_handle_t *)c->rs, &fd) < 0)
			continue;
		if (c->rbc.tx) {
			/* It lives in this process's memory only; pdns's next
			 * call in it fails, nothing of it was written. */
			slog(srv, LOG_WARNING, "aborting transaction %" PRId64 " of zone id %" PRIu32
			     " (still open after %u s; re-executing)", c->rbc.tx->trxid,
			     c->rbc.tx->zone_id, srv->rx.wait);
			rb_conn_close(srv->rb, &c->rbc);
		}
		ho.conns[ho.nconns++] = (handover_conn_t){fd, c->in, c->in_len};
		bytes += c->in_len;
	}
	const char *exe = srv->rx.exe;
	if (srv->stdio)
		slog(srv, LOG_DEBUG, "re-executing %s (%s)", exe, which_binary(exe));
	else
		slog(srv, LOG_NOTICE, "re-executing %s (%s; keeping %u connections, %zu bytes of "
		     "requests not yet handled)", exe, which_binary(exe), ho.nconns, bytes);
	if (srv->rx.release)
		srv->rx.release(srv->rx.arg);
	/* The new image installs its handlers only once it runs: until then
	 * a signal waits (the mask and pending signals survive execve). */
	sigset_t sigs, old;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	int rc = handover_exec(&ho, exe, srv->rx.argv);
	if (strcmp(exe, "/proc/self/exe") != 0) {
		/* The file is gone or broken: the running image still is one. */
		slog(srv, LOG_ERR, "cannot execute %s (%s); re-executing the running image", exe,
		     strerror(-rc));
		rc = handover_exec(&ho, "/proc/self/exe", srv->rx.argv);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(ho.conns);
	slog(srv, LOG_ERR, "cannot re-execute (%s); serving on", strerror(-rc));
	if (srv->rx.restore && srv->rx.restore(srv->rx.arg) < 0) {
		slog(srv, LOG_ERR, "exiting (the store cannot be reopened after a failed re-exec)");
		exit(1);
	}
	if (srv->stdio) {
		stdio_park();
		srv->restart = 0; /* the caller's pump goes on serving */
		return;
	}
	rx_end(srv);
}

static void rx_poll(uv_timer_t *t)
{
	server_t *srv = t->data;
	uint64_t now = uv_now(srv->loop);
	if (srv->rx.state == RX_WAIT) {
		if (open_txns(srv) && now < srv->rx.until) {
			/* a transaction takes a while: no need to look often */
			if (uv_timer_get_repeat(t) != SERVER_RX_WAIT_POLL_MS)
				uv_timer_start(t, rx_poll, SERVER_RX_WAIT_POLL_MS,
					       SERVER_RX_WAIT_POLL_MS);
			return;
		}
		srv->rx.state = RX_DRAIN;
		srv->rx.until = now + SERVER_RX_FLUSH_MS;
		uv_timer_start(t, rx_poll, SERVER_RX_POLL_MS, SERVER_RX_POLL_MS);
		pump_all(srv); /* stops reading; requests in flight go on */
	}
	unsigned busy = 0, writing = 0;
	for (conn_t *c = srv->conns; c; c = c->next)
		if (!c->closed) {
			busy += c->busy;
			writing += c->writing || c->out.len;
		}
	if ((busy || writing) && now < srv->rx.until)
		return;
	if (writing) {
		/* pdns reads its replies; a peer that does not would hold the
		 * reload for ever.  Its write is cancelled (as close_idle). */
		slog(srv, LOG_WARNING, "closing %u connections whose replies are not read "
		     "(re-executing)", writing);
		for (conn_t *c = srv->conns; c; c = c->next)
			if (!c->closed && !c->busy && (c->writing || c->out.len)) {
				c->out.len = 0;
				c->closing = 1;
				close_conn(c);
			}
	}
	if (busy)
		return; /* a store write runs: it ends, the exec waits for it */
	rx_exec(srv);
}

static void rx_begin(server_t *srv)
{
	if (srv->rx.state) {
		slog(srv, LOG_NOTICE, "re-exec already under way (sighup ignored)");
		return;
	}
	if (!srv->rx.wait)
		srv->rx.wait = SERVER_RX_WAIT;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nSTATUS=re-executing\nMONOTONIC_USEC=%" PRIu64,
		   (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	srv->rx.state = RX_WAIT;
	srv->rx.until = uv_now(srv->loop) + (uint64_t)srv->rx.wait * 1000;
	unsigned n = open_txns(srv);
	if (n)
		slog(srv, LOG_NOTICE, "re-executing once %u open transactions end (at most %u s)",
		     n, srv->rx.wait);
	uv_timer_start(&srv->rx.timer, rx_poll, 0, SERVER_RX_POLL_MS);
}

/* server_start with srv->ho: serves the listener and connections of the
 * image before; what cannot be served is closed, with a log line. */
static void rx_adopt(server_t *srv)
{
	handover_t *ho = srv->ho;
	int rc;
	if (ho->listen_fd >= 0) {
		uv_pipe_init(srv->loop, &srv->listener, 0);
		srv->listener.data = srv;
		rc = uv_pipe_open(&srv->listener, ho->listen_fd);
		if (rc == 0)
			rc = uv_listen((uv_stream_t *)&srv->listener, SERVER_BACKLOG, on_connection);
		if (rc < 0) {
			slog(srv, LOG_ERR, "cannot listen on the socket handed over (%s); binding anew",
			     uv_strerror(rc));
			uv_close((uv_handle_t *)&srv->listener, NULL); /* closes the fd */
		} else {
			/* A socket of our own keeps --socket as its path (it was
			 * bound under a temporary name); systemd's is named by
			 * the kernel. */
			struct sockaddr_un sun;
			socklen_t len = sizeof sun;
			memset(&sun, 0, sizeof sun);
			if (ho->activated &&
			    getsockname(ho->listen_fd, (struct sockaddr *)&sun, &len) == 0 &&
			    len > offsetof(struct sockaddr_un, sun_path) && sun.sun_path[0])
				snprintf(srv->path, sizeof srv->path, "%.*s",
					 (int)sizeof sun.sun_path, sun.sun_path);
			srv->listening = 1;
			srv->activated = ho->activated;
		}
		ho->listen_fd = -1;
	}
	unsigned lost = 0;
	for (unsigned i = 0; i < ho->nconns; i++) {
		handover_conn_t *h = &ho->conns[i];
		if (h->fd < 0)
			continue;
		conn_t *c = calloc(1, sizeof *c);
		if (!c) {
			lost++;
			continue; /* handover_free closes it */
		}
		uv_pipe_init(srv->loop, &c->pipe, 0);
		conn_add(srv, c, (uv_stream_t *)&c->pipe, (uv_stream_t *)&c->pipe, 0);
		rc = uv_pipe_open(&c->pipe, h->fd);
		if (rc == 0)
			h->fd = -1; /* the pipe owns it */
		if (rc < 0 || (h->in_len && in_append(c, h->in, h->in_len) < 0)) {
			lost++;
			c->closing = 1;
		}
		pump(c);
	}
	if (lost)
		slog(srv, LOG_ERR, "closed %u connections handed over (out of memory or not a "
		     "socket)", lost);
}
