/*
 * handover - descriptors and unread input across a re-exec.  See handover.h.
 */
#include "handover.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

/* ---- the old image ---- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The unread input of every connection, in order, in one memfd
 * (FD_CLOEXEC still set); -1 in *fd when there is none. */
static int input_memfd(const handover_t *ho, int *fd)
{
	*fd = -1;
	size_t total = 0;
	for (unsigned i = 0; i < ho->nconns; i++)
		total += ho->conns[i].in_len;
	if (!total)
		return 0;
	int m = memfd_create("kyedns-handover", MFD_CLOEXEC);
	if (m < 0)
		return -errno;
	for (unsigned i = 0; i < ho->nconns; i++) {
		int rc = write_all(m, ho->conns[i].in, ho->conns[i].in_len);
		if (rc < 0) {
			close(m);
			return rc;
		}
	}
	*fd = m;
	return 0;
}

/* The variable's value (malloc'd), see handover.h. */
static char *encode(const handover_t *ho, int in_fd)
{
	size_t cap = 96 + (size_t)ho->nconns * 24, len;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	len = (size_t)snprintf(s, cap, "v1 listen=%d activated=%d log=%d in=%d conns=", ho->listen_fd,
			       ho->activated ? 1 : 0, ho->log_fd, in_fd);
	for (unsigned i = 0; i < ho->nconns; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%d:%zu", i ? "," : "",
					ho->conns[i].fd, ho->conns[i].in_len);
	return s;
}

/* Sets (on) or clears FD_CLOEXEC; -1 is skipped. */
static int set_cloexec(int fd, int on)
{
	if (fd < 0)
		return 0;
	int f = fcntl(fd, F_GETFD);
	if (f < 0)
		return -errno;
	f = on ? f | FD_CLOEXEC : f & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, f) < 0 ? -errno : 0;
}

/* Every descriptor the handover names, in one list: listen, log, in, conns. */
static void for_each_fd(const handover_t *ho, int in_fd, int on)
{
	set_cloexec(ho->listen_fd, on);
	set_cloexec(ho->log_fd, on);
	set_cloexec(in_fd, on);
	for (unsigned i = 0; i < ho->nconns; i++)
		set_cloexec(ho->conns[i].fd, on);
}

int handover_exec(const handover_t *ho, const char *path, char *const argv[])
{
	int in_fd, rc = input_memfd(ho, &in_fd);
	if (rc < 0)
		return rc;
	char *val = encode(ho, in_fd);
	if (!val) {
		if (in_fd >= 0)
			close(in_fd);
		return -ENOMEM;
	}
	rc = setenv(HANDOVER_ENV, val, 1) < 0 ? -errno : 0;
	free(val);
	if (rc == 0) {
		/* Every descriptor of the server is FD_CLOEXEC (libuv's and the
		 * store's), so exactly these cross. */
		for_each_fd(ho, in_fd, 0);
		execv(path, argv);
		rc = -errno;
		for_each_fd(ho, in_fd, 1);
		unsetenv(HANDOVER_ENV);
	}
	if (in_fd >= 0)
		close(in_fd);
	return rc;
}

/* ---- the new image ---- */

/* Parses a descriptor number >= 3 (0-2 are never handed over). */
static int parse_fd(const char *s, const char **end)
{
	char *e;
	errno = 0;
	long v = strtol(s, &e, 10);
	if (e == s || errno || v < 3 || v > (1 << 30))
		return -1;
	*end = e;
	return (int)v;
}

static int fd_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

static void note(handover_t *ho, const char *what)
{
	size_t n = strlen(ho->err);
	snprintf(ho->err + n, sizeof ho->err - n, "%s%s", n ? "; " : "", what);
}

/* Reads the connections' input from in_fd; a connection whose bytes are
 * missing is closed (the rest of its request would be misframed). */
static void read_inputs(handover_t *ho, int in_fd)
{
	struct stat st;
	off_t size = in_fd >= 0 && fstat(in_fd, &st) == 0 ? st.st_size : 0, off = 0;
	unsigned lost = 0;
	for (unsigned i = 0; i < ho->nconns; i++) {
		handover_conn_t *c = &ho->conns[i];
		size_t n = c->in_len;
		c->in_len = 0;
		if (!n)
			continue;
		char *p = off >= 0 && (off_t)n <= size - off ? malloc(n) : NULL;
		if (p && pread(in_fd, p, n, off) == (ssize_t)n) {
			c->in = p;
			c->in_len = n;
		} else {
			free(p);
			close(c->fd);
			c->fd = -1;
			lost++;
		}
		off += (off_t)n;
	}
	if (lost) {
		char buf[96];
		snprintf(buf, sizeof buf, "%u connections closed (their unread input is missing)",
			 lost);
		note(ho, buf);
	}
}

/* Parses "FD:LEN,FD:LEN,..." into ho->conns; stops at the first malformed
 * entry (what follows cannot be trusted). */
static void parse_conns(handover_t *ho, const char *s)
{
	size_t n = *s ? 1 : 0;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	if (n > HANDOVER_MAX_CONNS) {
		note(ho, "too many connections listed");
		return;
	}
	ho->conns = n ? calloc(n, sizeof *ho->conns) : NULL;
	if (n && !ho->conns) {
		note(ho, "out of memory");
		return;
	}
	const char *p = s;
	while (*p && ho->nconns < n) {
		const char *e;
		int fd = parse_fd(p, &e);
		char *e2;
		unsigned long long len = 0;
		if (fd < 0 || *e != ':' || (errno = 0, len = strtoull(e + 1, &e2, 10), errno) ||
		    e2 == e + 1 || (*e2 && *e2 != ',') || len > ((size_t)-1 >> 1)) {
			note(ho, "malformed connection list");
			return;
		}
		ho->conns[ho->nconns].fd = fd;
		ho->conns[ho->nconns].in_len = (size_t)len;
		ho->nconns++;
		p = *e2 ? e2 + 1 : e2;
	}
}

/* Closes and forgets descriptors that are not open, not of their kind, or
 * named twice. */
static void check_fds(handover_t *ho, int *in_fd)
{
	unsigned bad = 0;
	if (ho->listen_fd >= 0 && sd_is_socket_unix(ho->listen_fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
		if (fd_open(ho->listen_fd))
			close(ho->listen_fd);
		ho->listen_fd = -1;
		note(ho, "the listening socket is not one");
	}
	if (ho->log_fd >= 0 && (!fd_open(ho->log_fd) || ho->log_fd == ho->listen_fd)) {
		ho->log_fd = -1;
		note(ho, "the log file is not open");
	}
	if (*in_fd >= 0 && !fd_open(*in_fd))
		*in_fd = -1;
	for (unsigned i = 0; i < ho->nconns; i++) {
		handover_conn_t *c = &ho->conns[i];
		int dup = c->fd == ho->listen_fd || c->fd == ho->log_fd || c->fd == *in_fd;
		for (unsigned j = 0; j < i && !dup; j++)
			dup = ho->conns[j].fd == c->fd;
		if (!dup && sd_is_socket_unix(c->fd, SOCK_STREAM, 0, NULL, 0) > 0)
			continue;
		/* A duplicate belongs to its first mention: not closed here. */
		if (!dup && fd_open(c->fd))
			close(c->fd);
		c->fd = -1;
		bad++;
	}
	if (bad) {
		char buf[96];
		snprintf(buf, sizeof buf, "%u listed connections are no connected unix sockets", bad);
		note(ho, buf);
	}
}

int handover_take(handover_t *ho)
{
	memset(ho, 0, sizeof *ho);
	ho->listen_fd = ho->log_fd = -1;
	const char *env = getenv(HANDOVER_ENV);
	if (!env)
		return 0;
	char *val = strdup(env);
	unsetenv(HANDOVER_ENV);
	if (!val)
		return -ENOMEM;
	int in_fd = -1;
	char *save = NULL, *tok = strtok_r(val, " ", &save);
	if (!tok || strcmp(tok, "v1") != 0) {
		note(ho, "unknown format");
		free(val);
		return 1;
	}
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '=');
		const char *e = NULL;
		if (!eq) {
			note(ho, "malformed entry");
			continue;
		}
		*eq = 0;
		const char *v = eq + 1;
		if (!strcmp(tok, "conns")) {
			parse_conns(ho, v);
		} else if (!strcmp(tok, "activated")) {
			ho->activated = !strcmp(v, "1");
		} else if (!strcmp(tok, "listen") || !strcmp(tok, "log") || !strcmp(tok, "in")) {
			/* -1 is "none" */
			int fd = strcmp(v, "-1") ? parse_fd(v, &e) : -1;
			if (e && *e)
				fd = -1;
			if (fd < 0 && strcmp(v, "-1"))
				note(ho, "malformed descriptor");
			*(tok[1] == 'i' ? &ho->listen_fd : tok[1] == 'o' ? &ho->log_fd : &in_fd) = fd;
		} else {
			note(ho, "unknown entry");
		}
	}
	free(val);
	check_fds(ho, &in_fd);
	read_inputs(ho, in_fd);
	if (in_fd >= 0)
		close(in_fd);
	set_cloexec(ho->listen_fd, 1);
	set_cloexec(ho->log_fd, 1);
	for (unsigned i = 0; i < ho->nconns; i++)
		set_cloexec(ho->conns[i].fd, 1);
	return 1;
}

void handover_free(handover_t *ho)
{
	if (ho->listen_fd >= 0)
		close(ho->listen_fd);
	if (ho->log_fd >= 0)
		close(ho->log_fd);
	for (unsigned i = 0; i < ho->nconns; i++) {
		if (ho->conns[i].fd >= 0)
			close(ho->conns[i].fd);
		free(ho->conns[i].in);
	}
	free(ho->conns);
	memset(ho, 0, sizeof *ho);
	ho->listen_fd = ho->log_fd = -1;
}
