/*
 * InvokeCommand calls: slot, token, request, streamed pages, errors.  A
 * Security & Compliance profile's first page goes to the regional host
 * region.c finds and pins (its comment lists the protocol facts).
 */
#include "daemon/exo.h"

#include <assert.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "common/utf8.h"
#include "common/sbuf.h"
#include "daemon/b64.h"
#include "daemon/clock.h"
#include "daemon/cloud.h"
#include "daemon/exo_codec.h"
#include "daemon/http.h"
#include "daemon/jwt.h"
#include "daemon/pool.h"
#include "daemon/readonly.h"
#include "daemon/region.h"
#include "daemon/rnd.h"
#include "daemon/token.h"

#define EXO_MAX_CLAIMS 4096             /* bytes of a CAE claims challenge, base64 */
#define EXO_MAX_RETRIES 4               /* tries after the first, for one page */
#define EXO_RETRY_BASE_MS 1000          /* backoff: base * 2^n, jittered, capped */
#define EXO_RETRY_MAX_MS 30000
#define EXO_MAX_RETRY_AFTER 120         /* seconds: a longer Retry-After goes back to the client */
#define EXO_BEARER_MAX (JWT_MAX_TOKEN + 16)
#define EXO_MAX_RESULT_TEXT 20          /* digits of a ResultSize given as text */
#define EXO_MAX_MOVES 1                 /* times one call follows its tenant to a new region */
/* The well-known system mailbox other REST clients anchor app-only calls on (exo-protocol.md §2.3). */
#define EXO_APP_ANCHOR "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"

struct exo_target {
	struct event_base *base;
	struct http *http;
	struct pool *pool;
	struct token *token;
	const struct conf_profile *conf;
	char connection_id[RND_UUID_LEN + 1];
	char *origin;                   /* https://host[:port]; compliance: the front door */
	char *invoke_url;               /* origin/adminapi/beta/<tenant>/InvokeCommand */
	struct http_url *invoke_parsed; /* the same, parsed once */
	unsigned long long reuse_key;   /* its InvokeCommand requests set the same options */
	struct region *region;          /* compliance: the regional host; NULL for Exchange */
	char *anchor;                   /* X-AnchorMailbox for app-only calls */
	long long throttled_until;      /* clock_ms(): a 429 holds back the whole profile */
	struct http_headers *lines;     /* every InvokeCommand's headers for one token (a secret) */
	unsigned lines_gen;             /* that token's generation */
	void (*on_throttle)(void *arg, long long ms);   /* told of each such hold; NULL: nobody */
	void *on_throttle_arg;
	struct exo_stats stats;
};

/* Where a call is; exo_set_state is the only writer. */
enum exo_state {
	EXO_QUEUED,                     /* waiting for a pool slot */
	EXO_WAIT_TOKEN,                 /* holding a slot, waiting for a token */
	EXO_TRANSFER,                   /* a page is being fetched */
	EXO_WAIT_SINK,                  /* a page is done; the next waits until the client drains */
	EXO_WAIT_RETRY,                 /* waiting out a backoff, Retry-After or the profile's hold */
	EXO_DISCOVER,                   /* compliance: waiting for the regional host to be found */
	EXO_DONE,                       /* finished: done has been called */
};

struct exo_call {
	struct exo_target *t;
	enum exo_state state;
	const struct exo_sink *sink;
	void *arg;
	char cmdlet[WIRE_MAX_CMDLET + 1];
	struct sbuf *body;              /* parameters may be passwords */
	struct pool_job *job;
	struct token_wait *wait;
	struct http_xfer *xfer;
	struct exo_parser *parser;
	char *page_url;                 /* the page being fetched; NULL: the first */
	char *first_url;                /* where the first page went (the pin may change since) */
	struct region_wait *rwait;      /* in EXO_DISCOVER */
	unsigned region_gen;            /* the regional pin the first page was sent to */
	int moves;                      /* followed, up to EXO_MAX_MOVES */
	char *next_link;                /* what that page said comes next */
	struct event retry;             /* a backoff or Retry-After wait (in the call: no allocation) */
	enum exo_progress_state waiting; /* in EXO_WAIT_RETRY: throttled or retrying */
	long long wait_ms;              /* ... and for how long */
	int ahead;                      /* in EXO_QUEUED: requests ahead in the pool's queue */
	int retries;                    /* for the current page */
	int reads;                      /* the cmdlet only reads: safe to send again */
	int pages;                      /* fetched so far, for the page cap */
	unsigned long long page_records;
	char *claims;                   /* a CAE challenge to answer */
	unsigned gen;                   /* the token generation sent */
	int retried_401;
	int progress;                   /* the client wants sink->progress */
	int want_pause;                 /* the sink is full: deliver nothing more */
	int sink_gone;
	long long result_size;          /* records the run may return; -1: Unlimited */
	char *paging_warning;           /* this page's "more results" warning, held until we know */
	enum exo_action on_error, on_warning;
	char error_action[EXO_MAX_ACTION + 1];     /* header values, "" when not given */
	char warning_action[EXO_MAX_ACTION + 1];
	int stopped;                    /* -ErrorAction/-WarningAction Stop ended the parse */
	struct event deadline;          /* the whole run's time limit */
	long long deadline_at;          /* clock_ms(), 0 until the first request is sent */
	char *errbody;                  /* the body of a non-200 answer */
	size_t errbody_len;
	struct exo_end end;
};

/*
 * Cmdlets the module gives longer than request_timeout: their own limit,
 * in seconds (exo-protocol.md §3.4).
 */
static const struct {
	const char *cmdlet;
	int seconds;
} exo_slow_cmdlets[] = {
	{ "Get-DistributionGroupMember", 3600 },
	{ "Import-TransportRuleCollection", 3600 },
	{ "Set-OrganizationConfig", 1800 },
	{ "Set-UnifiedGroup", 3600 },
	{ "Update-DistributionGroupMember", 3600 },
	{ "Update-RoleGroupMember", 1800 },
};

static void exo_fetch(struct exo_call *c);
static void exo_fail_run_time(struct exo_call *c);

/* ---- the target ---- */

static const char *exo_tenant(const struct conf_profile *c)
{
	return c->delegated_organization != NULL ? c->delegated_organization : c->organization;
}

/* The service's name, in messages. */
static const char *exo_service(const struct exo_target *t)
{
	return t->region != NULL ? "Security & Compliance" : "Exchange Online";
}

/* scheme://host[:port] of a URI: the module's ConnectionUri may carry /powershell-liveid/. */
static char *exo_origin(const char *uri)
{
	const char *host = strstr(uri, "://");
	size_t n = host != NULL ? (size_t)(host + 3 - uri) + strcspn(host + 3, "/?#") : strlen(uri);

	return strndup(uri, n);
}

/* Where the profile's requests start: Exchange's host, or Security & Compliance's front door. */
static const char *exo_base_uri(const struct conf_profile *c)
{
	const struct cloud *cl = cloud_get(c->environment);

	if (c->connection_uri != NULL)
		return c->connection_uri;
	if (c->service == CONF_SERVICE_COMPLIANCE && cl->compliance != NULL)
		return cl->compliance->frontdoor_uri;
	return cl->exchange_uri;
}

static int exo_target_urls(struct exo_target *t)
{
	const struct conf_profile *c = t->conf;
	const char *tenant = exo_tenant(c);

	t->origin = exo_origin(exo_base_uri(c));
	if (t->origin == NULL || tenant == NULL)
		return -1;
	if (asprintf(&t->invoke_url, "%s/adminapi/beta/%s/InvokeCommand", t->origin, tenant) < 0) {
		t->invoke_url = NULL;
		return -1;
	}
	if ((t->invoke_parsed = http_url_new(t->invoke_url)) == NULL)
		return -1;
	t->reuse_key = http_reuse_key();
	/* The organization's anchor; exo_headers prefers the signed-in user's mailbox. */
	if (asprintf(&t->anchor, "UPN:%s@%s", EXO_APP_ANCHOR, tenant) < 0) {
		t->anchor = NULL;
		return -1;
	}
	return 0;
}

struct exo_target *exo_target_new(struct event_base *base, struct http *http, struct pool *pool,
				  struct token *token, const struct conf_profile *conf,
				  char *err, size_t errlen)
{
	struct exo_target *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->base = base;
	t->http = http;
	t->pool = pool;
	t->token = token;
	t->conf = conf;
	if (rnd_uuid(t->connection_id) < 0) {
		snprintf(err, errlen, "no randomness for a connection id");
		goto fail;
	}
	if (exo_target_urls(t) < 0) {
		snprintf(err, errlen, "profile %s: organization is required", conf->name);
		goto fail;
	}
	if (conf->service == CONF_SERVICE_COMPLIANCE &&
	    (t->region = region_new(http, conf, t->origin, exo_tenant(conf), err, errlen)) == NULL)
		goto fail;
	return t;
fail:
	exo_target_free(t);
	return NULL;
}

void exo_target_free(struct exo_target *t)
{
	if (t == NULL)
		return;
	free(t->origin);
	free(t->invoke_url);
	http_url_free(t->invoke_parsed);
	free(t->anchor);
	region_free(t->region);
	exo_target_forget_token(t);
	free(t);
}

void exo_target_forget_token(struct exo_target *t)
{
	/* Transfers still running hold their own reference. */
	http_headers_free(t->lines);
	t->lines = NULL;
}

void exo_target_set_conf(struct exo_target *t, const struct conf_profile *conf)
{
	t->conf = conf;
	exo_target_forget_token(t);     /* page_size is in the lines */
	if (t->region != NULL)
		region_set_conf(t->region, conf);
}

void exo_target_stats(const struct exo_target *t, struct exo_stats *out)
{
	*out = t->stats;
}

const char *exo_target_origin(const struct exo_target *t)
{
	return t->origin;
}

const char *exo_target_region_host(const struct exo_target *t)
{
	return t->region != NULL ? region_host(t->region) : NULL;
}

const char *exo_target_connection_id(const struct exo_target *t)
{
	return t->connection_id;
}

long long exo_target_throttled_ms(const struct exo_target *t)
{
	long long left = t->throttled_until - clock_ms();

	return left > 0 ? left : 0;
}

void exo_target_hold(struct exo_target *t, long long ms)
{
	long long until = clock_ms() + ms;

	if (until > t->throttled_until)
		t->throttled_until = until;
}

void exo_target_on_throttle(struct exo_target *t, void (*fn)(void *arg, long long ms), void *arg)
{
	t->on_throttle = fn;
	t->on_throttle_arg = arg;
}

/* ---- the call's states ---- */

const char *exo_progress_name(enum exo_progress_state s)
{
	static const char *const names[] = {
		[EXO_PROGRESS_QUEUED] = "queued",
		[EXO_PROGRESS_SIGNING_IN] = "signing_in",
		[EXO_PROGRESS_THROTTLED] = "throttled",
		[EXO_PROGRESS_RETRYING] = "retrying",
		[EXO_PROGRESS_RUNNING] = "running",
	};

	return names[s];
}

/* Where the call stands, for a client that asked to be told: the sink decides what to send. */
static void exo_report(const struct exo_call *c)
{
	struct exo_progress p = {
		.records = c->end.count,
		.pages = (unsigned long long)c->pages,
	};

	if (!c->progress)
		return;
	switch (c->state) {
	case EXO_QUEUED:
		p.state = EXO_PROGRESS_QUEUED;
		p.ahead = c->ahead;
		break;
	case EXO_WAIT_TOKEN:
		p.state = EXO_PROGRESS_SIGNING_IN;
		break;
	case EXO_WAIT_RETRY:
		p.state = c->waiting;
		p.retry_in_ms = c->wait_ms;
		/* The page is being tried again: which try of how many. */
		if (c->retries > 0) {
			p.attempt = c->retries;
			p.attempts = EXO_MAX_RETRIES;
		}
		break;
	default:
		p.state = EXO_PROGRESS_RUNNING;
		break;
	}
	c->sink->progress(c->arg, &p);
}

static void exo_set_state(struct exo_call *c, enum exo_state to)
{
	/* Which states each state may move to (bit n: state n). */
	static const unsigned allowed[] = {
		[EXO_QUEUED] = 1u << EXO_WAIT_TOKEN | 1u << EXO_TRANSFER | 1u << EXO_WAIT_RETRY |
			       1u << EXO_DISCOVER | 1u << EXO_DONE,
		[EXO_WAIT_TOKEN] = 1u << EXO_TRANSFER | 1u << EXO_DISCOVER | 1u << EXO_DONE,
		[EXO_TRANSFER] = 1u << EXO_TRANSFER | 1u << EXO_WAIT_TOKEN | 1u << EXO_WAIT_SINK |
				 1u << EXO_WAIT_RETRY | 1u << EXO_DISCOVER | 1u << EXO_DONE,
		[EXO_WAIT_SINK] = 1u << EXO_TRANSFER | 1u << EXO_WAIT_TOKEN | 1u << EXO_WAIT_RETRY |
				  1u << EXO_DONE,
		[EXO_WAIT_RETRY] = 1u << EXO_TRANSFER | 1u << EXO_WAIT_TOKEN | 1u << EXO_WAIT_RETRY |
				   1u << EXO_DISCOVER | 1u << EXO_DONE,
		/* Found (or not): the page is sent, the token renewed, a failure waited out. */
		[EXO_DISCOVER] = 1u << EXO_TRANSFER | 1u << EXO_WAIT_TOKEN | 1u << EXO_WAIT_RETRY |
				 1u << EXO_DISCOVER | 1u << EXO_DONE,
		[EXO_DONE] = 0,
	};

	assert(allowed[c->state] & (1u << to));
	c->state = to;
	if (to != EXO_DONE)
		exo_report(c);
}

/* When it ended: the time of every error, as the module's TimeStamp= shows it. */
static void exo_stamp(struct exo_end *end)
{
	time_t now = time(NULL);
	struct tm tm;

	if (end->timestamp[0] == '\0' && gmtime_r(&now, &tm) != NULL)
		strftime(end->timestamp, sizeof(end->timestamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The request id and back-end of the answer at hand (X-CalculatedBETarget up to its first dot). */
static void exo_name_request(struct exo_call *c, const struct http_result *res)
{
	if (res->request_id[0] != '\0')
		utf8_copy(c->end.request_id, sizeof(c->end.request_id), res->request_id,
			  strlen(res->request_id));
	if (res->server[0] != '\0')
		utf8_copy(c->end.server, sizeof(c->end.server), res->server, strcspn(res->server, "."));
}

/* Ends the call: counted, its resources released, and the sink told, once. */
static void exo_finish(struct exo_call *c)
{
	const struct exo_sink *sink = c->sink;
	void *arg = c->arg;
	struct exo_end end;

	/*
	 * Non-terminating errors make the whole run a failure, after its
	 * records (§3.1), unless -ErrorAction SilentlyContinue asked to go on.
	 */
	if (c->end.ok && c->end.errors > 0 && c->on_error != EXO_SILENT) {
		c->end.ok = 0;
		c->end.error = WIRE_E_UPSTREAM;
		snprintf(c->end.message, sizeof(c->end.message),
			 "%s reported %llu error%s; %llu record%s returned",
			 c->cmdlet, c->end.errors, c->end.errors == 1 ? "" : "s", c->end.count,
			 c->end.count == 1 ? " was" : "s were");
	}
	if (!c->end.ok)
		exo_stamp(&c->end);
	end = c->end;

	exo_set_state(c, EXO_DONE);
	if (end.ok)
		c->t->stats.records += end.count;
	else
		c->t->stats.failures++;
	exo_call_cancel(c);
	sink->done(arg, &end);
}

static void exo_fail(struct exo_call *c, enum wire_error e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void exo_fail(struct exo_call *c, enum wire_error e, const char *fmt, ...)
{
	va_list ap;

	c->end.ok = 0;
	c->end.error = e;
	va_start(ap, fmt);
	/* clang-tidy 14 misreads glibc's va_list after va_start. */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	vsnprintf(c->end.message, sizeof(c->end.message), fmt, ap);
	va_end(ap);
	exo_finish(c);
}

/* ---- a page coming in ---- */

static int exo_on_record(void *arg, const char *json, size_t len)
{
	struct exo_call *c = arg;

	c->end.count++;
	c->page_records++;
	switch (c->sink->record(c->arg, json, len)) {
	case EXO_SINK_OK:
		return 0;
	case EXO_SINK_FULL:
		c->want_pause = 1;
		return 0;
	case EXO_SINK_GONE:
		break;
	}
	c->sink_gone = 1;
	return 1;
}

/* What a sink said about something delivered: 1 when the client has gone. */
static int exo_sink_said(struct exo_call *c, enum exo_sink_status st)
{
	if (st == EXO_SINK_GONE) {
		c->sink_gone = 1;
		return 1;
	}
	if (st == EXO_SINK_FULL)
		c->want_pause = 1;
	return 0;
}

/*
 * -ErrorAction/-WarningAction Stop: PowerShell turns the first error or
 * warning into a terminating error with this text.  The parse stops; the
 * transfer ends as aborted and exo_on_done ends the run with it.
 */
static int exo_stop(struct exo_call *c, const char *preference, const char *msg)
{
	c->stopped = 1;
	c->end.ok = 0;
	c->end.error = WIRE_E_UPSTREAM;
	snprintf(c->end.message, sizeof(c->end.message), "The running command stopped because "
		 "the preference variable \"%s\" or common parameter is set to Stop: %s",
		 preference, msg);
	return 1;
}

static int exo_on_warning(void *arg, const char *msg, size_t len, int paging)
{
	struct exo_call *c = arg;

	if (c->on_warning == EXO_SILENT)
		return 0;
	/* Held until the page ends: shown only if exod does not fetch the rest (§3.2). */
	if (paging) {
		free(c->paging_warning);
		c->paging_warning = strndup(msg, len);
		return c->paging_warning == NULL;
	}
	if (c->on_warning == EXO_STOP)
		return exo_stop(c, "WarningPreference", msg);
	return exo_sink_said(c, c->sink->warning(c->arg, msg, len));
}

static int exo_on_error(void *arg, const char *json, size_t len)
{
	struct exo_call *c = arg;
	const char *rid = c->xfer != NULL ? http_xfer_headers(c->xfer)->request_id : "";
	struct exo_error e;
	int rc;

	c->end.errors++;
	if (c->on_error == EXO_SILENT)
		return 0;
	if (c->on_error != EXO_STOP)
		return exo_sink_said(c, c->sink->error(c->arg, json, len, rid));
	exo_codec_cmdlet_error(json, len, &e);
	rc = exo_stop(c, "ErrorActionPreference",
		      e.message != NULL ? e.message : "(the service gave no text)");
	if (e.code != NULL)
		snprintf(c->end.upstream_code, sizeof(c->end.upstream_code), "%s", e.code);
	exo_error_clear(&e);
	return rc;
}

static int exo_on_confirmation(void *arg, const char *msg, size_t len)
{
	struct exo_call *c = arg;

	return exo_sink_said(c, c->sink->confirmation(c->arg, msg, len));
}

static int exo_on_next_link(void *arg, const char *url, size_t len)
{
	struct exo_call *c = arg;

	free(c->next_link);
	c->next_link = strndup(url, len);
	return c->next_link == NULL;
}

static const struct exo_parser_cbs exo_parser_cbs = {
	.record = exo_on_record,
	.warning = exo_on_warning,
	.error = exo_on_error,
	.confirmation = exo_on_confirmation,
	.next_link = exo_on_next_link,
};

static enum http_data_status exo_on_data(void *arg, const char *data, size_t len)
{
	struct exo_call *c = arg;
	long status = http_xfer_status(c->xfer);

	if (status != 200) {
		size_t room = EXO_MAX_ERROR_BODY - c->errbody_len;
		char *grown;

		if (len > room)
			len = room;
		grown = realloc(c->errbody, c->errbody_len + len + 1);
		if (grown == NULL)
			return HTTP_DATA_ABORT;
		memcpy(grown + c->errbody_len, data, len);
		c->errbody = grown;
		c->errbody_len += len;
		return HTTP_DATA_OK;
	}
	/* Held chunks stay with libcurl, so memory does not grow with a slow reader. */
	if (c->want_pause)
		return HTTP_DATA_PAUSE;
	if (exo_parser_feed(c->parser, data, len) < 0)
		return HTTP_DATA_ABORT;
	return HTTP_DATA_OK;
}

/* The claims of a CAE challenge: WWW-Authenticate: Bearer ..., error="insufficient_claims", claims="<base64>". */
static char *exo_claims(const char *www)
{
	const char *p = strstr(www, "claims=\"");
	unsigned char *out;
	size_t n, len;

	if (p == NULL || strstr(www, "insufficient_claims") == NULL)
		return NULL;
	p += strlen("claims=\"");
	n = strcspn(p, "\"");
	if (n == 0 || n > EXO_MAX_CLAIMS || b64_decode(p, n, &out, &len) < 0)
		return NULL;
	/* It goes into a form field as text: no NUL inside. */
	if (memchr(out, '\0', len) != NULL) {
		free(out);
		return NULL;
	}
	return (char *)out;
}

static void exo_upstream_error(struct exo_call *c, const struct http_result *res)
{
	struct exo_error e;

	exo_codec_parse_error(c->errbody, c->errbody_len, &e);
	c->end.http_status = res->status;
	exo_name_request(c, res);
	snprintf(c->end.upstream_code, sizeof(c->end.upstream_code), "%s",
		 e.code != NULL ? e.code : "");
	if (res->status == 429) {
		c->end.retry_after = res->retry_after;
		exo_fail(c, WIRE_E_THROTTLED, "%s throttled the request%s%s", exo_service(c->t),
			 e.message != NULL ? ": " : "", e.message != NULL ? e.message : "");
	} else if (e.message != NULL) {
		exo_fail(c, WIRE_E_UPSTREAM, "%s", e.message);
	} else {
		exo_fail(c, WIRE_E_UPSTREAM, "%s answered HTTP %ld with no error text",
			 exo_service(c->t), res->status);
	}
	exo_error_clear(&e);
}

/*
 * The bearer token may only follow a next page to where the first went:
 * the same scheme, host and port, and https unless the profile itself is
 * configured for plain http on loopback (a local test server).
 */
static int exo_next_allowed(const struct exo_call *c, const char *next)
{
	const char *from = c->page_url != NULL ? c->page_url : c->first_url;

	if (!http_same_origin(from, next))
		return 0;
	return http_is_https(next) || !http_is_https(c->t->invoke_url);
}

/*
 * The module's paging rule (§3.2): the next page only for ResultSize
 * Unlimited, or while fewer records than ResultSize have come.
 */
static int exo_wants_more(const struct exo_call *c)
{
	return c->next_link != NULL &&
	       (c->result_size < 0 || c->end.count < (unsigned long long)c->result_size);
}

/* The result stops here: the service's "more results available" warning reaches the client. */
static void exo_page_last(struct exo_call *c)
{
	if (c->paging_warning != NULL && c->on_warning == EXO_STOP) {
		exo_stop(c, "WarningPreference", c->paging_warning);
		exo_finish(c);
		return;
	}
	if (c->paging_warning != NULL &&
	    exo_sink_said(c, c->sink->warning(c->arg, c->paging_warning,
					      strlen(c->paging_warning)))) {
		exo_fail(c, WIRE_E_UPSTREAM, "client went away");
		return;
	}
	c->end.ok = 1;
	exo_finish(c);
}

/* A whole page has been parsed: end, or go on to the next. */
static void exo_page_next(struct exo_call *c)
{
	c->t->stats.pages++;
	c->pages++;
	if (!exo_wants_more(c)) {
		exo_page_last(c);
		return;
	}
	/* Between pages the module hides the paging warning, and so do we. */
	free(c->paging_warning);
	c->paging_warning = NULL;
	if (!exo_next_allowed(c, c->next_link)) {
		exo_fail(c, WIRE_E_UPSTREAM, "%s's next page is at another address than the "
			 "first; not sending the token there", exo_service(c->t));
		return;
	}
	if (strcmp(c->next_link, c->page_url != NULL ? c->page_url : c->first_url) == 0 ||
	    c->pages >= c->t->conf->max_pages) {
		exo_fail(c, WIRE_E_UPSTREAM, "%s sent %s; stopped after %d pages", exo_service(c->t),
			 c->pages >= c->t->conf->max_pages ? "more pages than max_pages allows"
							   : "a next page that is the page itself",
			 c->pages);
		return;
	}
	free(c->page_url);
	c->page_url = c->next_link;
	c->next_link = NULL;
	c->retries = 0;
	/* The next page only once the client has taken this one. */
	if (c->want_pause) {
		exo_set_state(c, EXO_WAIT_SINK);
		return;
	}
	exo_fetch(c);
}

static void exo_page_done(struct exo_call *c)
{
	if (exo_parser_finish(c->parser) < 0) {
		exo_fail(c, WIRE_E_UPSTREAM, "malformed answer from %s: %s", exo_service(c->t),
			 exo_parser_error(c->parser));
		return;
	}
	token_accepted(c->t->token, c->gen);
	exo_page_next(c);
}

/* ---- retries and throttling ---- */

static long long exo_backoff_ms(int retries)
{
	return rnd_backoff_ms(EXO_RETRY_BASE_MS, EXO_RETRY_MAX_MS, (unsigned)retries);
}

/*
 * Whether this failure may be tried again, and when.  Reads may be sent
 * again after any transient failure; a cmdlet that changes anything only
 * when the request certainly never reached the service.  Never once the
 * client has part of the page.
 */
static long long exo_retry_delay(struct exo_call *c, const struct http_result *res, int transient)
{
	long ra = res->retry_after;

	if (c->page_records > 0 || c->retries >= EXO_MAX_RETRIES || c->sink_gone)
		return -1;
	switch (res->outcome) {
	case HTTP_NOT_SENT:
		return exo_backoff_ms(c->retries);
	case HTTP_FAILED:
		return c->reads ? exo_backoff_ms(c->retries) : -1;
	case HTTP_OK:
		break;
	default:
		return -1;
	}
	if (!c->reads)
		return -1;
	if (res->status == 429)
		return ra > EXO_MAX_RETRY_AFTER ? -1 : ra > 0 ? ra * 1000LL : exo_backoff_ms(c->retries);
	if (res->status == 503 || res->status == 504 || (res->status >= 500 && transient)) {
		long long d = exo_backoff_ms(c->retries);

		return ra > 0 && ra <= EXO_MAX_RETRY_AFTER && ra * 1000LL > d ? ra * 1000LL : d;
	}
	return -1;
}

static void exo_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	exo_fetch(arg);
}

/* Waits before the next try: why is EXO_PROGRESS_THROTTLED or EXO_PROGRESS_RETRYING. */
static void exo_wait(struct exo_call *c, long long delay_ms, enum exo_progress_state why)
{
	struct timeval tv = clock_tv(delay_ms);

	c->waiting = why;
	c->wait_ms = delay_ms;
	exo_set_state(c, EXO_WAIT_RETRY);
	evtimer_add(&c->retry, &tv);
}

/* The answer at hand is dropped: the page is asked for again. */
static void exo_forget_answer(struct exo_call *c)
{
	free(c->errbody);
	c->errbody = NULL;
	c->errbody_len = 0;
	free(c->next_link);
	c->next_link = NULL;
}

static int exo_retry(struct exo_call *c, const struct http_result *res, int transient)
{
	long long delay = exo_retry_delay(c, res, transient);

	if (delay < 0)
		return 0;
	c->retries++;
	c->t->stats.retries++;
	exo_forget_answer(c);
	log_info("profile %s: %s: %s, trying again in %lld ms (%d of %d)", c->t->conf->name,
		 c->cmdlet, res->outcome == HTTP_OK ? "transient error" : "transfer failed",
		 delay, c->retries, EXO_MAX_RETRIES);
	/* A 429 is the service holding us back; anything else, a failure we back off from. */
	exo_wait(c, delay, res->outcome == HTTP_OK && res->status == 429 ? EXO_PROGRESS_THROTTLED
									: EXO_PROGRESS_RETRYING);
	return 1;
}

/* A 429 holds back every request of the profile, not only the one that got it. */
static void exo_note_throttle(struct exo_call *c, const struct http_result *res)
{
	long long ms;

	if (res->outcome != HTTP_OK || res->status != 429)
		return;
	c->t->stats.throttled++;
	/* http.c holds Retry-After to HTTP_MAX_RETRY_AFTER_S, so one answer cannot block for years. */
	ms = res->retry_after > 0 ? res->retry_after * 1000LL : exo_backoff_ms(0);
	exo_target_hold(c->t, ms);
	if (c->t->on_throttle != NULL)
		c->t->on_throttle(c->t->on_throttle_arg, ms);
}

/* ---- the end of a transfer ---- */

/*
 * The regional host says it does not serve the tenant (region.c): the
 * cmdlet did not run, so the first page goes again to the host found
 * anew, once per call.  A later page's link is bound to the old host.
 */
static int exo_region_moved(struct exo_call *c, const struct http_result *res)
{
	struct exo_error e = { NULL, NULL, NULL };
	int moved;

	if (c->t->region == NULL || res->outcome != HTTP_OK ||
	    (res->status != 400 && (res->status < 300 || res->status >= 400)))
		return 0;
	if (res->status == 400)
		exo_codec_parse_error(c->errbody, c->errbody_len, &e);
	moved = region_says_moved(res->status, e.code);
	exo_error_clear(&e);
	if (!moved)
		return 0;
	exo_name_request(c, res);
	c->end.http_status = res->status;
	/* The host said it: the profile's next call finds the region anew, whatever this one does. */
	region_moved(c->t->region, c->region_gen);
	if (c->page_url != NULL || c->moves >= EXO_MAX_MOVES) {
		exo_fail(c, WIRE_E_UPSTREAM, "Security & Compliance sent the tenant's request to "
			 "another region %s (HTTP %ld); run it again", c->page_url != NULL ?
			 "while its pages were read" : "again, right after finding it", res->status);
		return 1;
	}
	c->moves++;
	c->t->stats.retries++;
	exo_forget_answer(c);
	exo_fetch(c);
	return 1;
}

static void exo_on_done(void *arg, const struct http_result *res)
{
	struct exo_call *c = arg;
	int transient = 0;

	c->xfer = NULL;
	if (c->sink_gone) {
		exo_fail(c, WIRE_E_UPSTREAM, "client went away");
		return;
	}
	if (c->stopped) {
		exo_name_request(c, res);
		exo_finish(c);
		return;
	}
	exo_note_throttle(c, res);
	if (exo_region_moved(c, res))
		return;
	if (res->outcome == HTTP_OK && res->status >= 500) {
		struct exo_error e;

		exo_codec_parse_error(c->errbody, c->errbody_len, &e);
		transient = exo_codec_error_transient(&e);
		exo_error_clear(&e);
	}
	/*
	 * A server may end an HTTP/2 stream with a reset once it has answered in
	 * full; a complete 200 document is an answer, whatever the transport says.
	 */
	if (res->outcome == HTTP_FAILED && res->status == 200 && !c->want_pause &&
	    exo_parser_finish(c->parser) == 0) {
		token_accepted(c->t->token, c->gen);
		exo_page_next(c);
		return;
	}
	if ((res->outcome != HTTP_OK || res->status != 200) && res->status != 401 &&
	    exo_retry(c, res, transient))
		return;
	switch (res->outcome) {
	case HTTP_OK:
		break;
	case HTTP_TIMED_OUT:
		/* Each page gets what is left of the run's time: this is the run's limit. */
		exo_fail_run_time(c);
		return;
	case HTTP_ABORTED:
		exo_fail(c, WIRE_E_UPSTREAM, "malformed answer from %s: %s", exo_service(c->t),
			 exo_parser_error(c->parser));
		return;
	default:
		exo_fail(c, WIRE_E_UPSTREAM, "cannot reach %s: %s", exo_service(c->t), res->error);
		return;
	}
	if (res->status == 200) {
		exo_name_request(c, res);
		exo_page_done(c);
		return;
	}
	if (res->status == 401 && !c->retried_401) {
		/* The token was refused (expired early, revoked, CAE): a new one, and try once more. */
		c->retried_401 = 1;
		c->t->stats.retries++;
		free(c->claims);
		c->claims = exo_claims(res->www_authenticate);
		token_rejected(c->t->token, c->gen, c->claims);
		exo_forget_answer(c);
		exo_fetch(c);
		return;
	}
	exo_upstream_error(c, res);
}

/* ---- sending a page request ---- */

/*
 * The lines of every request that carries the token: to InvokeCommand,
 * and to the Security & Compliance front door, which routes on the same
 * hint (exo-protocol.md §1.2, §2.3).
 */
static int exo_auth_lines(const struct exo_target *t, const char *token, struct http_headers **h)
{
	char bearer[EXO_BEARER_MAX];
	char anchor[320];
	const char *upn = token_identity(t->token);
	int rc = 0, n;

	n = snprintf(bearer, sizeof(bearer), "Bearer %s", token);
	if (n < 0 || (size_t)n >= sizeof(bearer)) {
		sbuf_wipe(bearer, sizeof(bearer));
		return -1;
	}
	rc |= http_headers_add(h, "Authorization", bearer);
	sbuf_wipe(bearer, (size_t)n);
	rc |= http_headers_add(h, "Accept", "application/json");
	rc |= http_headers_add(h, "X-ClientApplication", "ExoManagementModule");
	/* A signed-in user routes on their own mailbox, as the module does; otherwise the org's. */
	if (upn != NULL && t->conf->delegated_organization == NULL)
		snprintf(anchor, sizeof(anchor), "UPN:%s", upn);
	else
		snprintf(anchor, sizeof(anchor), "%s", t->anchor);
	rc |= http_headers_add(h, "X-AnchorMailbox", anchor);
	rc |= http_headers_add(h, "connection-id", t->connection_id);
	return rc;
}

/* Each request's own id, so that the service's logs can name it. */
static int exo_request_id_line(struct http_headers **h)
{
	char request_id[RND_UUID_LEN + 1];

	if (rnd_uuid(request_id) < 0)
		return -1;
	return http_headers_add(h, "client-request-id", request_id);
}

/*
 * What every InvokeCommand with this token carries, built once per token
 * (the bearer alone costs libcurl's text 80-100k instructions a copy):
 * NULL when out of memory.
 */
static struct http_headers *exo_token_lines(struct exo_call *c, const char *token)
{
	struct exo_target *t = c->t;
	struct http_headers *h = NULL;
	char prefer[64];
	int rc;

	if (t->lines != NULL && t->lines_gen == c->gen)
		return t->lines;
	snprintf(prefer, sizeof(prefer), "odata.maxpagesize=%d", t->conf->page_size);
	rc = exo_auth_lines(t, token, &h);
	rc |= http_headers_add(&h, "Content-Type", "application/json");
	rc |= http_headers_add(&h, "X-ResponseFormat", "json");
	rc |= http_headers_add(&h, "X-SerializationLevel", "Partial");
	rc |= http_headers_add(&h, "Prefer", prefer);
	if (rc != 0) {
		http_headers_free(h);
		return NULL;
	}
	exo_target_forget_token(t);
	t->lines = h;
	t->lines_gen = c->gen;
	return h;
}

/* A request's own lines, then the token's shared ones. */
static int exo_headers(struct exo_call *c, const char *token, struct http_headers **h)
{
	struct http_headers *shared = exo_token_lines(c, token);
	int rc = shared == NULL ? -1 : 0;

	rc |= exo_request_id_line(h);
	rc |= http_headers_add(h, "X-CmdletName", c->cmdlet);
	if (c->error_action[0] != '\0')
		rc |= http_headers_add(h, "ErrorAction", c->error_action);
	if (c->warning_action[0] != '\0')
		rc |= http_headers_add(h, "WarningAction", c->warning_action);
	if (rc == 0)
		rc = http_headers_chain(h, shared);
	return rc;
}

/* The run's time limit: request_timeout, or the module's longer one for a slow cmdlet. */
static int exo_time_limit_s(const struct exo_call *c)
{
	int limit = c->t->conf->request_timeout;

	for (size_t i = 0; i < sizeof(exo_slow_cmdlets) / sizeof(exo_slow_cmdlets[0]); i++)
		if (strcasecmp(c->cmdlet, exo_slow_cmdlets[i].cmdlet) == 0 &&
		    exo_slow_cmdlets[i].seconds > limit)
			limit = exo_slow_cmdlets[i].seconds;
	return limit;
}

static void exo_fail_run_time(struct exo_call *c)
{
	exo_fail(c, WIRE_E_TIMEOUT, "%s did not finish within %d s, all pages included "
		 "(request_timeout, or the module's limit for this cmdlet)", c->cmdlet,
		 exo_time_limit_s(c));
}

static void exo_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exo_call *c = arg;

	(void)fd;
	(void)what;
	http_xfer_cancel(c->xfer);
	c->xfer = NULL;
	token_wait_cancel(c->wait);
	c->wait = NULL;
	region_wait_cancel(c->rwait);
	c->rwait = NULL;
	evtimer_del(&c->retry);
	exo_fail_run_time(c);
}

/* The run's clock starts with its first request; every page gets what is left of it. */
static long exo_time_left_ms(struct exo_call *c)
{
	long long now = clock_ms(), left;

	if (c->deadline_at == 0) {
		struct timeval tv = clock_tv(exo_time_limit_s(c) * 1000LL);

		c->deadline_at = now + exo_time_limit_s(c) * 1000LL;
		evtimer_add(&c->deadline, &tv);
	}
	left = c->deadline_at - now;
	return left > 1 ? (long)left : 1;
}

static void exo_discover(struct exo_call *c, const char *token);

/*
 * Where the first page goes, remembered for nextLink's check: the
 * Exchange host, or the regional host pinned now.  NULL: out of memory.
 */
static const char *exo_first_url(struct exo_call *c)
{
	const char *url = c->t->invoke_url;

	if (c->t->region != NULL) {
		url = region_invoke_url(c->t->region);
		c->region_gen = region_generation(c->t->region);
	}
	if (c->first_url == NULL || strcmp(c->first_url, url) != 0) {
		free(c->first_url);
		c->first_url = strdup(url);
	}
	return c->first_url;
}

/* A compliance call's first page waits for the regional host. */
static int exo_needs_region(const struct exo_call *c)
{
	return c->page_url == NULL && c->t->region != NULL &&
	       region_invoke_url(c->t->region) == NULL;
}

static void exo_send(struct exo_call *c, const char *token)
{
	const struct conf_profile *conf = c->t->conf;
	struct http_request req = {
		.method = "POST",
		.url = c->page_url,
		.body = sbuf_str(c->body),
		.body_len = sbuf_len(c->body),
		.ca_file = conf->ca_file,
		.proxy = conf->proxy,
		.cookies = c->t->region != NULL ? region_cookies(c->t->region) : NULL,
		.timeout_ms = exo_time_left_ms(c),
		.connect_timeout_ms = EXO_CONNECT_TIMEOUT_MS,
		.fresh_connect = !c->reads,
		.http1 = conf->http_version == CONF_HTTP_1_1,
		.reuse_key = c->t->reuse_key,
		.on_data = exo_on_data,
		.on_done = exo_on_done,
		.arg = c,
	};
	char err[256];

	if (exo_needs_region(c)) {
		exo_discover(c, token);
		return;
	}
	if (req.url == NULL) {
		req.url = exo_first_url(c);
		/* Exchange's first page goes to the URL parsed once; a regional host's does not. */
		if (c->t->region == NULL)
			req.parsed = c->t->invoke_parsed;
	}
	exo_set_state(c, EXO_TRANSFER);
	exo_parser_free(c->parser);
	c->parser = exo_parser_new(&exo_parser_cbs, c);
	if (req.url == NULL || c->parser == NULL || exo_headers(c, token, &req.headers) < 0) {
		http_headers_free(req.headers);
		exo_fail(c, WIRE_E_UPSTREAM, "out of memory");
		return;
	}
	c->page_records = 0;
	c->xfer = http_start(c->t->http, &req, err, sizeof(err));
	if (c->xfer == NULL)
		exo_fail(c, WIRE_E_UPSTREAM, "%s", err);
}

/*
 * Whether a failed discovery may be tried again, and when.  The cmdlet
 * was not sent, so any cmdlet may: after a transport failure, a 429, or
 * a 502/503/504 of the front door.
 */
static long long exo_discover_retry_ms(const struct exo_call *c, const struct region_result *res)
{
	long ra = res->retry_after;

	if (c->retries >= EXO_MAX_RETRIES || c->sink_gone)
		return -1;
	if (res->outcome == HTTP_NOT_SENT || res->outcome == HTTP_FAILED ||
	    res->outcome == HTTP_TIMED_OUT)
		return exo_backoff_ms(c->retries);
	if (res->outcome != HTTP_OK)
		return -1;
	if (res->status == 429 && ra > 0)
		return ra > EXO_MAX_RETRY_AFTER ? -1 : ra * 1000LL;
	if (res->status == 429 || (res->status >= 502 && res->status <= 504))
		return exo_backoff_ms(c->retries);
	return -1;
}

static void exo_on_region(void *arg, const struct region_result *res)
{
	struct exo_call *c = arg;
	long long delay;

	c->rwait = NULL;
	if (res->ok) {
		exo_fetch(c);
		return;
	}
	if (res->status == 401 && !c->retried_401) {
		/* The front door refused the token: a new one, and try once more, as for InvokeCommand. */
		c->retried_401 = 1;
		c->t->stats.retries++;
		token_rejected(c->t->token, c->gen, NULL);
		exo_fetch(c);
		return;
	}
	if ((delay = exo_discover_retry_ms(c, res)) >= 0) {
		c->retries++;
		c->t->stats.retries++;
		log_info("profile %s: %s: %s, trying again in %lld ms (%d of %d)", c->t->conf->name,
			 c->cmdlet, res->message, delay, c->retries, EXO_MAX_RETRIES);
		exo_wait(c, delay, res->status == 429 ? EXO_PROGRESS_THROTTLED : EXO_PROGRESS_RETRYING);
		return;
	}
	c->end.http_status = res->status;
	c->end.retry_after = res->status == 429 ? res->retry_after : 0;
	utf8_copy(c->end.request_id, sizeof(c->end.request_id), res->request_id, strlen(res->request_id));
	exo_fail(c, res->status == 429 ? WIRE_E_THROTTLED : WIRE_E_UPSTREAM, "%s", res->message);
}

/* The first page of a compliance call waits for the regional host (region.c). */
static void exo_discover(struct exo_call *c, const char *token)
{
	struct http_headers *h = NULL;
	char err[256];

	exo_set_state(c, EXO_DISCOVER);
	if ((exo_request_id_line(&h) | exo_auth_lines(c->t, token, &h)) != 0) {
		http_headers_free(h);
		exo_fail(c, WIRE_E_UPSTREAM, "out of memory");
		return;
	}
	c->rwait = region_discover(c->t->region, h, exo_on_region, c, err, sizeof(err));
	if (c->rwait == NULL)
		exo_fail(c, WIRE_E_UPSTREAM, "%s", err);
}

static void exo_token_ready(void *arg, const char *token, unsigned gen,
			    enum wire_error err, const char *message)
{
	struct exo_call *c = arg;

	c->wait = NULL;
	if (token == NULL) {
		exo_fail(c, err, "%s", message);
		return;
	}
	c->gen = gen;
	exo_send(c, token);
}

static void exo_fetch(struct exo_call *c)
{
	long long hold = exo_target_throttled_ms(c->t);
	const char *token;

	if (hold > 0) {
		exo_wait(c, hold, EXO_PROGRESS_THROTTLED);
		return;
	}
	token = token_current(c->t->token, &c->gen);
	if (token != NULL) {
		exo_send(c, token);
		return;
	}
	exo_set_state(c, EXO_WAIT_TOKEN);
	c->wait = token_wait(c->t->token, exo_token_ready, c);
	if (c->wait == NULL)
		exo_fail(c, WIRE_E_UPSTREAM, "out of memory");
}

static void exo_slot_ready(void *arg)
{
	exo_fetch(arg);
}

static void exo_moved_up(void *arg, int ahead)
{
	struct exo_call *c = arg;

	c->ahead = ahead;
	exo_report(c);
}

static void exo_queue_expired(void *arg)
{
	struct exo_call *c = arg;

	c->job = NULL;
	exo_fail(c, WIRE_E_QUEUE_TIMEOUT, "waited %d s (queue_timeout) for a free connection of profile %s",
		 c->t->conf->queue_timeout, c->t->conf->name);
}

/*
 * ResultSize as the module reads it: "Unlimited" (-1), a positive number
 * (given as a number or as digits), or EXO_DEFAULT_RESULT_SIZE when there
 * is none (the service judges anything else).
 */
static long long exo_result_size(const yajl_val v)
{
	const char *s = YAJL_GET_STRING(v);
	char *end;
	long long n;

	if (YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) > 0)
		return YAJL_GET_INTEGER(v);
	if (s != NULL && strcasecmp(s, "Unlimited") == 0)
		return -1;
	if (s != NULL && s[0] >= '0' && s[0] <= '9' && strlen(s) <= EXO_MAX_RESULT_TEXT) {
		n = strtoll(s, &end, 10);
		if (*end == '\0' && n > 0)
			return n;
	}
	return EXO_DEFAULT_RESULT_SIZE;
}

int exo_call_start(struct exo_target *t, const struct exo_request *rq,
		   const struct exo_sink *sink, void *arg, struct exo_call **out,
		   struct exo_end *end)
{
	struct exo_call *c = calloc(1, sizeof(*c));
	const char *cmdlet = rq->cmdlet;

	memset(end, 0, sizeof(*end));
	end->error = WIRE_E_UPSTREAM;
	if (c == NULL || exo_codec_body(cmdlet, rq->params, rq->params_len, &c->body) < 0) {
		snprintf(end->message, sizeof(end->message), "out of memory");
		goto fail;
	}
	c->t = t;
	c->state = EXO_QUEUED;
	c->sink = sink;
	c->arg = arg;
	c->reads = readonly_cmdlet(cmdlet, strlen(cmdlet));
	c->result_size = exo_result_size(rq->result_size);
	c->progress = rq->progress && sink->progress != NULL;
	c->on_error = rq->on_error;
	c->on_warning = rq->on_warning;
	if (rq->error_action != NULL)
		utf8_copy(c->error_action, sizeof(c->error_action), rq->error_action,
			  strlen(rq->error_action));
	if (rq->warning_action != NULL)
		utf8_copy(c->warning_action, sizeof(c->warning_action), rq->warning_action,
			  strlen(rq->warning_action));
	utf8_copy(c->cmdlet, sizeof(c->cmdlet), cmdlet, strlen(cmdlet));
	if (evtimer_assign(&c->retry, t->base, exo_retry_cb, c) < 0 ||
	    evtimer_assign(&c->deadline, t->base, exo_deadline_cb, c) < 0) {
		snprintf(end->message, sizeof(end->message), "out of memory");
		goto fail;
	}
	t->stats.requests++;
	c->job = pool_submit(t->pool, exo_slot_ready, exo_queue_expired, c);
	if (c->job == NULL) {
		end->error = WIRE_E_QUEUE_FULL;
		snprintf(end->message, sizeof(end->message),
			 "profile %s has %d requests waiting (queue_limit)", t->conf->name,
			 pool_queued(t->pool));
		t->stats.failures++;
		goto fail;
	}
	/* A client that follows progress hears where it is in the queue (from the loop). */
	if (c->progress)
		pool_watch(c->job, exo_moved_up);
	*out = c;
	return 0;
fail:
	if (c != NULL) {
		sbuf_free(c->body);
		free(c);
	}
	return -1;
}

void exo_call_resume(struct exo_call *c)
{
	if (!c->want_pause)
		return;
	c->want_pause = 0;
	if (c->state == EXO_WAIT_SINK)
		exo_fetch(c);
	else if (c->xfer != NULL)
		http_xfer_resume(c->xfer);
}

void exo_call_cancel(struct exo_call *c)
{
	if (c == NULL)
		return;
	http_xfer_cancel(c->xfer);
	token_wait_cancel(c->wait);
	region_wait_cancel(c->rwait);
	event_del(&c->retry);
	event_del(&c->deadline);
	free(c->paging_warning);
	exo_parser_free(c->parser);
	free(c->page_url);
	free(c->first_url);
	free(c->next_link);
	free(c->claims);
	free(c->errbody);
	sbuf_free(c->body);
	/* Leaving the pool grants the slot to the next call, which starts from the loop. */
	pool_leave(c->job);
	free(c);
}
