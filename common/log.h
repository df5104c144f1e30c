/*
 * log - one line per event, with a priority, for the daemons.
 *
 * A log_t belongs to its daemon (common/ keeps no globals); the daemon makes
 * one with log_init() and every message goes through log_printf().  Each
 * line is written with a single write(2), so lines of several threads never
 * interleave, and a message's own newlines become spaces: one event is one
 * line.
 *
 * Two shapes, chosen at log_init():
 *  - journald (stderr is the journal, as systemd says in $JOURNAL_STREAM):
 *    "<6>message" - the sd-daemon priority prefix, which journald turns into
 *    the entry's PRIORITY; the journal adds time and program itself.
 *  - anything else (a terminal, a file, docker's log driver):
 *    "2026-11-28T10:11:12.345Z info kyedns-updater[123]: message" -
 *    UTC time with milliseconds, the syslog level word, program and pid.
 * $KYEDNS_LOG_FORMAT=journal or =plain overrides the detection.
 *
 * Priorities are syslog's (LOG_ERR .. LOG_DEBUG from <syslog.h>).  Lines
 * with a priority above max_prio (less important) are dropped.
 *
 * Thread safety: log_printf() may be called from any thread; log_reopen()
 * only from the thread that owns the log_t, while no other thread logs
 * through a file being reopened is harmless (the old fd stays valid until
 * the new one is in place).
 */
#ifndef KYEDNS_LOG_H
#define KYEDNS_LOG_H

#include <stdarg.h>
#include <syslog.h>

#define LOG_MAX_LINE 2048 /* longer messages are cut, with "..." */

typedef struct log {
	const char *prog; /* program name, borrowed (a string literal) */
	int journald;     /* 1: "<p>msg" lines, no time */
	int max_prio;     /* LOG_ERR..LOG_DEBUG: lines above are dropped */
	int fd;           /* 2, or the log file */
	long pid;         /* getpid() at log_init (daemons do not fork later) */
	char path[512];   /* the log file, "" for stderr */
} log_t;

/*
 * Sets up lg for program prog writing to stderr (path NULL or "") or
 * appending to the file path (created 0640).  Returns 0, or a negative
 * errno when the file cannot be opened (lg then writes to stderr).
 */
int log_init(log_t *lg, const char *prog, const char *path, int max_prio);

/* Reopens the log file (after logrotate moved it): 0, or negative errno
 * (the old file stays in use).  A no-op for stderr. */
int log_reopen(log_t *lg);

/* Closes the log file, if any. */
void log_close(log_t *lg);

/* Writes one line at priority prio. */
void log_printf(log_t *lg, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_vprintf(log_t *lg, int prio, const char *fmt, va_list ap);

/* "error", "warning", "notice", "info", "debug" (also "err", "warn") to a
 * priority; -EINVAL for anything else. */
int log_level_parse(const char *s);

/* The level word of prio ("info"); "debug" above LOG_DEBUG. */
const char *log_level_name(int prio);

#endif
