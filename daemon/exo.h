/*
 * One InvokeCommand call on behalf of a client: wait for a pool slot and a
 * token, POST, stream the records out as each page is parsed, follow
 * nextLink, and map errors.  Backpressure: the sink says when to pause.
 */
#ifndef EXOD_EXO_H
#define EXOD_EXO_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "common/wire.h"

struct profile;
struct exo_call;

#define EXO_MAX_ERROR_BODY (64 * 1024)  /* bytes of an error body we look at */
#define EXO_CONNECT_TIMEOUT_MS 10000

struct exo_end {
	int ok;
	enum wire_error error;
	char message[1024];
	char upstream_code[64];         /* the service's error.code, "" if none */
	long http_status;               /* 0 when no answer */
	long retry_after;               /* seconds, for Throttled */
	unsigned long long count;
};

enum exo_sink_status {
	EXO_SINK_OK,
	EXO_SINK_FULL,                  /* taken, but hold further records until exo_call_resume */
	EXO_SINK_GONE,                  /* the client left: abort */
};

struct exo_sink {
	enum exo_sink_status (*record)(void *arg, const char *json, size_t len);
	enum exo_sink_status (*warning)(void *arg, const char *msg, size_t len);
	/* Called once; the call is freed after it returns. */
	void (*done)(void *arg, const struct exo_end *end);
};

/*
 * Starts a call: *out is set before any work, and sink->done may run
 * before this returns.  -1 with *end filled (and done not called) when
 * the call cannot even be queued (QueueFull, ...).
 */
int exo_call_start(struct profile *p, const char *cmdlet, const yajl_val params,
		   const struct exo_sink *sink, void *arg, struct exo_call **out,
		   struct exo_end *end);
void exo_call_resume(struct exo_call *c);
/* Aborts the call and its transfer; done is not called. */
void exo_call_cancel(struct exo_call *c);

#endif
