/*
 * log - priority-prefixed lines; see log.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",     [LOG_CRIT] = "crit",
	[LOG_ERR] = "error",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

const char *log_level_name(int prio)
{
	if (prio < LOG_EMERG || prio > LOG_DEBUG)
		return "debug";
	return level_names[prio];
}

int log_level_parse(const char *s)
{
	if (!s)
		return -EINVAL;
	for (int p = LOG_EMERG; p <= LOG_DEBUG; p++)
		if (strcmp(s, level_names[p]) == 0)
			return p;
	if (strcmp(s, "err") == 0)
		return LOG_ERR;
	if (strcmp(s, "warn") == 0)
		return LOG_WARNING;
	return -EINVAL;
}

/*
 * systemd sets JOURNAL_STREAM to "dev:ino" of the stream it connected to
 * stdout/stderr; the stream is ours only if stderr still is that file (a
 * child of a unit may have redirected it).
 */
static int stderr_is_journal(void)
{
	const char *force = getenv("KYEDNS_LOG_FORMAT");
	if (force && strcmp(force, "journal") == 0)
		return 1;
	if (force && strcmp(force, "plain") == 0)
		return 0;
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	return fd < 0 ? -errno : fd;
}

int log_init(log_t *lg, const char *prog, const char *path, int max_prio)
{
	memset(lg, 0, sizeof *lg);
	lg->prog = prog;
	lg->max_prio = max_prio;
	lg->fd = 2;
	lg->pid = (long)getpid();
	if (!path || !*path) {
		lg->journald = stderr_is_journal();
		return 0;
	}
	if (strlen(path) >= sizeof lg->path)
		return -ENAMETOOLONG;
	int fd = open_file(path);
	if (fd < 0) {
		lg->journald = stderr_is_journal();
		return fd;
	}
	snprintf(lg->path, sizeof lg->path, "%s", path);
	lg->fd = fd;
	lg->journald = 0;
	return 0;
}

int log_reopen(log_t *lg)
{
	if (!lg->path[0])
		return 0;
	int fd = open_file(lg->path);
	if (fd < 0)
		return fd;
	/* dup2 swaps the file under writers in other threads atomically. */
	if (dup2(fd, lg->fd) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	close(fd);
	return 0;
}

void log_close(log_t *lg)
{
	if (lg->fd > 2)
		close(lg->fd);
	lg->fd = 2;
	lg->path[0] = 0;
}

void log_vprintf(log_t *lg, int prio, const char *fmt, va_list ap)
{
	if (prio > lg->max_prio)
		return;
	if (prio < LOG_EMERG)
		prio = LOG_EMERG;
	char line[LOG_MAX_LINE + 128];
	size_t n;
	if (lg->journald) {
		n = (size_t)snprintf(line, sizeof line, "<%d>", prio);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = (size_t)snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s[%ld]: ",
				     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_level_name(prio),
				     lg->prog, lg->pid);
	}
	size_t start = n;
	int m = vsnprintf(line + n, LOG_MAX_LINE + 1, fmt, ap);
	if (m < 0)
		m = 0;
	if ((size_t)m > LOG_MAX_LINE) {
		n += LOG_MAX_LINE;
		memcpy(line + n - 3, "...", 3);
	} else {
		n += (size_t)m;
	}
	for (size_t i = start; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	/* One write per line; a short write to a pipe or file is finished,
	 * an error (a full disk, a closed journal) loses only this line. */
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(lg->fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

void log_printf(log_t *lg, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vprintf(lg, prio, fmt, ap);
	va_end(ap);
}
