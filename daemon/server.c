/* The Unix socket server: connections, framing, dispatch, answers. */
#include "daemon/server.h"

#include <assert.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/binder.h"
#include "common/conf.h"
#include "common/jtree.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/sbuf.h"
#include "common/wire.h"
#include "daemon/clock.h"
#include "daemon/exo_codec.h"
#include "daemon/http.h"
#include "daemon/invoke.h"
#include "daemon/json.h"
#include "daemon/metrics.h"
#include "daemon/profile.h"
#include "daemon/readonly.h"

#define SERVER_READ_CHUNK 65536         /* bytes asked of read() at once */
#define SERVER_NAMES_SHOWN 16           /* profile names a message lists ("profiles" has all) */
#define SERVER_MESSAGE_MAX 2048         /* bytes of a message that lists profile names */
#define SERVER_LOG_LINE 512             /* bytes of a run's log line (names are bounded) */
#define SERVER_RECORD_PREFIX "{\"type\":\"record\",\"data\":"

/*
 * A connection's state; conn_set_state is the only writer.
 *   IDLE      reads and runs request lines, one at a time
 *   BUSY      a request runs; of further lines only a leading cancel is looked at
 *   CLOSING   answers are flushed, then the connection closes
 *   LINGERING half-closed by us; input is discarded until the peer closes
 */
enum conn_state {
	CONN_IDLE,
	CONN_BUSY,
	CONN_CLOSING,
	CONN_LINGERING,
};

/* A request's state: from its line to its terminal answer, then released by request_end. */
enum request_state {
	REQ_DISPATCHING,                /* its op runs; it may end before returning */
	REQ_WAITING,                    /* the op waits for the event loop (upstream, sign-in) */
};

struct server_op;

struct request {
	enum request_state state;
	const struct server_op *op;
	char id[WIRE_MAX_ID_JSON + 1];  /* JSON text, "" for none */
	struct profile *profile;
	char cmdlet[WIRE_MAX_CMDLET + 1];
	struct exo_call *call;
	struct token_wait *wait;
	struct timespec started;
	long long started_ms;           /* clock_ms() at its line: a progress line's elapsed_ms */
	/* The last progress line sent, for a run that asked for them ("progress": true). */
	int progress_sent;
	enum exo_progress_state progress_state;
	int progress_ahead;
	long long progress_at;          /* clock_ms() */
};

/* How many connections one user has. */
struct uid_slot {
	uid_t uid;
	int n;
	LIST_ENTRY(uid_slot) entry;
};

struct conn {
	struct server *s;
	enum conn_state state;
	int rfd, wfd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int ngroups;                    /* -1 until looked up (only profiles with lists need them) */
	gid_t groups[ACCESS_MAX_GROUPS];
	struct uid_slot *slot;
	struct sbuf *in;                /* unread request bytes: a login line carries a password */
	struct evbuffer *out;
	struct event *rev, *wev, *turn, *timer;
	struct request *req;
	int read_closed;                /* the client sent EOF: answer what it sent, then close */
	int processing;                 /* inside conn_process: an ended request needs no new turn */
	long long partial_since;        /* clock_ms() since a request line is incomplete, or 0 */
	long long written_at;           /* clock_ms() of the last progress writing answers */
	long long linger_until;
	TAILQ_ENTRY(conn) entry;
};

struct server {
	struct event_base *base;
	const struct conf *conf;
	struct profile *profiles;
	struct http *http;
	struct evconnlistener *listener;
	struct event *accept_pause;     /* re-enables accepting after running out of descriptors */
	int draining;
	int owns_path;                  /* we bound conf->socket, so we remove it */
	int nconns;
	int busy;
	unsigned long refused;          /* connections refused since the last log line */
	long long refused_logged;
	TAILQ_HEAD(, conn) conns;
	LIST_HEAD(, uid_slot) slots;
	yajl_gen gen;                   /* answer lines are written one at a time: one generator */
};

struct server_op {
	const char *name;
	int needs_profile;              /* a profile must be named (or be the only one) */
	int manages;                    /* changes the session: needs full access */
	void (*run)(struct conn *c, const struct wire_request *wr);
};

static void conn_process(struct conn *c);
static void conn_free(struct conn *c);
static void conn_update(struct conn *c);

static double server_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void conn_set_state(struct conn *c, enum conn_state to)
{
	/* Which states each state may move to (bit n: state n); nothing leaves lingering. */
	static const unsigned allowed[] = {
		[CONN_IDLE] = 1u << CONN_BUSY | 1u << CONN_CLOSING,
		[CONN_BUSY] = 1u << CONN_IDLE | 1u << CONN_CLOSING,
		[CONN_CLOSING] = 1u << CONN_LINGERING,
		[CONN_LINGERING] = 0,
	};

	assert(allowed[c->state] & (1u << to));
	/* Busy exactly while a request runs. */
	assert((to == CONN_BUSY) == (c->req != NULL) || to == CONN_CLOSING);
	c->state = to;
}

const char *server_conn_state(const struct conn *c)
{
	static const char *const names[] = { "idle", "busy", "closing", "lingering" };

	return names[c->state];
}

/* --- writing answers ----------------------------------------------------- */

/*
 * Output waits: count unread time from now if nothing was waiting, and
 * write once the loop has run what is ready now, so that the lines of one
 * pass go out together.  Activated, not watched: a socket with room (the
 * usual case) costs no epoll change; conn_write_cb watches if it fills.
 */
static void conn_want_write(struct conn *c)
{
	if (evbuffer_get_length(c->out) == 0)
		return;
	if (!event_pending(c->wev, EV_WRITE, NULL)) {
		c->written_at = clock_ms();
		event_active(c->wev, EV_WRITE, 1);
	}
}

static yajl_gen server_gen(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g != NULL)
		yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

/* Opens an answer line: {"id":..,"type":type; line_send ends it before the next opens. */
static yajl_gen line_open(struct conn *c, const char *id, const char *type)
{
	yajl_gen g = c->s->gen;

	yajl_gen_reset(g, NULL);
	yajl_gen_map_open(g);
	if (id != NULL && id[0] != '\0') {
		json_str(g, "id");
		/* JSON text made by wire_parse_request: inserted as it is. */
		yajl_gen_number(g, id, strlen(id));
	}
	json_kv_str(g, "type", type);
	return g;
}

static void line_send(struct conn *c, yajl_gen g)
{
	const unsigned char *buf;
	size_t len;

	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
		evbuffer_add(c->out, buf, len);
		evbuffer_add(c->out, "\n", 1);
		conn_want_write(c);
	}
	yajl_gen_clear(g);
}

/* What Microsoft support asks for: the service's request id, the back-end and the time. */
static void send_request_names(yajl_gen g, const char *request_id, const char *server,
			       const char *timestamp)
{
	if (request_id != NULL && request_id[0] != '\0')
		json_kv_str(g, "request_id", request_id);
	if (server != NULL && server[0] != '\0')
		json_kv_str(g, "server", server);
	if (timestamp != NULL && timestamp[0] != '\0')
		json_kv_str(g, "timestamp", timestamp);
}

static void send_error(struct conn *c, const char *id, enum wire_error e, const char *message,
		       const struct exo_end *end)
{
	yajl_gen g = line_open(c, id, "error");

	json_str(g, "error");
	yajl_gen_map_open(g);
	json_kv_str(g, "code", wire_error_code(e));
	json_kv_str(g, "message", message);
	if (end != NULL && end->upstream_code[0] != '\0')
		json_kv_str(g, "upstream_code", end->upstream_code);
	if (end != NULL && end->http_status != 0)
		json_kv_int(g, "http_status", end->http_status);
	if (end != NULL && e == WIRE_E_THROTTLED && end->retry_after > 0)
		json_kv_int(g, "retry_after", end->retry_after);
	if (end != NULL)
		send_request_names(g, end->request_id, end->server, end->timestamp);
	if (end != NULL && (end->count > 0 || end->errors > 0)) {
		json_kv_int(g, "count", (long long)end->count);
		json_kv_int(g, "errors", (long long)end->errors);
	}
	yajl_gen_map_close(g);
	line_send(c, g);
}

/* --- the request lifecycle ----------------------------------------------- */

static int request_is(const struct request *r, const char *op)
{
	return r->op != NULL && strcmp(r->op->name, op) == 0;
}

/* Runs the connection's next turn from the event loop, never from inside the current one. */
static void conn_schedule(struct conn *c)
{
	struct timeval now = { 0, 0 };

	evtimer_add(c->turn, &now);
}

/* Appends s[0..n) to the line at *at, cut at its end. */
static void log_put(char *line, size_t *at, const char *s, size_t n)
{
	if (n > SERVER_LOG_LINE - *at)
		n = SERVER_LOG_LINE - *at;
	memcpy(line + *at, s, n);
	*at += n;
}

static void log_put_int(char *line, size_t *at, long long v)
{
	char text[JSON_INT_LEN];

	log_put(line, at, text, json_int_text(text, v));
}

/*
 * A run's line: profile=NAME uid=N pid=N cmdlet=NAME outcome=CODE count=N
 * ms=N.N.  One a request, so built by hand rather than through printf.
 */
static void request_log(const struct conn *c, const struct request *r, const char *outcome,
			unsigned long long count, double ms)
{
	const char *profile = r->profile != NULL ? profile_name(r->profile) : "-";
	const char *cmdlet = r->cmdlet[0] ? r->cmdlet : "-";
	char line[SERVER_LOG_LINE], tenths[JSON_TENTHS_MAX];
	size_t at = 0;

	if (log_get_level() < LOG_INFO)
		return;
	log_put(line, &at, "profile=", 8);
	log_put(line, &at, profile, strlen(profile));
	log_put(line, &at, " uid=", 5);
	log_put_int(line, &at, (long long)c->uid);
	log_put(line, &at, " pid=", 5);
	log_put_int(line, &at, (long long)c->pid);
	log_put(line, &at, " cmdlet=", 8);
	log_put(line, &at, cmdlet, strlen(cmdlet));
	log_put(line, &at, " outcome=", 9);
	log_put(line, &at, outcome, strlen(outcome));
	log_put(line, &at, " count=", 7);
	log_put_int(line, &at, (long long)count);
	log_put(line, &at, " ms=", 4);
	log_put(line, &at, tenths, json_tenths(tenths, sizeof(tenths), ms));
	log_text(LOG_INFO, line, at);
}

/*
 * The one place a request is released: its work is over or abandoned, its
 * line is logged, and the connection may read its next line (from the
 * loop, never by calling back into the reader).
 */
static void request_end(struct conn *c, const char *outcome, unsigned long long count)
{
	struct request *r = c->req;
	double ms = server_ms_since(&r->started);

	assert(r->call == NULL && r->wait == NULL);
	if (request_is(r, "run")) {
		if (r->profile != NULL)
			profile_observe(r->profile, ms);
		request_log(c, r, outcome, count, ms);
	}
	if (r->profile != NULL)
		profile_release(r->profile);
	free(r);
	c->req = NULL;
	c->s->busy--;
	if (c->state == CONN_BUSY)
		conn_set_state(c, CONN_IDLE);
	if (!c->processing)
		conn_schedule(c);
}

static void request_fail(struct conn *c, enum wire_error e, const char *message)
{
	send_error(c, c->req->id, e, message, NULL);
	request_end(c, wire_error_code(e), 0);
}

static void request_done(struct conn *c, void (*fill)(struct conn *, yajl_gen))
{
	yajl_gen g = line_open(c, c->req->id, "done");

	if (fill != NULL)
		fill(c, g);
	line_send(c, g);
	request_end(c, "ok", 0);
}

/* The request goes on from the event loop: its completions may now come. */
static void request_wait(struct conn *c)
{
	assert(c->req->state == REQ_DISPATCHING);
	c->req->state = REQ_WAITING;
}

/* A completion from the loop: only ever for a request that went waiting. */
static struct request *request_resumed(struct conn *c)
{
	assert(c->req != NULL && c->req->state == REQ_WAITING);
	return c->req;
}

/* --- run ----------------------------------------------------------------- */

static enum exo_sink_status run_sink_status(struct conn *c)
{
	if (evbuffer_get_length(c->out) >= SERVER_HIGH_WATER)
		return EXO_SINK_FULL;
	return EXO_SINK_OK;
}

static enum exo_sink_status run_record(void *arg, const char *json, size_t len)
{
	struct conn *c = arg;
	const struct request *r = c->req;

	/* Spliced, not re-encoded: the codec already wrote compact, valid JSON. */
	if (r->id[0] != '\0')
		evbuffer_add_printf(c->out, "{\"id\":%s,\"type\":\"record\",\"data\":", r->id);
	else
		evbuffer_add(c->out, SERVER_RECORD_PREFIX, sizeof(SERVER_RECORD_PREFIX) - 1);
	evbuffer_add(c->out, json, len);
	evbuffer_add(c->out, "}\n", 2);
	conn_want_write(c);
	return run_sink_status(c);
}

/* An event that carries one text: a warning, a What if confirmation. */
static enum exo_sink_status run_text_event(struct conn *c, const char *type, const char *msg,
					   size_t len)
{
	yajl_gen g = line_open(c, c->req->id, type);

	json_str(g, "message");
	yajl_gen_string(g, (const unsigned char *)msg, len);
	line_send(c, g);
	return run_sink_status(c);
}

static enum exo_sink_status run_warning(void *arg, const char *msg, size_t len)
{
	return run_text_event(arg, "warning", msg, len);
}

/* A non-terminating error of the cmdlet: the run goes on, and ends in failure after its records. */
static enum exo_sink_status run_cmdlet_error(void *arg, const char *json, size_t len,
					     const char *request_id)
{
	struct conn *c = arg;
	yajl_gen g = line_open(c, c->req->id, "cmdlet_error");
	struct exo_error e;

	exo_codec_cmdlet_error(json, len, &e);
	json_str(g, "error");
	yajl_gen_map_open(g);
	json_kv_str(g, "message", e.message != NULL ? e.message : "(the service gave no text)");
	if (e.code != NULL)
		json_kv_str(g, "code", e.code);
	if (e.type != NULL)
		json_kv_str(g, "type", e.type);
	send_request_names(g, request_id, NULL, NULL);
	/* The element as the service sent it, for what the fields above do not say. */
	json_str(g, "detail");
	yajl_gen_number(g, json, len);
	yajl_gen_map_close(g);
	exo_error_clear(&e);
	line_send(c, g);
	return run_sink_status(c);
}

static enum exo_sink_status run_confirmation(void *arg, const char *msg, size_t len)
{
	return run_text_event(arg, "confirmation", msg, len);
}

static void run_done(void *arg, const struct exo_end *end)
{
	struct conn *c = arg;
	struct request *r = request_resumed(c);
	yajl_gen g;

	r->call = NULL;
	if (!end->ok) {
		send_error(c, r->id, end->error, end->message, end);
		request_end(c, wire_error_code(end->error), end->count);
		return;
	}
	g = line_open(c, r->id, "done");
	json_kv_int(g, "count", (long long)end->count);
	/* Errors -ErrorAction SilentlyContinue kept quiet are still counted. */
	if (end->errors > 0)
		json_kv_int(g, "errors", (long long)end->errors);
	json_kv_tenths(g, "ms", server_ms_since(&r->started));
	line_send(c, g);
	request_end(c, "ok", end->count);
}

/*
 * Whether a progress report is news for the client: a new state, a new
 * place in the queue, a new wait (each is reported once), or, while
 * running, a page at least SERVER_PROGRESS_INTERVAL_MS after the last line.
 */
static int run_progress_due(const struct request *r, const struct exo_progress *p,
			    long long now)
{
	if (!r->progress_sent || p->state != r->progress_state)
		return 1;
	switch (p->state) {
	case EXO_PROGRESS_QUEUED:
		return p->ahead != r->progress_ahead;
	case EXO_PROGRESS_THROTTLED:
	case EXO_PROGRESS_RETRYING:
		return 1;
	case EXO_PROGRESS_RUNNING:
		return now - r->progress_at >= SERVER_PROGRESS_INTERVAL_MS;
	default:
		return 0;
	}
}

static void run_progress(void *arg, const struct exo_progress *p)
{
	struct conn *c = arg;
	struct request *r = request_resumed(c);
	long long now = clock_ms();
	yajl_gen g;

	/*
	 * Droppable: with more than the low water unread, the line is skipped,
	 * not queued; what is news then goes out once the client has read.
	 */
	if (!run_progress_due(r, p, now) || evbuffer_get_length(c->out) > SERVER_LOW_WATER)
		return;
	g = line_open(c, r->id, "progress");
	json_kv_str(g, "state", exo_progress_name(p->state));
	json_kv_int(g, "records", (long long)p->records);
	json_kv_int(g, "pages", (long long)p->pages);
	json_kv_int(g, "elapsed_ms", now - r->started_ms);
	if (p->state == EXO_PROGRESS_QUEUED)
		json_kv_int(g, "ahead", p->ahead);
	if (p->state == EXO_PROGRESS_THROTTLED || p->state == EXO_PROGRESS_RETRYING) {
		json_kv_int(g, "retry_in_ms", p->retry_in_ms);
		if (p->attempt > 0) {
			json_kv_int(g, "attempt", p->attempt);
			json_kv_int(g, "attempts", p->attempts);
		}
	}
	line_send(c, g);
	r->progress_sent = 1;
	r->progress_state = p->state;
	r->progress_ahead = p->ahead;
	r->progress_at = now;
}

static const struct exo_sink run_sink = {
	.record = run_record,
	.warning = run_warning,
	.error = run_cmdlet_error,
	.confirmation = run_confirmation,
	.done = run_done,
	.progress = run_progress,       /* for a request that asked (exo_request.progress) */
};

/* The peer's groups: its primary group from SO_PEERCRED and its user's supplementary groups. */
static void conn_load_groups(struct conn *c)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	int n = ACCESS_MAX_GROUPS - 1;

	c->groups[0] = c->gid;
	c->ngroups = 1;
	if (getpwuid_r(c->uid, &pw, buf, sizeof(buf), &found) != 0 || found == NULL)
		return;
	if (getgrouplist(pw.pw_name, c->gid, c->groups + 1, &n) >= 0)
		c->ngroups = 1 + n;
}

static enum access_level conn_level(struct conn *c, const struct profile *p)
{
	if (profile_open(p))
		return ACCESS_FULL;
	if (c->ngroups < 0)
		conn_load_groups(c);
	return profile_access(p, c->uid, c->groups, c->ngroups);
}

/*
 * Whether the peer may do op on the profile (run cmdlet, for run; the
 * other ops need full access); logs a denial once and says why in why.
 */
static int conn_allowed(struct conn *c, const char *op, const char *cmdlet, char *why,
			size_t whylen)
{
	struct profile *p = c->req->profile;

	if (cmdlet != NULL) {
		if (!profile_open(p) && c->ngroups < 0)
			conn_load_groups(c);
		if (profile_may_run(p, c->uid, c->groups, c->ngroups, cmdlet, why, whylen))
			return 1;
	} else if (conn_level(c, p) == ACCESS_FULL) {
		return 1;
	} else {
		snprintf(why, whylen, "uid %u may not %s on profile %s", (unsigned)c->uid, op,
			 profile_name(p));
	}
	log_warn("profile=%s uid=%u pid=%d denied: %s%s%s", profile_name(p), (unsigned)c->uid,
		 (int)c->pid, op, cmdlet != NULL ? " " : "", cmdlet != NULL ? cmdlet : "");
	return 0;
}

static void op_run(struct conn *c, const struct wire_request *wr)
{
	const char *cmdlet = jtree_str(wr->root, "cmdlet");
	yajl_val params = jtree_get(wr->root, "params");
	yajl_val progress = jtree_get(wr->root, "progress");
	struct request *r = c->req;
	struct invoke iv;
	struct exo_end end;
	char why[BINDER_ERR_LEN];
	int rc;

	if (cmdlet == NULL || !wire_cmdlet_valid(cmdlet)) {
		request_fail(c, WIRE_E_BAD_REQUEST, "run needs \"cmdlet\": a cmdlet name such as Get-Mailbox");
		return;
	}
	if (params != NULL && !YAJL_IS_OBJECT(params) && !YAJL_IS_NULL(params)) {
		request_fail(c, WIRE_E_BAD_REQUEST, "\"params\" must be an object");
		return;
	}
	if (YAJL_IS_NULL(params))
		params = NULL;
	if (progress != NULL && !YAJL_IS_TRUE(progress) && !YAJL_IS_FALSE(progress)) {
		request_fail(c, WIRE_E_BAD_REQUEST, "\"progress\" must be true or false");
		return;
	}
	if (!conn_allowed(c, "run", cmdlet, why, sizeof(why))) {
		request_fail(c, WIRE_E_FORBIDDEN, why);
		return;
	}
	if (invoke_prepare(&iv, invoke_services(profile_service(r->profile)), cmdlet, params, why,
			   sizeof(why)) < 0) {
		invoke_clear(&iv);
		request_fail(c, WIRE_E_BAD_REQUEST, why);
		return;
	}
	utf8_copy(r->cmdlet, sizeof(r->cmdlet), iv.rq.cmdlet, strlen(iv.rq.cmdlet));
	iv.rq.progress = YAJL_IS_TRUE(progress);
	rc = profile_run(r->profile, &iv.rq, &run_sink, c, &r->call, &end);
	invoke_clear(&iv);
	if (rc < 0) {
		r->call = NULL;
		send_error(c, r->id, end.error, end.message, &end);
		request_end(c, wire_error_code(end.error), 0);
		return;
	}
	request_wait(c);
}

/* --- status, ping, refresh, logout, metrics -------------------------------- */

/* Profiles a peer may see: those it may use at all. */
static int conn_sees(struct conn *c, const struct profile *p)
{
	return conn_level(c, p) != ACCESS_NONE;
}

static void fill_status(struct conn *c, yajl_gen g)
{
	struct request *r = c->req;

	json_str(g, "profiles");
	yajl_gen_array_open(g);
	for (struct profile *p = c->s->profiles; p != NULL; p = profile_next(p))
		if ((r->profile == NULL || r->profile == p) && conn_sees(c, p))
			profile_status(p, g);
	yajl_gen_array_close(g);
}

static void fill_pong(struct conn *c, yajl_gen g)
{
	(void)c;
	json_str(g, "pong");
	yajl_gen_bool(g, 1);
	json_kv_str(g, "version", EXOD_VERSION);
}

/* The daemon's counters and those of the profiles the peer may see (c NULL: all); *n of them. */
static struct metrics_profile *server_metrics(struct server *s, struct conn *c,
					      struct metrics_daemon *d, size_t *n)
{
	struct metrics_profile *ps;
	struct http_stats hs;
	size_t count = 0;

	http_get_stats(s->http, &hs);
	d->clients = s->nconns;
	d->busy = s->busy;
	d->http_transfers = hs.transfers;
	d->http_connects = hs.connects;
	for (struct profile *p = s->profiles; p != NULL; p = profile_next(p))
		count++;
	ps = calloc(count > 0 ? count : 1, sizeof(*ps));
	*n = 0;
	if (ps == NULL)
		return NULL;
	for (struct profile *p = s->profiles; p != NULL; p = profile_next(p))
		if (c == NULL || conn_sees(c, p))
			profile_metrics(p, &ps[(*n)++]);
	return ps;
}

static char *server_prometheus_for(struct server *s, struct conn *c)
{
	struct metrics_daemon d;
	size_t n;
	struct metrics_profile *ps = server_metrics(s, c, &d, &n);
	char *text = ps != NULL ? metrics_prometheus(&d, ps, n) : NULL;

	free(ps);
	return text;
}

char *server_prometheus(struct server *s)
{
	return server_prometheus_for(s, NULL);
}

static void fill_metrics(struct conn *c, yajl_gen g)
{
	struct metrics_daemon d;
	size_t n;
	struct metrics_profile *ps = server_metrics(c->s, c, &d, &n);

	metrics_json(g, &d, ps, n);
	free(ps);
}

static void fill_prometheus(struct conn *c, yajl_gen g)
{
	char *text = server_prometheus_for(c->s, c);

	json_kv_str(g, "text", text != NULL ? text : "");
	free(text);
}

static void op_ping(struct conn *c, const struct wire_request *wr)
{
	(void)wr;
	request_done(c, fill_pong);
}

static void op_status(struct conn *c, const struct wire_request *wr)
{
	(void)wr;
	request_done(c, fill_status);   /* a named profile the peer may not use was refused */
}

static void op_metrics(struct conn *c, const struct wire_request *wr)
{
	const char *format = jtree_str(wr->root, "format");

	if (format != NULL && strcmp(format, "prometheus") != 0 && strcmp(format, "json") != 0) {
		request_fail(c, WIRE_E_BAD_REQUEST, "\"format\" is \"json\" or \"prometheus\"");
		return;
	}
	request_done(c, format != NULL && strcmp(format, "prometheus") == 0 ? fill_prometheus
										 : fill_metrics);
}

static void op_logout(struct conn *c, const struct wire_request *wr)
{
	char msg[512];
	yajl_gen g;

	(void)wr;
	profile_logout(c->req->profile, msg, sizeof(msg));
	log_info("profile %s: logged out by uid=%u: %s", profile_name(c->req->profile),
		 (unsigned)c->uid, msg);
	g = line_open(c, c->req->id, "done");
	json_kv_str(g, "message", msg);
	line_send(c, g);
	request_end(c, "ok", 0);
}

static void op_cancel(struct conn *c, const struct wire_request *wr)
{
	(void)wr;
	request_done(c, NULL);  /* nothing running: nothing to cancel */
}

static void refresh_ready(void *arg, const char *token, unsigned gen, enum wire_error err,
			  const char *message)
{
	struct conn *c = arg;

	(void)gen;
	request_resumed(c)->wait = NULL;
	if (token == NULL)
		request_fail(c, err, message);
	else
		request_done(c, NULL);
}

static void op_refresh(struct conn *c, const struct wire_request *wr)
{
	struct request *r = c->req;

	(void)wr;
	profile_refresh(r->profile);
	r->wait = profile_wait(r->profile, refresh_ready, c);
	if (r->wait == NULL) {
		request_fail(c, WIRE_E_UPSTREAM, "out of memory");
		return;
	}
	request_wait(c);
}

/* --- login -------------------------------------------------------------- */

static void login_progress(void *arg, const struct auth_login_info *info)
{
	struct conn *c = arg;
	yajl_gen g = line_open(c, c->req->id, "login");

	json_kv_str(g, "verification_uri", info->verification_uri);
	json_kv_str(g, "user_code", info->user_code);
	json_kv_str(g, "message", info->message);
	json_kv_int(g, "expires_in", info->expires_in);
	line_send(c, g);
}

static void fill_identity(struct conn *c, yajl_gen g)
{
	json_kv_str(g, "identity", profile_identity(c->req->profile));
}

static void login_ready(void *arg, const char *token, unsigned gen, enum wire_error err,
			const char *message)
{
	struct conn *c = arg;
	const char *who = profile_identity(request_resumed(c)->profile);

	(void)gen;
	c->req->wait = NULL;
	if (token == NULL) {
		request_fail(c, err, message);
		return;
	}
	log_info("profile %s: signed in as %s (uid=%u)", profile_name(c->req->profile),
		 who != NULL ? who : "?", (unsigned)c->uid);
	request_done(c, fill_identity);
}

/* The first step of a browser sign-in: the authorize URL, which the client completes and opens. */
static void op_login_authorize(struct conn *c)
{
	char err[1024];
	char *url = profile_authorize_url(c->req->profile, err, sizeof(err));
	yajl_gen g;

	if (url == NULL) {
		request_fail(c, WIRE_E_BAD_REQUEST, err);
		return;
	}
	g = line_open(c, c->req->id, "done");
	json_kv_str(g, "method", "browser");
	json_kv_str(g, "authorize_url", url);
	line_send(c, g);
	free(url);
	request_end(c, "ok", 0);
}

/* The string fields of a login line, in the order op_login reads them. */
enum login_field { LOGIN_PASSWORD, LOGIN_METHOD, LOGIN_CODE, LOGIN_VERIFIER, LOGIN_REDIRECT,
		   LOGIN_NFIELDS };
static const char *const login_fields[LOGIN_NFIELDS] = {
	"password", "method", "code", "code_verifier", "redirect_uri",
};

/* Each field's string, NULL when absent; -1 when one is there but not a string. */
static int login_read_fields(const struct wire_request *wr, const char *out[LOGIN_NFIELDS])
{
	for (int i = 0; i < LOGIN_NFIELDS; i++) {
		yajl_val v = jtree_get(wr->root, login_fields[i]);

		if (v != NULL && !YAJL_IS_STRING(v))
			return -1;
		out[i] = v != NULL ? v->u.string : NULL;
	}
	return 0;
}

/* A secret field in a wiping buffer; 0 with *out NULL when absent, -1 when out of memory. */
static int login_secret(const char *s, struct sbuf **out)
{
	*out = s != NULL ? sbuf_dup_str(s) : NULL;
	return s != NULL && *out == NULL ? -1 : 0;
}

static void op_login(struct conn *c, const struct wire_request *wr)
{
	struct request *r = c->req;
	struct sbuf *password = NULL, *code = NULL, *verifier = NULL;
	enum wire_error fail = WIRE_E_COUNT;    /* none */
	struct auth_login_req req;
	const char *f[LOGIN_NFIELDS];
	char err[1024];

	if (login_read_fields(wr, f) < 0) {
		request_fail(c, WIRE_E_BAD_REQUEST, "\"password\", \"method\", \"code\", "
			     "\"code_verifier\" and \"redirect_uri\" are strings");
		return;
	}
	if (f[LOGIN_CODE] == NULL && f[LOGIN_VERIFIER] == NULL && f[LOGIN_REDIRECT] == NULL &&
	    profile_login_is_browser(r->profile, f[LOGIN_METHOD])) {
		op_login_authorize(c);
		return;
	}
	if (login_secret(f[LOGIN_PASSWORD], &password) < 0 ||
	    login_secret(f[LOGIN_CODE], &code) < 0 || login_secret(f[LOGIN_VERIFIER], &verifier) < 0) {
		fail = WIRE_E_UPSTREAM;
		snprintf(err, sizeof(err), "out of memory");
	} else {
		req = (struct auth_login_req){ f[LOGIN_METHOD], password, code, verifier,
					       f[LOGIN_REDIRECT] };
		if (profile_login(r->profile, &req, login_progress, c, err, sizeof(err)) < 0)
			fail = WIRE_E_BAD_REQUEST;
	}
	sbuf_free(password);
	sbuf_free(code);
	sbuf_free(verifier);
	if (fail != WIRE_E_COUNT) {
		request_fail(c, fail, err);
		return;
	}
	r->wait = profile_wait(r->profile, login_ready, c);
	if (r->wait == NULL) {
		request_fail(c, WIRE_E_UPSTREAM, "out of memory");
		return;
	}
	request_wait(c);
}

/* --- dispatch ------------------------------------------------------------ */

static const struct server_op server_ops[] = {
	{ "run", 1, 0, op_run },
	{ "ping", 0, 0, op_ping },
	{ "status", 0, 0, op_status },
	{ "metrics", 0, 0, op_metrics },
	{ "refresh", 1, 1, op_refresh },
	{ "login", 1, 1, op_login },
	{ "logout", 1, 1, op_logout },
	{ "cancel", 0, 0, op_cancel },
};

static const struct server_op *server_op_find(const char *name)
{
	for (size_t i = 0; i < sizeof(server_ops) / sizeof(server_ops[0]); i++)
		if (strcmp(name, server_ops[i].name) == 0)
			return &server_ops[i];
	return NULL;
}

static struct profile *server_find(const struct server *s, const char *name)
{
	for (struct profile *p = s->profiles; p != NULL; p = profile_next(p))
		if (strcmp(profile_name(p), name) == 0)
			return p;
	return NULL;
}

/*
 * The profile of a request that names none: default_profile when the peer
 * may use it, else the only profile the peer may use; NULL when neither,
 * with *usable the number it may use.
 */
static struct profile *conn_default_profile(struct conn *c, int *usable)
{
	const char *name = c->s->conf->default_profile;
	struct profile *dflt = name != NULL ? server_find(c->s, name) : NULL;
	struct profile *only = NULL;

	*usable = 0;
	if (dflt != NULL && conn_sees(c, dflt))
		return dflt;
	for (struct profile *p = c->s->profiles; p != NULL; p = profile_next(p)) {
		if (conn_sees(c, p)) {
			only = p;
			++*usable;
		}
	}
	return *usable == 1 ? only : NULL;
}

/* text, then the profiles the peer may use and how to pick one (how); never any other profile. */
static void conn_profiles_message(struct conn *c, const char *text, const char *how, char *msg,
				 size_t len)
{
	size_t off = (size_t)snprintf(msg, len, "%s", text);
	int n = 0;

	for (struct profile *p = c->s->profiles; p != NULL; p = profile_next(p)) {
		if (!conn_sees(c, p))
			continue;
		if (n < SERVER_NAMES_SHOWN && off < len)
			off += (size_t)snprintf(msg + off, len - off, "%s%s",
						n == 0 ? "; you may use: " : ", ", profile_name(p));
		n++;
	}
	if (off >= len)
		return;
	if (n == 0)
		snprintf(msg + off, len - off, "; uid %u may use none of this exod's profiles",
			 (unsigned)c->uid);
	else if (n > SERVER_NAMES_SHOWN)
		snprintf(msg + off, len - off, " and %d more (%s)", n - SERVER_NAMES_SHOWN, how);
	else
		snprintf(msg + off, len - off, " (%s)", how);
}

/* Ends the request with an error that lists the profiles the peer may use, as "profiles" too. */
static void request_fail_listing(struct conn *c, enum wire_error e, const char *text,
				 const char *how)
{
	char msg[SERVER_MESSAGE_MAX];
	yajl_gen g = line_open(c, c->req->id, "error");

	conn_profiles_message(c, text, how, msg, sizeof(msg));
	json_str(g, "error");
	yajl_gen_map_open(g);
	json_kv_str(g, "code", wire_error_code(e));
	json_kv_str(g, "message", msg);
	json_str(g, "profiles");
	yajl_gen_array_open(g);
	for (struct profile *p = c->s->profiles; p != NULL; p = profile_next(p))
		if (conn_sees(c, p))
			json_str(g, profile_name(p));
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	line_send(c, g);
	request_end(c, wire_error_code(e), 0);
}

/*
 * Finds the profile the request is for (see conn_default_profile), or
 * answers why there is none: 0 to go on, -1 when the request has ended.
 */
static int request_find_profile(struct conn *c, const struct wire_request *wr)
{
	struct request *r = c->req;
	char text[CONF_NAME_MAX + 96];
	int usable;

	if (wr->profile == NULL && !r->op->needs_profile)
		return 0;
	if (wr->profile == NULL) {
		r->profile = conn_default_profile(c, &usable);
		if (r->profile != NULL)
			return 0;
		if (usable == 0) {
			log_warn("profile=- uid=%u pid=%d denied: %s (may use no profile)",
				 (unsigned)c->uid, (int)c->pid, r->op->name);
			request_fail_listing(c, WIRE_E_FORBIDDEN, "no profile given", "");
		} else {
			request_fail_listing(c, WIRE_E_UNKNOWN_PROFILE, "no profile given",
					     "exoctl -p NAME, or default_profile in exod.conf");
		}
		return -1;
	}
	r->profile = server_find(c->s, wr->profile);
	if (r->profile == NULL) {
		snprintf(text, sizeof(text), "no profile named \"%.64s\"", wr->profile);
		request_fail_listing(c, WIRE_E_UNKNOWN_PROFILE, text, "exoctl -p NAME");
		return -1;
	}
	if (!conn_sees(c, r->profile)) {
		log_warn("profile=%s uid=%u pid=%d denied: %s (may not use the profile)",
			 profile_name(r->profile), (unsigned)c->uid, (int)c->pid, r->op->name);
		snprintf(text, sizeof(text), "uid %u may not use profile %s", (unsigned)c->uid,
			 profile_name(r->profile));
		r->profile = NULL;
		request_fail_listing(c, WIRE_E_FORBIDDEN, text, "exoctl -p NAME");
		return -1;
	}
	return 0;
}

static void request_dispatch(struct conn *c, const struct wire_request *wr)
{
	struct request *r = c->req;
	char why[256];

	r->op = server_op_find(wr->op);
	if (r->op == NULL) {
		request_fail(c, WIRE_E_UNKNOWN_OP, "unknown op; see doc/PROTOCOL.md");
		return;
	}
	if (c->s->draining) {
		request_fail(c, WIRE_E_SHUTTING_DOWN, "exod is shutting down");
		return;
	}
	if (request_find_profile(c, wr) < 0)
		return;
	if (r->profile != NULL)
		profile_hold(r->profile);
	if (r->op->manages && !conn_allowed(c, r->op->name, NULL, why, sizeof(why))) {
		request_fail(c, WIRE_E_FORBIDDEN, why);
		return;
	}
	r->op->run(c, wr);
}

/* Starts the request on one line; it may end before this returns. */
static void request_start(struct conn *c, const unsigned char *line, size_t len)
{
	struct wire_request wr;
	char why[160];
	struct request *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		conn_set_state(c, CONN_CLOSING);
		return;
	}
	r->state = REQ_DISPATCHING;
	clock_gettime(CLOCK_MONOTONIC, &r->started);
	r->started_ms = clock_ms();
	c->req = r;
	c->s->busy++;
	conn_set_state(c, CONN_BUSY);
	if (wire_parse_request(line, len, &wr, why, sizeof(why)) < 0) {
		memcpy(r->id, wr.id, sizeof(r->id));
		request_fail(c, WIRE_E_BAD_REQUEST, why);
	} else {
		memcpy(r->id, wr.id, sizeof(r->id));
		request_dispatch(c, &wr);
	}
	/* The tree is wiped as it is freed: a login line carries a password. */
	wire_request_free(&wr);
}

/* Stops what the request waits for, so that it can end now. */
static void request_abandon(struct request *r)
{
	exo_call_cancel(r->call);
	r->call = NULL;
	profile_wait_cancel(r->wait);
	r->wait = NULL;
	/* A device-code sign-in goes on (it may still be approved), but not its messages to us. */
	if (request_is(r, "login"))
		profile_login_detach(r->profile);
}

/* Stops the running request at the client's word; the answer ends with Cancelled. */
static void conn_cancel_running(struct conn *c)
{
	request_abandon(c->req);
	request_fail(c, WIRE_E_CANCELLED, "cancelled by the client");
}

/*
 * A running request only listens for a cancel line at the front of the
 * input; 1 when there was one (the request has then ended).
 */
static int conn_check_cancel(struct conn *c)
{
	const unsigned char *buf = sbuf_ptr(c->in);
	struct wire_request wr;
	size_t line_len, used;
	char why[160];
	int cancel;

	if (wire_frame_next((const char *)buf, sbuf_len(c->in), WIRE_MAX_LINE, &line_len, &used) !=
	    WIRE_LINE)
		return 0;
	cancel = wire_parse_request(buf, line_len, &wr, why, sizeof(why)) == 0 &&
		 strcmp(wr.op, "cancel") == 0;
	wire_request_free(&wr);
	if (!cancel)
		return 0;
	sbuf_consume(c->in, used);
	conn_cancel_running(c);
	return 1;
}

/* --- input ------------------------------------------------------------- */

/*
 * Reads request lines and runs them, one at a time, in a loop: at most
 * SERVER_LINES_PER_TURN per event-loop turn, none while a request runs or
 * while the client leaves its answers unread.
 */
static void conn_process(struct conn *c)
{
	int lines = 0;

	c->processing = 1;
	for (;;) {
		const char *buf = (const char *)sbuf_ptr(c->in);
		size_t avail = sbuf_len(c->in), line_len = 0, used = 0;
		enum wire_frame f;

		/* A cancel ends the running request, and the lines after it are read on. */
		if (c->state == CONN_BUSY && conn_check_cancel(c))
			continue;
		if (c->state != CONN_IDLE || evbuffer_get_length(c->out) >= SERVER_HIGH_WATER)
			break;
		f = wire_frame_next(buf, avail, WIRE_MAX_LINE, &line_len, &used);

		if (f == WIRE_TOO_LONG) {
			send_error(c, NULL, WIRE_E_TOO_LARGE, "request line longer than 65536 bytes", NULL);
			conn_set_state(c, CONN_CLOSING);
			break;
		}
		if (f == WIRE_NEED_MORE) {
			if (!c->read_closed || avail == 0)
				break;
			/* The last line of a client that closed without a newline. */
			line_len = used = avail;
		}
		if (lines++ == SERVER_LINES_PER_TURN) {
			conn_schedule(c);       /* the others get their turn first */
			break;
		}
		if (line_len > 0)
			request_start(c, (const unsigned char *)buf, line_len);
		/* Wiped as it goes: the line may carry a password. */
		sbuf_consume(c->in, used);
		c->partial_since = 0;   /* the next line's time starts when it does */
	}
	c->processing = 0;
	conn_update(c);
}

/* Closes the connection once its answers are out; half-closes first so that they arrive. */
static void conn_close_when_flushed(struct conn *c)
{
	if (c->state != CONN_CLOSING || evbuffer_get_length(c->out) > 0)
		return;
	if (c->read_closed || c->rfd != c->wfd) {
		conn_free(c);
		return;
	}
	/*
	 * Closing with unread input makes the kernel reset the connection, and
	 * the client would lose the answer that explains why: half-close,
	 * discard what still comes, and close when the peer does.
	 */
	conn_set_state(c, CONN_LINGERING);
	shutdown(c->wfd, SHUT_WR);
	c->linger_until = clock_ms() + SERVER_LINGER_S * 1000LL;
	conn_update(c);
}

/* The earliest deadline of the connection: lingering, a half-sent line, unread answers. */
static long long conn_deadline(const struct conn *c)
{
	const struct conf *conf = c->s->conf;
	long long when = 0;

	if (c->state == CONN_LINGERING)
		return c->linger_until;
	if (c->state == CONN_IDLE && c->partial_since > 0)
		when = c->partial_since + conf->client_timeout * 1000LL;
	if (conf->send_timeout > 0 && evbuffer_get_length(c->out) > 0) {
		long long w = c->written_at + conf->send_timeout * 1000LL;

		if (when == 0 || w < when)
			when = w;
	}
	return when;
}

/* 1 when the input ends in a line that has begun but has no newline yet, and holds no whole one. */
static int conn_half_line(const struct conn *c)
{
	size_t line_len, used;

	return sbuf_len(c->in) > 0 &&
	       wire_frame_next((const char *)sbuf_ptr(c->in), sbuf_len(c->in), WIRE_MAX_LINE,
			       &line_len, &used) == WIRE_NEED_MORE;
}

/* Brings reading, the timer and closing in line with the state, after anything changed. */
static void conn_update(struct conn *c)
{
	int room = sbuf_room(c->in) > 0 && !c->read_closed;
	long long deadline;

	if (c->state == CONN_IDLE && c->read_closed && sbuf_len(c->in) == 0)
		conn_set_state(c, CONN_CLOSING);
	if (c->state == CONN_CLOSING && evbuffer_get_length(c->out) == 0) {
		conn_close_when_flushed(c);
		return;
	}
	/*
	 * Only a line the client has begun and not finished runs the
	 * client_timeout clock: whole lines held back while answers wait
	 * unread are send_timeout's business.
	 */
	if (c->state == CONN_IDLE && !c->read_closed && conn_half_line(c)) {
		if (c->partial_since == 0)
			c->partial_since = clock_ms();
	} else {
		c->partial_since = 0;
	}
	/* Not read: a closing client, and one whose answers pile up unread between requests. */
	if (room && c->state != CONN_CLOSING &&
	    (c->state != CONN_IDLE || evbuffer_get_length(c->out) < SERVER_HIGH_WATER))
		event_add(c->rev, NULL);
	else
		event_del(c->rev);
	deadline = conn_deadline(c);
	if (deadline > 0) {
		struct timeval tv = clock_tv(deadline - clock_ms());

		evtimer_add(c->timer, &tv);
	} else {
		evtimer_del(c->timer);
	}
}

/* EOF from a half-closed peer still wants its answers; a peer that is gone does not. */
static int conn_peer_gone(const struct conn *c)
{
	struct pollfd pfd = { .fd = c->wfd, .events = POLLOUT };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR));
}

static void conn_gone(struct conn *c, const char *why)
{
	/* Whatever runs for it is cancelled, its pool slot freed. */
	if (c->req != NULL)
		log_info("uid=%u pid=%d %s; cancelling its %s", (unsigned)c->uid, (int)c->pid, why,
			 c->req->op != NULL ? c->req->op->name : "request");
	conn_free(c);
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	size_t want = sbuf_room(c->in) < SERVER_READ_CHUNK ? sbuf_room(c->in) : SERVER_READ_CHUNK;
	unsigned char *dst;
	ssize_t n;

	(void)what;
	if (want == 0) {
		conn_update(c);         /* full: stop reading until a line is taken */
		return;
	}
	dst = sbuf_reserve(c->in, want);
	if (dst == NULL) {
		conn_gone(c, "out of memory");
		return;
	}
	n = read(fd, dst, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		sbuf_commit(c->in, 0);
		return;
	}
	sbuf_commit(c->in, n > 0 ? (size_t)n : 0);
	if (c->state == CONN_LINGERING) {
		sbuf_reset(c->in);
		if (n <= 0)
			conn_free(c);
		return;
	}
	if (n < 0) {
		conn_gone(c, "connection failed");
		return;
	}
	if (n == 0) {
		if (conn_peer_gone(c)) {
			conn_gone(c, "disconnected");
			return;
		}
		c->read_closed = 1;
	}
	conn_process(c);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int n;

	(void)what;
	/* A request's log line is out before its answer: whoever reads the answer finds the line. */
	log_flush();
	n = evbuffer_write(c->out, fd);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		conn_gone(c, "stopped reading (write failed)");
		return;
	}
	if (n > 0)
		c->written_at = clock_ms();
	if (evbuffer_get_length(c->out) == 0)
		event_del(c->wev);
	else if (!event_pending(c->wev, EV_WRITE, NULL))
		event_add(c->wev, NULL);
	if (evbuffer_get_length(c->out) < SERVER_LOW_WATER) {
		if (c->req != NULL && c->req->call != NULL)
			exo_call_resume(c->req->call);
		else if (c->state == CONN_IDLE && sbuf_len(c->in) > 0)
			conn_schedule(c);
	}
	conn_update(c);
}

static void conn_turn_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_process(arg);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	const struct conf *conf = c->s->conf;
	long long now = clock_ms();

	(void)fd;
	(void)what;
	if (c->state == CONN_LINGERING) {
		conn_free(c);
		return;
	}
	if (conf->send_timeout > 0 && evbuffer_get_length(c->out) > 0 &&
	    now >= c->written_at + conf->send_timeout * 1000LL) {
		log_warn("uid=%u pid=%d left its answers unread for %d s (send_timeout); disconnecting",
			 (unsigned)c->uid, (int)c->pid, conf->send_timeout);
		conn_free(c);
		return;
	}
	if (c->state == CONN_IDLE && c->partial_since > 0 &&
	    now >= c->partial_since + conf->client_timeout * 1000LL) {
		char msg[128];

		log_warn("uid=%u pid=%d sent half a request line and stalled for %d s (client_timeout); "
			 "closing", (unsigned)c->uid, (int)c->pid, conf->client_timeout);
		snprintf(msg, sizeof(msg), "the request line was not completed within %d s",
			 conf->client_timeout);
		send_error(c, NULL, WIRE_E_TIMEOUT, msg, NULL);
		sbuf_reset(c->in);
		conn_set_state(c, CONN_CLOSING);
	}
	conn_update(c);
}

/* --- connections ----------------------------------------------------------- */

static struct uid_slot *server_slot(struct server *s, uid_t uid, int create)
{
	struct uid_slot *u;

	LIST_FOREACH(u, &s->slots, entry)
		if (u->uid == uid)
			return u;
	if (!create || (u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	u->uid = uid;
	LIST_INSERT_HEAD(&s->slots, u, entry);
	return u;
}

static void conn_free(struct conn *c)
{
	struct server *s = c->s;

	if (c->req != NULL) {
		request_abandon(c->req);
		c->processing = 1;      /* no next turn: the connection goes */
		request_end(c, "disconnected", 0);
	}
	if (c->slot != NULL && --c->slot->n == 0) {
		LIST_REMOVE(c->slot, entry);
		free(c->slot);
	}
	TAILQ_REMOVE(&s->conns, c, entry);
	s->nconns--;
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->turn != NULL)
		event_free(c->turn);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->out != NULL)
		evbuffer_free(c->out);
	sbuf_free(c->in);
	close(c->rfd);
	if (c->wfd != c->rfd)
		close(c->wfd);
	free(c);
}

/* Root and exod's own user may use the reserve, and have no per-user limit. */
static int server_privileged(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* NULL when the user may connect; else why not. */
static const char *server_refuse(struct server *s, uid_t uid, char *why, size_t len)
{
	const struct conf *conf = s->conf;
	const struct uid_slot *u = server_slot(s, uid, 0);

	if (server_privileged(uid)) {
		if (s->nconns < conf->max_clients)
			return NULL;
		snprintf(why, len, "%d clients connected (max_clients)", s->nconns);
		return why;
	}
	if (s->nconns >= conf->max_clients - conf->reserved_clients) {
		snprintf(why, len, "%d clients connected (max_clients less reserved_clients)",
			 s->nconns);
		return why;
	}
	if (u != NULL && u->n >= conf->max_clients_per_uid) {
		snprintf(why, len, "uid %u has %d connections (max_clients_per_uid)", (unsigned)uid,
			 u->n);
		return why;
	}
	return NULL;
}

/* Refusals come in floods: log the first, then a count at most every SERVER_LOG_EVERY_S. */
static void server_log_refusal(struct server *s, uid_t uid, const char *why)
{
	long long now = clock_ms();

	s->refused++;
	if (now - s->refused_logged < SERVER_LOG_EVERY_S * 1000LL && s->refused_logged != 0)
		return;
	log_warn("uid=%u refused: %s (%lu refused since the last such line)", (unsigned)uid, why,
		 s->refused);
	s->refused = 0;
	s->refused_logged = now;
}

/* Says why, best effort (the socket is new and empty), then closes. */
static void server_turn_away(int fd, const char *why)
{
	char line[256];
	int n = snprintf(line, sizeof(line),
			 "{\"type\":\"error\",\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n",
			 wire_error_code(WIRE_E_TOO_MANY_CLIENTS), why);

	if (n > 0 && (size_t)n < sizeof(line))
		(void)!send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static int conn_setup(struct conn *c)
{
	struct event_base *base = c->s->base;

	c->in = sbuf_new(SERVER_MAX_PENDING);
	c->out = evbuffer_new();
	c->rev = event_new(base, c->rfd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->wev = event_new(base, c->wfd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	c->turn = evtimer_new(base, conn_turn_cb, c);
	c->timer = evtimer_new(base, conn_timer_cb, c);
	if (c->in == NULL || c->out == NULL || c->rev == NULL || c->wev == NULL || c->turn == NULL ||
	    c->timer == NULL)
		return -1;
	return 0;
}

struct conn *server_conn_open(struct server *s, int rfd, int wfd, uid_t uid, gid_t gid,
			      pid_t pid)
{
	char why[128];
	const char *refused = server_refuse(s, uid, why, sizeof(why));
	struct conn *c;

	if (refused != NULL) {
		server_log_refusal(s, uid, refused);
		if (rfd != wfd)
			close(rfd);
		server_turn_away(wfd, refused);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(rfd);
		if (wfd != rfd)
			close(wfd);
		return NULL;
	}
	c->s = s;
	c->state = CONN_IDLE;
	c->rfd = rfd;
	c->wfd = wfd;
	c->uid = uid;
	c->gid = gid;
	c->pid = pid;
	c->ngroups = -1;
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	s->nconns++;
	c->slot = server_slot(s, uid, 1);
	if (c->slot != NULL)
		c->slot->n++;
	if (conn_setup(c) < 0) {
		conn_free(c);
		return NULL;
	}
	event_add(c->rev, NULL);
	return c;
}

static void server_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			  int salen, void *arg)
{
	struct server *s = arg;
	struct ucred cred;
	socklen_t credlen = sizeof(cred);

	(void)l;
	(void)sa;
	(void)salen;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0) {
		log_warn("cannot read peer credentials: %s", strerror(errno));
		close(fd);
		return;
	}
	server_conn_open(s, fd, fd, cred.uid, cred.gid, cred.pid);
}

static void server_resume_accept(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	if (s->listener != NULL)
		evconnlistener_enable(s->listener);
}

/*
 * accept() failed for want of descriptors (or memory): the pending
 * connection stays queued and the listener would fire again at once.
 * Stop accepting for a moment instead of spinning.
 */
static void server_accept_error(struct evconnlistener *l, void *arg)
{
	struct server *s = arg;
	struct timeval tv = clock_tv(SERVER_ACCEPT_PAUSE_MS);
	int err = EVUTIL_SOCKET_ERROR();
	long long now = clock_ms();

	evconnlistener_disable(l);
	evtimer_add(s->accept_pause, &tv);
	if (now - s->refused_logged >= SERVER_LOG_EVERY_S * 1000LL || s->refused_logged == 0) {
		log_err("cannot accept a client: %s (%d connected); pausing %d ms", strerror(err),
			s->nconns, SERVER_ACCEPT_PAUSE_MS);
		s->refused_logged = now;
	}
}

static int server_listen_on(struct server *s, int fd, int backlog)
{
	s->listener = evconnlistener_new(s->base, server_accept, s,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, backlog, fd);
	if (s->listener == NULL)
		return -1;
	evconnlistener_set_error_cb(s->listener, server_accept_error);
	return 0;
}

struct server *server_new(struct event_base *base, const struct conf *conf,
			  struct profile *profiles, struct http *http)
{
	struct server *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->base = base;
	s->conf = conf;
	s->profiles = profiles;
	s->http = http;
	TAILQ_INIT(&s->conns);
	LIST_INIT(&s->slots);
	s->accept_pause = evtimer_new(base, server_resume_accept, s);
	s->gen = server_gen();
	if (s->accept_pause == NULL || s->gen == NULL) {
		if (s->accept_pause != NULL)
			event_free(s->accept_pause);
		if (s->gen != NULL)
			yajl_gen_free(s->gen);
		free(s);
		return NULL;
	}
	return s;
}

void server_free(struct server *s)
{
	if (s == NULL)
		return;
	/* conn_free unlinks the connection; the analyzer does not follow TAILQ_REMOVE there. */
	while (!TAILQ_EMPTY(&s->conns))
		conn_free(TAILQ_FIRST(&s->conns)); /* NOLINT(clang-analyzer-unix.Malloc) */
	if (s->listener != NULL)
		evconnlistener_free(s->listener);
	event_free(s->accept_pause);
	yajl_gen_free(s->gen);
	if (s->owns_path)
		unlink(s->conf->socket);
	free(s);
}

int server_adopt(struct server *s, int fd, char *err, size_t errlen)
{
	evutil_make_socket_nonblocking(fd);
	if (server_listen_on(s, fd, -1) < 0) {
		snprintf(err, errlen, "cannot listen on the inherited socket");
		return -1;
	}
	return 0;
}

/* An existing path is replaced only when it is a socket nobody answers on. */
static int server_clear_stale(const char *path, char *err, size_t errlen)
{
	struct stat st;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: another exod is serving this socket", path);
		return -1;
	}
	return unlink(path);
}

int server_listen(struct server *s, char *err, size_t errlen)
{
	const char *path = s->conf->socket;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *errpos;
	mode_t old;
	int fd = -1;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	err[0] = '\0';
	errpos = "stale socket";
	if (server_clear_stale(path, err, errlen) < 0)
		goto failed;
	errpos = "socket";
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto failed;
	/* No window in which the socket exists with looser permissions than asked. */
	old = umask(0777 & ~(mode_t)s->conf->socket_mode);
	errpos = "bind";
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old);
		goto failed;
	}
	umask(old);
	errpos = "chmod";
	if (chmod(path, (mode_t)s->conf->socket_mode) < 0)
		goto failed;
	errpos = "listen";
	if (server_listen_on(s, fd, SOMAXCONN) < 0)
		goto failed;
	s->owns_path = 1;
	return 0;
failed:
	if (err[0] == '\0')
		snprintf(err, errlen, "cannot listen on %s: %s(): %s", path, errpos, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

void server_set_conf(struct server *s, const struct conf *conf, struct profile *profiles)
{
	s->conf = conf;
	s->profiles = profiles;
}

void server_drain(struct server *s)
{
	s->draining = 1;
	if (s->listener != NULL) {
		evconnlistener_free(s->listener);
		s->listener = NULL;
	}
}

int server_busy(const struct server *s)
{
	return s->busy;
}
