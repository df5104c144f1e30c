/*
 * fuzz_backend - the backend's request path: line framing as the socket
 * server does it (server.c scan_lines: one request per '\n', blank lines
 * skipped) and rb_handle() on each line, over a fresh copy of a small
 * store (fuzz_store.h).  Deferred writes run at once on this thread, as
 * the worker would.  One input is one connection's byte stream, so
 * sequences reach transactions (startTransaction, feedRecord, commit),
 * metadata and the DNSSEC methods.
 *
 * Asserts: every request gets exactly one reply line, and that line is a
 * JSON object holding "result".
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_store.h"
#include "rb.h"

static void check_reply(const char *p, size_t len, const char *req, size_t rlen)
{
	json_error_t e;
	json_t *v = NULL;
	if (len == 0 || p[len - 1] != '\n' || memchr(p, '\n', len - 1) != NULL ||
	    (v = json_loadb(p, len - 1, 0, &e)) == NULL || !json_is_object(v) ||
	    !json_object_get(v, "result")) {
		fprintf(stderr, "bad reply %.*s\nto request %.*s\n", (int)len, p, (int)rlen,
			req);
		abort();
	}
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	store_t *s = fuzz_store_fresh(STORE_NOSYNC);
	rb_t rb;
	rb_conn_t conn = {0};
	rb_buf_t out = {0};
	rb_init(&rb, s);
	const char *p = (const char *)data;
	size_t off = 0;
	while (off < size) {
		const char *nl = memchr(p + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (p + off)) : size - off;
		const char *line = p + off;
		off += len + 1;
		size_t i = 0;
		while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
			i++;
		if (i == len)
			continue;
		rb_work_t work;
		size_t before = out.len;
		int rc = rb_handle(&rb, &conn, line, len, &out, &work);
		if (rc == RB_DEFER) {
			rb_work_run(&rb, &work);
			rc = rb_work_done(&rb, &work, &out);
		}
		if (rc < 0)
			abort(); /* -ENOMEM: not with inputs this small */
		check_reply(out.p + before, out.len - before, line, len);
		rb_buf_consume(&out, out.len);
	}
	/* An idle transaction is dropped; then the connection closes. */
	rb_conn_tick(&rb, &conn, rb_now_ns() / 1000000000u + rb.txn_timeout + 1);
	rb_conn_close(&rb, &conn);
	rb_buf_free(&out);
	rb_free(&rb);
	store_close(s);
	return 0;
}
