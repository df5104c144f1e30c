/*
 * server - the updater daemon: libuv TCP listeners, connections, routing
 * of the endpoints (dyndns2, and the ACME DNS-01 shapes: txt= on the
 * dyndns2 endpoints, lego's httpreq, acme-dns), the decisions that need
 * the store (authentication through the hosts' named tokens, the account
 * rule, nochg), and the glue to the writer thread, the purge client,
 * limits and metrics.  A timer looks for expired ACME values and hands
 * their removal to the writer.
 *
 * Request flow: a connection parses one request at a time (http.c); read
 * paths (/ip, /health, nochg, every refusal) are answered at once on the
 * loop thread with one read txn that is renewed per request and reset
 * right after, so it never pins an old snapshot.  Updates that change
 * something become a writer job; the connection stops reading until its
 * job is committed and answered, which keeps pipelined answers in order.
 *
 * Threading: everything here runs on the loop thread, except the writer.
 */
#ifndef KYEDNS_SERVER_H
#define KYEDNS_SERVER_H

#include "addr.h"
#include "log.h"
#include "store.h"

#define SERVER_MAX_LISTEN 16
#define SERVER_MAX_TRUSTED 32

typedef struct server_config {
	const char *listen[SERVER_MAX_LISTEN]; /* "127.0.0.1:8080", "[::1]:8080" */
	unsigned nlisten;
	addr_cidr_t trusted[SERVER_MAX_TRUSTED]; /* proxies whose X-Forwarded-For counts */
	unsigned ntrusted;
	const char *pdns_api;     /* NULL: no purges */
	const char *pdns_api_key;
	const char *pdns_api_ca;  /* CA file for an https API; NULL: the system's */
	long pdns_dns_cache_s;    /* reuse the API host's addresses this long */
	unsigned max_conns;
	unsigned idle_timeout_ms;   /* between requests on a keep-alive connection */
	unsigned header_timeout_ms; /* from a request's first byte to its end */
	double rate, burst;         /* requests/s per client and burst; rate 0 = off */
	unsigned limit_slots;       /* entries of each abuse table */
	unsigned conns_per_client;  /* open connections per client address (IPv6: /64); 0 = off */
	double change_rate;         /* changes per minute per host; 0 = off */
	double change_burst;
	unsigned host_fails;        /* failed auths per host name per window, all clients; 0 = off */
	int allow_loopback;         /* loopback addresses may be published */
	unsigned history_size;      /* history entries kept per host; 0 = none */
	unsigned acme_lifetime;     /* seconds an ACME value lives unless cleaned up */
	unsigned acme_ttl;          /* TTL of the _acme-challenge TXT RRset */
	unsigned acme_gc_interval_ms; /* how often expired ACME values are looked for */
	int access_log;
	log_t *log;                 /* every line goes here; reopened on SIGHUP */
} server_config_t;

/*
 * Binds every listen address, tells systemd READY=1 (sd_notify; a no-op
 * without $NOTIFY_SOCKET), serves until SIGTERM or SIGINT (SIGHUP reopens
 * the log file), then says STOPPING=1, stops accepting, lets queued
 * updates commit and be answered, closes all connections and returns 0.  Returns a negative error when it cannot
 * start (the cause is logged).  store must stay open until it returns.
 */
int server_run(const server_config_t *cfg, store_t *store);

#endif
