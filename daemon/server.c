/* The Unix socket server: connections, framing, dispatch, answers. */
#include "daemon/server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
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

#include "common/conf.h"
#include "common/log.h"
#include "common/wire.h"
#include "daemon/access.h"
#include "daemon/auth.h"
#include "daemon/exo_codec.h"
#include "daemon/exo.h"
#include "daemon/http.h"
#include "daemon/json.h"
#include "daemon/metrics.h"
#include "daemon/pool.h"
#include "daemon/profile.h"
#include "daemon/token.h"

#define SERVER_LINGER_S 5               /* how long a refused client may take to close */
#define SERVER_RECORD_PREFIX "{\"type\":\"record\",\"data\":"

struct conn;

/* The request a connection is running. */
struct request {
	struct conn *conn;
	char *id;                       /* the id as JSON text, or NULL */
	char op[16];
	struct profile *profile;
	char cmdlet[WIRE_MAX_CMDLET + 1];
	struct exo_call *call;
	struct token_wait *wait;
	struct timespec started;
};

struct conn {
	struct server *s;
	struct bufferevent *bev;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int ngroups;                    /* -1 until looked up (only profiles with lists need them) */
	gid_t groups[ACCESS_MAX_GROUPS];
	struct request *req;
	int read_closed;                /* the client sent EOF: answer what it sent, then close */
	int closing;                    /* close once the output is flushed */
	int lingering;                  /* half-closed by us, discarding input until the peer closes */
	TAILQ_ENTRY(conn) entry;
};

struct server {
	struct event_base *base;
	const struct conf *conf;
	struct profile *profiles;
	struct http *http;
	struct evconnlistener *listener;
	int draining;
	int owns_path;                  /* we bound conf->socket, so we remove it */
	int nconns;
	int busy;
	TAILQ_HEAD(, conn) conns;
};

static void conn_process(struct conn *c);
static int conn_allowed(struct conn *c, const char *op, const char *cmdlet);

static double server_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void conn_free(struct conn *c)
{
	struct server *s = c->s;

	if (c->req != NULL) {
		exo_call_cancel(c->req->call);
		token_wait_cancel(c->req->wait);
		/* A device-code sign-in goes on (it may still be approved), but not its messages to us. */
		if (c->req->profile != NULL && strcmp(c->req->op, "login") == 0)
			token_login_detach(c->req->profile->token);
		if (c->req->profile != NULL)
			c->req->profile->refs--;
		free(c->req->id);
		free(c->req);
		s->busy--;
	}
	TAILQ_REMOVE(&s->conns, c, entry);
	s->nconns--;
	bufferevent_free(c->bev);
	free(c);
}

/* --- writing answers ----------------------------------------------------- */

static yajl_gen server_gen(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g != NULL)
		yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

/* Opens an answer line: {"id":..,"type":type */
static yajl_gen line_open(const struct request *r, const char *type)
{
	yajl_gen g = server_gen();

	if (g == NULL)
		return NULL;
	yajl_gen_map_open(g);
	if (r != NULL && r->id != NULL) {
		json_str(g, "id");
		/* The id was validated as a string or number when the request was read. */
		yajl_gen_number(g, r->id, strlen(r->id));
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
		struct evbuffer *out = bufferevent_get_output(c->bev);

		evbuffer_add(out, buf, len);
		evbuffer_add(out, "\n", 1);
	}
	yajl_gen_free(g);
}

static void send_error(struct conn *c, const struct request *r, enum wire_error e,
		       const char *message, const struct exo_end *end)
{
	yajl_gen g = line_open(r, "error");

	if (g == NULL)
		return;
	json_str(g, "error");
	yajl_gen_map_open(g);
	json_kv_str(g, "code", wire_error_code(e));
	json_kv_str(g, "message", message);
	if (end != NULL && end->upstream_code[0] != '\0')
		json_kv_str(g, "upstream_code", end->upstream_code);
	if (end != NULL && end->http_status != 0) {
		json_kv_int(g, "http_status", end->http_status);
	}
	if (end != NULL && e == WIRE_E_THROTTLED && end->retry_after > 0) {
		json_kv_int(g, "retry_after", end->retry_after);
	}
	yajl_gen_map_close(g);
	line_send(c, g);
}

/* Ends the running request and reads the next one. */
static void request_end(struct conn *c, const char *outcome, unsigned long long count)
{
	struct request *r = c->req;
	double ms = server_ms_since(&r->started);

	if (strcmp(r->op, "run") == 0 && r->profile != NULL)
		metrics_observe(&r->profile->latency, ms);
	if (strcmp(r->op, "run") == 0)
		log_info("profile=%s uid=%u pid=%d cmdlet=%s outcome=%s count=%llu ms=%.1f",
			 r->profile != NULL ? r->profile->conf->name : "-", (unsigned)c->uid,
			 (int)c->pid, r->cmdlet[0] ? r->cmdlet : "-", outcome, count, ms);
	if (r->profile != NULL)
		r->profile->refs--;
	free(r->id);
	free(r);
	c->req = NULL;
	c->s->busy--;
	conn_process(c);
}

static void request_fail(struct conn *c, enum wire_error e, const char *message)
{
	send_error(c, c->req, e, message, NULL);
	request_end(c, wire_error_code(e), 0);
}

static void request_done(struct conn *c, void (*fill)(struct conn *, yajl_gen))
{
	yajl_gen g = line_open(c->req, "done");

	if (g != NULL) {
		if (fill != NULL)
			fill(c, g);
		line_send(c, g);
	}
	request_end(c, "ok", 0);
}

/* --- run ----------------------------------------------------------------- */

static enum exo_sink_status run_sink_status(struct conn *c)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) >= SERVER_HIGH_WATER)
		return EXO_SINK_FULL;
	return EXO_SINK_OK;
}

static enum exo_sink_status run_record(void *arg, const char *json, size_t len)
{
	struct conn *c = arg;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	const struct request *r = c->req;

	/* Spliced, not re-encoded: the codec already wrote compact, valid JSON. */
	if (r->id != NULL)
		evbuffer_add_printf(out, "{\"id\":%s,\"type\":\"record\",\"data\":", r->id);
	else
		evbuffer_add(out, SERVER_RECORD_PREFIX, sizeof(SERVER_RECORD_PREFIX) - 1);
	evbuffer_add(out, json, len);
	evbuffer_add(out, "}\n", 2);
	return run_sink_status(c);
}

static enum exo_sink_status run_warning(void *arg, const char *msg, size_t len)
{
	struct conn *c = arg;
	yajl_gen g = line_open(c->req, "warning");

	if (g == NULL)
		return EXO_SINK_OK;
	json_str(g, "message");
	yajl_gen_string(g, (const unsigned char *)msg, len);
	line_send(c, g);
	return run_sink_status(c);
}

static void run_done(void *arg, const struct exo_end *end)
{
	struct conn *c = arg;
	struct request *r = c->req;
	yajl_gen g;

	r->call = NULL;
	if (!end->ok) {
		send_error(c, r, end->error, end->message, end);
		request_end(c, wire_error_code(end->error), end->count);
		return;
	}
	g = line_open(r, "done");
	if (g != NULL) {
		json_kv_int(g, "count", (long long)end->count);
		json_str(g, "ms");
		yajl_gen_double(g, (double)(long long)(server_ms_since(&r->started) * 10) / 10);
		line_send(c, g);
	}
	request_end(c, "ok", end->count);
}

static const struct exo_sink run_sink = {
	.record = run_record,
	.warning = run_warning,
	.done = run_done,
};

static void op_run(struct conn *c, yajl_val root)
{
	const char *p_cmdlet[] = { "cmdlet", NULL };
	const char *p_params[] = { "params", NULL };
	const char *cmdlet = YAJL_GET_STRING(yajl_tree_get(root, p_cmdlet, yajl_t_string));
	yajl_val params = yajl_tree_get(root, p_params, yajl_t_any);
	struct exo_end end;

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
	if (!conn_allowed(c, "run", cmdlet)) {
		request_fail(c, WIRE_E_FORBIDDEN, "this user may not run that cmdlet on this profile");
		return;
	}
	snprintf(c->req->cmdlet, sizeof(c->req->cmdlet), "%s", cmdlet);
	if (exo_call_start(c->req->profile, cmdlet, params, &run_sink, c, &c->req->call, &end) < 0) {
		send_error(c, c->req, end.error, end.message, &end);
		request_end(c, wire_error_code(end.error), 0);
	}
}

/* --- status, ping, refresh, logout, metrics -------------------------------- */

static void fill_status(struct conn *c, yajl_gen g)
{
	struct request *r = c->req;

	json_str(g, "profiles");
	yajl_gen_array_open(g);
	for (struct profile *p = c->s->profiles; p != NULL; p = p->next)
		if (r->profile == NULL || r->profile == p)
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

static void server_metrics_daemon(const struct server *s, struct metrics_daemon *d)
{
	struct http_stats hs;

	http_get_stats(s->http, &hs);
	d->clients = s->nconns;
	d->busy = s->busy;
	d->http_transfers = hs.transfers;
	d->http_connects = hs.connects;
}

static void fill_metrics(struct conn *c, yajl_gen g)
{
	struct metrics_daemon d;

	server_metrics_daemon(c->s, &d);
	metrics_json(g, &d, c->s->profiles);
}

static void fill_prometheus(struct conn *c, yajl_gen g)
{
	struct metrics_daemon d;
	char *text;

	server_metrics_daemon(c->s, &d);
	text = metrics_prometheus(&d, c->s->profiles);
	json_kv_str(g, "text", text != NULL ? text : "");
	free(text);
}

static void refresh_ready(void *arg, const char *token, unsigned gen, enum wire_error err,
			  const char *message)
{
	struct conn *c = arg;

	(void)gen;
	c->req->wait = NULL;
	if (token == NULL)
		request_fail(c, err, message);
	else
		request_done(c, NULL);
}

static void op_refresh(struct conn *c)
{
	struct token *t = c->req->profile->token;

	token_refresh_now(t);
	c->req->wait = token_wait(t, refresh_ready, c);
	if (c->req->wait == NULL)
		request_fail(c, WIRE_E_UPSTREAM, "out of memory");
}

/* --- login -------------------------------------------------------------- */

static void login_progress(void *arg, const struct auth_login_info *info)
{
	struct conn *c = arg;
	yajl_gen g = line_open(c->req, "login");

	if (g == NULL)
		return;
	json_kv_str(g, "verification_uri", info->verification_uri);
	json_kv_str(g, "user_code", info->user_code);
	json_kv_str(g, "message", info->message);
	json_kv_int(g, "expires_in", info->expires_in);
	line_send(c, g);
}

static void fill_identity(struct conn *c, yajl_gen g)
{
	json_kv_str(g, "identity", token_identity(c->req->profile->token));
}

static void login_ready(void *arg, const char *token, unsigned gen, enum wire_error err,
			const char *message)
{
	struct conn *c = arg;

	(void)gen;
	c->req->wait = NULL;
	if (token == NULL) {
		request_fail(c, err, message);
		return;
	}
	log_info("profile %s: signed in as %s (uid=%u)", c->req->profile->conf->name,
		 token_identity(c->req->profile->token) != NULL ?
		 token_identity(c->req->profile->token) : "?", (unsigned)c->uid);
	request_done(c, fill_identity);
}

static void op_login(struct conn *c, yajl_val root)
{
	const char *p_pw[] = { "password", NULL };
	yajl_val pw = yajl_tree_get(root, p_pw, yajl_t_any);
	struct token *t = c->req->profile->token;
	char err[512];
	int rc;

	if (pw != NULL && !YAJL_IS_STRING(pw)) {
		request_fail(c, WIRE_E_BAD_REQUEST, "\"password\" must be a string");
		return;
	}
	rc = token_login(t, pw != NULL ? pw->u.string : NULL, login_progress, c, err, sizeof(err));
	if (pw != NULL)
		explicit_bzero(pw->u.string, strlen(pw->u.string));
	if (rc < 0) {
		request_fail(c, WIRE_E_BAD_REQUEST, err);
		return;
	}
	c->req->wait = token_wait(t, login_ready, c);
	if (c->req->wait == NULL)
		request_fail(c, WIRE_E_UPSTREAM, "out of memory");
}

/* --- dispatch ------------------------------------------------------------ */

static struct profile *server_profile(struct server *s, const char *name, int *ambiguous)
{
	struct profile *only = s->profiles;

	*ambiguous = 0;
	for (struct profile *p = s->profiles; name != NULL && p != NULL; p = p->next)
		if (strcmp(p->conf->name, name) == 0)
			return p;
	if (name != NULL)
		return NULL;
	if (only != NULL && only->next == NULL)
		return only;
	*ambiguous = 1;
	return NULL;
}

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

/* Whether the peer may do op on the profile (and run cmdlet, for run); logs a denial once. */
static int conn_allowed(struct conn *c, const char *op, const char *cmdlet)
{
	struct profile *p = c->req->profile;
	enum access_level level;

	if (access_open(p->access))
		return 1;
	if (c->ngroups < 0)
		conn_load_groups(c);
	level = access_check(p->access, c->uid, c->groups, c->ngroups);
	if (level == ACCESS_FULL || (level == ACCESS_READ && cmdlet != NULL &&
				     exo_codec_cmdlet_reads(cmdlet)))
		return 1;
	log_warn("profile=%s uid=%u pid=%d denied: %s%s%s", p->conf->name, (unsigned)c->uid,
		 (int)c->pid, op, cmdlet != NULL ? " " : "", cmdlet != NULL ? cmdlet : "");
	return 0;
}

/* Copies the id, as JSON text, when it is a string or a number of sane size. */
static int request_id(struct request *r, yajl_val root)
{
	const char *path[] = { "id", NULL };
	yajl_val id = yajl_tree_get(root, path, yajl_t_any);
	yajl_gen g;
	const unsigned char *buf;
	size_t len;

	if (id == NULL)
		return 0;
	if (!YAJL_IS_STRING(id) && !YAJL_IS_NUMBER(id))
		return -1;
	if (YAJL_IS_STRING(id) && strlen(id->u.string) > WIRE_MAX_ID)
		return -1;
	g = server_gen();
	if (g == NULL)
		return -1;
	if (YAJL_IS_STRING(id))
		json_str(g, id->u.string);
	else
		yajl_gen_number(g, id->u.number.r, strlen(id->u.number.r));
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		r->id = strndup((const char *)buf, len);
	yajl_gen_free(g);
	return r->id != NULL ? 0 : -1;
}

static void op_ping(struct conn *c, yajl_val root)
{
	(void)root;
	request_done(c, fill_pong);
}

static void op_status(struct conn *c, yajl_val root)
{
	(void)root;
	request_done(c, fill_status);
}

static void op_metrics(struct conn *c, yajl_val root)
{
	const char *p_format[] = { "format", NULL };
	const char *format = YAJL_GET_STRING(yajl_tree_get(root, p_format, yajl_t_string));

	if (format != NULL && strcmp(format, "prometheus") != 0 && strcmp(format, "json") != 0) {
		request_fail(c, WIRE_E_BAD_REQUEST, "\"format\" is \"json\" or \"prometheus\"");
		return;
	}
	request_done(c, format != NULL && strcmp(format, "prometheus") == 0 ? fill_prometheus
										 : fill_metrics);
}

static void op_logout(struct conn *c, yajl_val root)
{
	(void)root;
	token_forget(c->req->profile->token);
	request_done(c, NULL);
}

static void op_cancel(struct conn *c, yajl_val root)
{
	(void)root;
	request_done(c, NULL);  /* nothing running: nothing to cancel */
}

static void op_refresh_req(struct conn *c, yajl_val root)
{
	(void)root;
	op_refresh(c);
}

struct server_op {
	const char *name;
	int needs_profile;
	void (*run)(struct conn *c, yajl_val root);
};

static const struct server_op server_ops[] = {
	{ "run", 1, op_run },
	{ "ping", 0, op_ping },
	{ "status", 0, op_status },
	{ "metrics", 0, op_metrics },
	{ "refresh", 1, op_refresh_req },
	{ "login", 1, op_login },
	{ "logout", 1, op_logout },
	{ "cancel", 0, op_cancel },
};

static void request_dispatch(struct conn *c, yajl_val root)
{
	struct request *r = c->req;
	const char *p_op[] = { "op", NULL };
	const char *p_profile[] = { "profile", NULL };
	const char *op = YAJL_GET_STRING(yajl_tree_get(root, p_op, yajl_t_string));
	yajl_val pv = yajl_tree_get(root, p_profile, yajl_t_any);
	const char *pname = YAJL_GET_STRING(pv);
	const struct server_op *o = NULL;
	int ambiguous;

	if (op == NULL || (pv != NULL && pname == NULL)) {
		request_fail(c, WIRE_E_BAD_REQUEST,
			     op == NULL ? "a request needs \"op\", a string" : "\"profile\" must be a string");
		return;
	}
	snprintf(r->op, sizeof(r->op), "%s", op);
	for (size_t i = 0; i < sizeof(server_ops) / sizeof(server_ops[0]); i++)
		if (strcmp(op, server_ops[i].name) == 0)
			o = &server_ops[i];
	if (o == NULL) {
		request_fail(c, WIRE_E_UNKNOWN_OP, "unknown op; see doc/PROTOCOL.md");
		return;
	}
	if (c->s->draining) {
		request_fail(c, WIRE_E_SHUTTING_DOWN, "exod is shutting down");
		return;
	}
	r->profile = server_profile(c->s, pname, &ambiguous);
	if (r->profile != NULL)
		r->profile->refs++;
	if (r->profile == NULL && (pname != NULL || o->needs_profile)) {
		char msg[CONF_NAME_MAX + 96];

		if (ambiguous)
			snprintf(msg, sizeof(msg), "several profiles are configured: name one");
		else
			snprintf(msg, sizeof(msg), "no profile named \"%.64s\"", pname);
		request_fail(c, WIRE_E_UNKNOWN_PROFILE, msg);
		return;
	}
	/* run checks its cmdlet itself; the other profile ops change the session: full access. */
	if (o->needs_profile && o->run != op_run && !conn_allowed(c, op, NULL)) {
		request_fail(c, WIRE_E_FORBIDDEN, "this user may not manage this profile's session");
		return;
	}
	o->run(c, root);
}

static void request_start(struct conn *c, const char *line, size_t len)
{
	char errbuf[256];
	char *text = strndup(line, len);
	yajl_val root = text != NULL ? yajl_tree_parse(text, errbuf, sizeof(errbuf)) : NULL;
	struct request *r = calloc(1, sizeof(*r));

	/* A login line carries a password. */
	if (text != NULL)
		explicit_bzero(text, len);
	free(text);
	if (r == NULL) {
		yajl_tree_free(root);
		c->closing = 1;
		return;
	}
	r->conn = c;
	clock_gettime(CLOCK_MONOTONIC, &r->started);
	c->req = r;
	c->s->busy++;
	if (root == NULL || !YAJL_IS_OBJECT(root)) {
		request_fail(c, WIRE_E_BAD_REQUEST, "a request is one JSON object on one line");
	} else if (request_id(r, root) < 0) {
		request_fail(c, WIRE_E_BAD_REQUEST, "\"id\" must be a string (at most 256 bytes) or a number");
	} else {
		request_dispatch(c, root);
	}
	yajl_tree_free(root);
}

/* A "cancel" line stops the request running on the same connection. */
static int line_is_cancel(const char *line, size_t len)
{
	char *text = strndup(line, len);
	yajl_val root = text != NULL ? yajl_tree_parse(text, NULL, 0) : NULL;
	const char *p_op[] = { "op", NULL };
	const char *op = root != NULL ? YAJL_GET_STRING(yajl_tree_get(root, p_op, yajl_t_string)) : NULL;
	int cancel = op != NULL && strcmp(op, "cancel") == 0;

	yajl_tree_free(root);
	free(text);
	return cancel;
}

static void conn_cancel_running(struct conn *c)
{
	struct request *r = c->req;

	exo_call_cancel(r->call);
	r->call = NULL;
	token_wait_cancel(r->wait);
	r->wait = NULL;
	request_fail(c, WIRE_E_CANCELLED, "cancelled by the client");
}

/*
 * Closing with unread input makes the kernel reset the connection, and the
 * client would lose the answer that explains why: half-close, discard what
 * still comes, and close when the peer does (or after SERVER_LINGER_S).
 */
static void conn_close_when_flushed(struct conn *c)
{
	struct timeval tv = { SERVER_LINGER_S, 0 };

	if (c->req != NULL || evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return;         /* the write callback comes back here */
	if (c->read_closed) {
		conn_free(c);
		return;
	}
	if (!c->lingering) {
		c->lingering = 1;
		shutdown(bufferevent_getfd(c->bev), SHUT_WR);
		bufferevent_set_timeouts(c->bev, &tv, NULL);
	}
}

/* Reads whole lines while no request runs; a running one only listens for cancel. */
static void conn_process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	if (c->lingering) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	while (!c->closing) {
		size_t avail = evbuffer_get_length(in);
		size_t want = avail < WIRE_MAX_LINE ? avail : WIRE_MAX_LINE;
		const char *buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
		size_t line_len, used;
		enum wire_frame f = buf != NULL ? wire_frame_next(buf, want, WIRE_MAX_LINE, &line_len, &used)
						: WIRE_NEED_MORE;

		if (f == WIRE_TOO_LONG) {
			if (c->req != NULL)
				return;         /* answered when the running request ends */
			send_error(c, NULL, WIRE_E_TOO_LARGE, "request line longer than 65536 bytes", NULL);
			c->closing = 1;
			break;
		}
		if (f == WIRE_NEED_MORE && c->read_closed && c->req == NULL && buf != NULL) {
			/* The last line of a client that closed without a newline. */
			line_len = used = want;
		} else if (f == WIRE_NEED_MORE) {
			break;
		}
		if (c->req != NULL) {
			if (line_is_cancel(buf, line_len)) {
				evbuffer_drain(in, used);
				conn_cancel_running(c);
			}
			return;
		}
		if (line_len == 0) {
			evbuffer_drain(in, used);
			continue;
		}
		/* request_start may finish the request and re-enter; drain first. */
		{
			char *line = strndup(buf, line_len);

			/* buf is the buffer's own memory after the pullup: wipe what may be a password. */
			explicit_bzero((char *)buf, used);
			evbuffer_drain(in, used);
			if (line == NULL) {
				c->closing = 1;
				break;
			}
			request_start(c, line, line_len);
			explicit_bzero(line, line_len);
			free(line);
		}
		if (c->req != NULL)
			return;
	}
	if (c->req == NULL && c->read_closed)
		c->closing = 1;
	if (c->closing) {
		evbuffer_drain(in, evbuffer_get_length(in));
		conn_close_when_flushed(c);
	}
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	conn_process(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->req != NULL && c->req->call != NULL)
		exo_call_resume(c->req->call);
	else if (c->closing)
		conn_close_when_flushed(c);
}

/* EOF from a half-closed peer still wants its answers; a peer that is gone does not. */
static int conn_peer_gone(struct conn *c)
{
	struct pollfd pfd = { .fd = bufferevent_getfd(c->bev), .events = POLLOUT };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR));
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (!c->lingering && (what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    !conn_peer_gone(c)) {
		c->read_closed = 1;
		conn_process(c);
		return;
	}
	/* Gone: whatever runs for it is cancelled, its pool slot freed. */
	if (c->req != NULL)
		log_info("uid=%u pid=%d disconnected; cancelling its %s", (unsigned)c->uid,
			 (int)c->pid, c->req->op);
	conn_free(c);
}

static void server_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			  int salen, void *arg)
{
	struct server *s = arg;
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	struct conn *c;

	(void)l;
	(void)sa;
	(void)salen;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) < 0) {
		log_warn("cannot read peer credentials: %s", strerror(errno));
		close(fd);
		return;
	}
	if (s->nconns >= s->conf->max_clients) {
		log_warn("uid=%u refused: %d clients connected (max_clients)", (unsigned)cred.uid,
			 s->nconns);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->s = s;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	c->ngroups = -1;
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	s->nconns++;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, SERVER_LOW_WATER, 0);
	bufferevent_setwatermark(c->bev, EV_READ, 0, SERVER_MAX_PENDING);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
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
	if (s->owns_path)
		unlink(s->conf->socket);
	free(s);
}

int server_adopt(struct server *s, int fd, char *err, size_t errlen)
{
	evutil_make_socket_nonblocking(fd);
	s->listener = evconnlistener_new(s->base, server_accept, s, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (s->listener == NULL) {
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
	s->listener = evconnlistener_new(s->base, server_accept, s, LEV_OPT_CLOSE_ON_FREE,
					 SOMAXCONN, fd);
	if (s->listener == NULL)
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
