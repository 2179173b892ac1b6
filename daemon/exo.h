/*
 * InvokeCommand calls on behalf of a client: wait for a pool slot and a
 * token, POST, stream the records out as each page is parsed, follow
 * nextLink, and map errors.  Backpressure: the sink says when to pause.
 *
 * An exo_target is what one profile's calls share: its endpoints, its
 * token and pool, the hold a 429 puts on the whole profile, and the
 * counters that status and metrics show.
 */
#ifndef EXOD_EXO_H
#define EXOD_EXO_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "common/conf.h"
#include "common/wire.h"

struct event_base;
struct http;
struct pool;
struct token;
struct exo_target;
struct exo_call;

#define EXO_MAX_ERROR_BODY (64 * 1024)  /* bytes of an error body we look at */
#define EXO_CONNECT_TIMEOUT_MS 10000

struct exo_stats {
	unsigned long long requests;
	unsigned long long failures;
	unsigned long long records;
	unsigned long long pages;
	unsigned long long retries;
	unsigned long long throttled;
};

struct exo_target *exo_target_new(struct event_base *base, struct http *http, struct pool *pool,
				  struct token *token, const struct conf_profile *conf,
				  char *err, size_t errlen);
void exo_target_free(struct exo_target *t);
/* Reload: the same settings now live in another struct conf. */
/* Drops the headers kept for the current token (at sign-out: they hold it). */
void exo_target_forget_token(struct exo_target *t);
void exo_target_set_conf(struct exo_target *t, const struct conf_profile *conf);
void exo_target_stats(const struct exo_target *t, struct exo_stats *out);
/* scheme://host[:port] of the Exchange endpoint in use (compliance: the front door). */
const char *exo_target_origin(const struct exo_target *t);
/* Compliance: scheme://host[:port] of the regional host pinned, NULL before it is found. */
const char *exo_target_region_host(const struct exo_target *t);
/* The GUID the module sends as connection-id, one per daemon session. */
const char *exo_target_connection_id(const struct exo_target *t);
/* Milliseconds the profile is still held back by the service's throttling; 0 when not. */
long long exo_target_throttled_ms(const struct exo_target *t);
/* Holds the profile back for ms more, as a 429 does (one seen by another host). */
void exo_target_hold(struct exo_target *t, long long ms);
/* fn hears of every hold a 429 here puts on the profile, with its length (cluster.h). */
void exo_target_on_throttle(struct exo_target *t, void (*fn)(void *arg, long long ms), void *arg);

#define EXO_DEFAULT_RESULT_SIZE 1000   /* the module's ResultSize when none is given (§2.4) */
#define EXO_MAX_ACTION 32               /* bytes of an -ErrorAction / -WarningAction value */

/* What -ErrorAction or -WarningAction asks for the cmdlet's errors or warnings. */
enum exo_action {
	EXO_CONTINUE,                   /* shown, and the run goes on (the default) */
	EXO_SILENT,                     /* SilentlyContinue, Ignore: not shown, the run goes on */
	EXO_STOP,                       /* Stop: the first one ends the run */
};

/* One run: the cmdlet, its bound parameters, and the common parameters that shape the result. */
struct exo_request {
	const char *cmdlet;
	/* The bound Parameters object as compact JSON text (exo_codec_body); NULL: none. */
	const char *params;
	size_t params_len;
	yajl_val result_size;           /* -ResultSize as given (binder_result), or NULL */
	enum exo_action on_error;       /* for @adminapi.errors */
	enum exo_action on_warning;     /* for @adminapi.warnings */
	/* The values as given ("Stop"), sent as headers as other clients do; NULL: not given. */
	const char *error_action;
	const char *warning_action;
	int progress;                   /* the client wants progress reports (exo_sink.progress) */
};

struct exo_end {
	int ok;
	enum wire_error error;
	char message[1024];
	char upstream_code[64];         /* the service's error.code, "" if none */
	long http_status;               /* 0 when no answer */
	long retry_after;               /* seconds, for Throttled */
	unsigned long long count;       /* records delivered */
	unsigned long long errors;      /* non-terminating errors (@adminapi.errors), shown or not */
	/* Where and when, for Microsoft support: [Server=...,RequestId=...,TimeStamp=...]. */
	char request_id[128];           /* the service's request-id, "" when no answer named one */
	char server[64];                /* the back-end's short name, "" when unknown */
	char timestamp[32];             /* UTC, ISO 8601 */
};

/* Where a call stands, as a client's progress line shows it (doc/PROTOCOL.md, progress). */
enum exo_progress_state {
	EXO_PROGRESS_QUEUED,            /* waiting in the profile's pool queue */
	EXO_PROGRESS_SIGNING_IN,        /* waiting for the profile's token */
	EXO_PROGRESS_THROTTLED,         /* waiting out the service's Retry-After (or a 429's backoff) */
	EXO_PROGRESS_RETRYING,          /* backing off after a transient failure */
	EXO_PROGRESS_RUNNING,           /* upstream, or streaming pages */
};

struct exo_progress {
	enum exo_progress_state state;
	unsigned long long records;     /* delivered so far */
	unsigned long long pages;       /* parsed so far */
	int ahead;                      /* QUEUED: requests ahead in the queue */
	long long retry_in_ms;          /* THROTTLED, RETRYING: until the next try */
	int attempt;                    /* a retry of this call: which (1-based); 0: not one */
	int attempts;                   /* ... and the retry limit */
};

/* "queued", "signing_in", "throttled", "retrying", "running". */
const char *exo_progress_name(enum exo_progress_state s);

enum exo_sink_status {
	EXO_SINK_OK,
	EXO_SINK_FULL,                  /* taken, but hold further records until exo_call_resume */
	EXO_SINK_GONE,                  /* the client left: abort */
};

struct exo_sink {
	enum exo_sink_status (*record)(void *arg, const char *json, size_t len);
	enum exo_sink_status (*warning)(void *arg, const char *msg, size_t len);
	/* A non-terminating error of the cmdlet: one @adminapi.errors element, compact JSON. */
	enum exo_sink_status (*error)(void *arg, const char *json, size_t len, const char *request_id);
	/* The service's confirmation ("What if: ..."), as for -WhatIf. */
	enum exo_sink_status (*confirmation)(void *arg, const char *msg, size_t len);
	/* Called once, from the event loop; the call is freed after it returns. */
	void (*done)(void *arg, const struct exo_end *end);
	/*
	 * Only for a request with progress set: called, never inside
	 * exo_call_start or exo_call_cancel, whenever the call changes state
	 * (each page ends in one), and whenever a queued call moves up.
	 */
	void (*progress)(void *arg, const struct exo_progress *p);
};

/*
 * Starts a call: every step, the end included, happens later from the
 * event loop.  -1 with *end filled (and done never called) when the call
 * cannot even be queued (QueueFull, ...).
 */
int exo_call_start(struct exo_target *t, const struct exo_request *rq,
		   const struct exo_sink *sink, void *arg, struct exo_call **out,
		   struct exo_end *end);
void exo_call_resume(struct exo_call *c);
/* Aborts the call and its transfer; done is not called. */
void exo_call_cancel(struct exo_call *c);

#endif
