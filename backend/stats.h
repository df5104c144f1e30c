/*
 * stats - the backend's statistics, shared by every process of the service.
 *
 * With pdns's pipe connector there is one kyedns-backend process per pdns
 * backend instance: one per distributor and receiver thread, one for the
 * communicator, and a short-lived one per API request and per pdnsutil
 * run (pdns SIGKILLs those right after their last reply).  The one asked
 * for "stats" or "metrics" must report the service, not itself.  So each
 * process counts into a slot of one file beside the store's data.mdb,
 * <dir>/backend-stats, which every process maps shared; the rb_stats_t
 * its rb_t counts into (rb->st) is simply its slot.  Counting costs what
 * it cost before: plain stores into memory only this process writes.
 *
 * A process owns its slot through an open-file-description lock on the
 * slot's bytes (F_OFD_SETLK); the kernel drops it when the process ends,
 * even by SIGKILL, or execs (the descriptor is close-on-exec).  A slot
 * keeps its counters from one owner to the next, so the counters summed
 * over all slots are service totals since the file was created and never
 * go backwards; the gauges (open connections and transactions) and the
 * start time count only for slots whose owner is alive now.  A process
 * that re-execs itself in place keeps its pid and gets its own slot back.
 * Liveness is the lock, never the pid, so it holds across PID namespaces
 * (pdns and the store's other processes may live in different ones).  A
 * child forked without exec would share the lock: fork before
 * rbstats_open (the --stdio keeper does), never after.
 *
 * The file is created 0660 with data.mdb's owner and group when it is
 * missing.  A file of another layout (an older build) is replaced by a new
 * one through rename(), never truncated in place, so processes that still
 * map the old one keep running (their counts are then lost to the totals).
 *
 * Threading: a process opens one rbstats_t and uses it from one thread.
 * Readers of other slots see whole 64-bit values (aligned stores), though
 * not one consistent snapshot across fields.
 */
#ifndef KYEDNS_STATS_H
#define KYEDNS_STATS_H

#include <stdint.h>

#include "rb.h"

#define RBSTATS_FILE  "backend-stats" /* in the store's directory */
#define RBSTATS_SLOTS 64              /* processes that can count at once */

typedef struct rbstats rbstats_t;

/*
 * Opens (creating it if missing) the stats file in directory dir and
 * claims a slot: the one this pid had before an exec, else any slot no
 * live process holds.  The slot keeps its counters; its gauges are zeroed
 * and its start time set to now.  On success *out is the handle (close
 * with rbstats_close) and *slot the rb_stats_t to count into (point
 * rb->st at it; valid until rbstats_close).  Returns 0, or -errno (-EBUSY:
 * every slot is held by a live process); the caller then keeps rb->own
 * and logs.
 */
int rbstats_open(rbstats_t **out, const char *dir, rb_stats_t **slot);

/* 1 when rbstats_open replaced a file of another layout (an older build's;
 * the counts it held are gone, which the caller logs), else 0. */
int rbstats_replaced(const rbstats_t *s);

/* Releases the slot (its counters stay in the file) and unmaps the file.
 * NULL is a no-op. */
void rbstats_close(rbstats_t *s);

/* What rbstats_sum reports besides the sums. */
typedef struct rbstats_info {
	unsigned processes;  /* slots held by a live process (this one included) */
	unsigned slots_used; /* slots ever claimed */
	unsigned slots;      /* RBSTATS_SLOTS */
	uint64_t created;    /* unix seconds the file was created */
} rbstats_info_t;

/*
 * Fills *sum with the service's statistics: every counter summed over all
 * slots (owners gone included), the gauges over the slots of live
 * processes, started the earliest start of a live process.  info may be
 * NULL.  Returns 0 (it reads only memory and lock state and cannot fail
 * short of a kernel error, -errno).
 */
int rbstats_sum(rbstats_t *s, rb_stats_t *sum, rbstats_info_t *info);

#endif
