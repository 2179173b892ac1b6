/* Unit tests for daemon/server.c over pipes, fake profiles and clock: framing, limits, timeouts. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/wire.h"
#include "daemon/http.h"
#include "daemon/metrics.h"
#include "daemon/profile.h"
#include "daemon/server.h"
#include "tests/unit/fake_clock.h"

#define MAX_RUNS 16
#define MAX_CLIENTS 8
#define STACK_SLACK (64 * 1024)         /* bytes of stack a turn may use beyond the first */

/* ---- nesting and stack guards ---- */

/*
 * Work that starts from the loop (a line dispatched, a run delivering)
 * enters here.  The server must never start a line from inside another
 * or from inside a completion: depth stays 1, and the stack stays flat.
 */
static int depth;
static uintptr_t stack_top;

static void enter(void)
{
	char here;
	uintptr_t sp = (uintptr_t)&here;

	depth++;
	assert_int_equal(depth, 1);
	if (stack_top == 0 || sp > stack_top)
		stack_top = sp;
	assert_true(stack_top - sp < STACK_SLACK);
}

static void leave(void)
{
	depth--;
}

/* ---- fake profiles and runs ---- */

enum run_mode {
	RUN_DELIVER,                    /* records and done from the loop */
	RUN_HOLD,                       /* waits until the test releases it */
	RUN_REFUSE,                     /* profile_run fails on the spot (QueueFull) */
};

struct fake_profile {
	const char *name;
	struct fake_profile *next;
	int holds;                      /* profile_hold less profile_release */
	int statuses;                   /* profile_status calls: status lines answered */
	int runs;
	enum run_mode mode;
	int records;                    /* what each run delivers */
	int stop_when_full;             /* a run pauses when the sink says EXO_SINK_FULL */
	int hidden;                     /* access lists that leave the test's users out */
	enum conf_service service;      /* what profile_service says: the binder's cmdlets */
};

struct fake_run {
	struct fake_profile *p;
	const struct exo_sink *sink;
	void *arg;
	struct event *ev;
	int sent;                       /* records delivered */
	int cancelled;
	int resumes;
	int paused;                     /* stopped on EXO_SINK_FULL: a resume goes on */
	int progress;                   /* the request asked for progress */
	int done;
};

static struct fake_profile profiles[2];
static struct fake_run runs[MAX_RUNS];
static int nruns;
static int parses;                      /* wire_parse_request calls */
static int stats_calls;                 /* http_get_stats calls: metrics lines answered */
static struct event_base *base;

/* The run delivers what is left of its records, then done, unless the sink asks it to pause. */
static void run_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct fake_run *r = arg;
	struct exo_end end;
	char rec[32];

	(void)fd;
	(void)what;
	assert_false(r->cancelled || r->done);
	enter();
	while (r->sent < r->p->records) {
		int n = snprintf(rec, sizeof(rec), "{\"n\":%d}", r->sent);
		enum exo_sink_status st = r->sink->record(r->arg, rec, (size_t)n);

		r->sent++;
		if (st == EXO_SINK_FULL && r->p->stop_when_full) {
			r->paused = 1;
			leave();
			return;         /* exo_call_resume brings it back */
		}
	}
	memset(&end, 0, sizeof(end));
	end.ok = 1;
	end.count = (unsigned long long)r->sent;
	r->done = 1;
	r->sink->done(r->arg, &end);
	leave();
}

static void run_release(int i)
{
	event_active(runs[i].ev, EV_TIMEOUT, 0);
}

int __wrap_profile_run(struct profile *p, const struct exo_request *rq,
		       const struct exo_sink *sink, void *arg, struct exo_call **out,
		       struct exo_end *end);
void __wrap_exo_call_cancel(struct exo_call *c);
void __wrap_exo_call_resume(struct exo_call *c);
struct profile *__wrap_profile_next(const struct profile *p);
const char *__wrap_profile_name(const struct profile *p);
void __wrap_profile_hold(struct profile *p);
void __wrap_profile_release(struct profile *p);
int __wrap_profile_open(const struct profile *p);
enum conf_service __wrap_profile_service(const struct profile *p);
enum access_level __wrap_profile_access(const struct profile *p, uid_t uid, const gid_t *groups,
					int ngroups);
int __wrap_profile_may_run(const struct profile *p, uid_t uid, const gid_t *groups, int ngroups,
			   const char *cmdlet, char *why, size_t whylen);
void __wrap_profile_observe(struct profile *p, double ms);
int __wrap_profile_login(struct profile *p, const struct auth_login_req *req,
			 auth_progress_cb progress, void *progress_arg, char *err, size_t errlen);
int __wrap_profile_login_is_browser(const struct profile *p, const char *method);
char *__wrap_profile_authorize_url(const struct profile *p, char *err, size_t errlen);
void __wrap_profile_login_detach(struct profile *p);
void __wrap_profile_logout(struct profile *p, char *msg, size_t msglen);
void __wrap_profile_refresh(struct profile *p);
struct token_wait *__wrap_profile_wait(struct profile *p, token_cb cb, void *arg);
void __wrap_profile_wait_cancel(struct token_wait *w);
const char *__wrap_profile_identity(const struct profile *p);
void __wrap_profile_status(const struct profile *p, yajl_gen g);
void __wrap_profile_metrics(const struct profile *p, struct metrics_profile *m);
void __wrap_http_get_stats(const struct http *h, struct http_stats *out);
int __real_wire_parse_request(const void *line, size_t len, struct wire_request *req,
			      char *why, size_t whylen);
int __wrap_wire_parse_request(const void *line, size_t len, struct wire_request *req,
			      char *why, size_t whylen);

int __wrap_profile_run(struct profile *p, const struct exo_request *rq,
		       const struct exo_sink *sink, void *arg, struct exo_call **out,
		       struct exo_end *end)
{
	struct fake_profile *fp = (struct fake_profile *)p;
	struct fake_run *r;

	enter();
	fp->runs++;
	if (fp->mode == RUN_REFUSE) {
		memset(end, 0, sizeof(*end));
		end->error = WIRE_E_QUEUE_FULL;
		snprintf(end->message, sizeof(end->message), "fake: queue full");
		leave();
		return -1;
	}
	assert_true(nruns < MAX_RUNS);
	r = &runs[nruns++];
	r->p = fp;
	r->sink = sink;
	r->arg = arg;
	r->progress = rq->progress;
	r->ev = event_new(base, -1, 0, run_deliver, r);
	assert_non_null(r->ev);
	*out = (struct exo_call *)r;
	/* Like exo.c: nothing is delivered before this returns. */
	if (fp->mode == RUN_DELIVER)
		event_active(r->ev, EV_TIMEOUT, 0);
	leave();
	return 0;
}

void __wrap_exo_call_cancel(struct exo_call *c)
{
	struct fake_run *r = (struct fake_run *)c;

	if (r == NULL)
		return;
	assert_false(r->cancelled || r->done);
	r->cancelled = 1;
	event_del(r->ev);
}

void __wrap_exo_call_resume(struct exo_call *c)
{
	struct fake_run *r = (struct fake_run *)c;

	assert_false(r->cancelled || r->done);
	r->resumes++;
	/* Like exo.c: a call that is not paused has nothing to resume. */
	if (r->paused) {
		r->paused = 0;
		event_active(r->ev, EV_TIMEOUT, 0);
	}
}

struct profile *__wrap_profile_next(const struct profile *p)
{
	return (struct profile *)((const struct fake_profile *)p)->next;
}

const char *__wrap_profile_name(const struct profile *p)
{
	return ((const struct fake_profile *)p)->name;
}

void __wrap_profile_hold(struct profile *p)
{
	((struct fake_profile *)p)->holds++;
}

void __wrap_profile_release(struct profile *p)
{
	struct fake_profile *fp = (struct fake_profile *)p;

	assert_true(fp->holds > 0);
	fp->holds--;
}

enum conf_service __wrap_profile_service(const struct profile *p)
{
	return ((const struct fake_profile *)p)->service;
}

int __wrap_profile_open(const struct profile *p)
{
	/* No access lists: everyone has full access. */
	return !((const struct fake_profile *)p)->hidden;
}

enum access_level __wrap_profile_access(const struct profile *p, uid_t uid, const gid_t *groups,
					int ngroups)
{
	(void)uid;
	(void)groups;
	(void)ngroups;
	return ((const struct fake_profile *)p)->hidden ? ACCESS_NONE : ACCESS_FULL;
}

int __wrap_profile_may_run(const struct profile *p, uid_t uid, const gid_t *groups, int ngroups,
			   const char *cmdlet, char *why, size_t whylen)
{
	(void)p;
	(void)uid;
	(void)groups;
	(void)ngroups;
	(void)cmdlet;
	(void)why;
	(void)whylen;
	return 1;
}

void __wrap_profile_observe(struct profile *p, double ms)
{
	(void)p;
	(void)ms;
}

int __wrap_profile_login(struct profile *p, const struct auth_login_req *req,
			 auth_progress_cb progress, void *progress_arg, char *err, size_t errlen)
{
	(void)p;
	(void)req;
	(void)progress;
	(void)progress_arg;
	snprintf(err, errlen, "fake: no login");
	return -1;
}

/* The fake profiles sign in with the browser when asked to. */
int __wrap_profile_login_is_browser(const struct profile *p, const char *method)
{
	(void)p;
	return method != NULL && strcmp(method, "browser") == 0;
}

char *__wrap_profile_authorize_url(const struct profile *p, char *err, size_t errlen)
{
	(void)p;
	(void)err;
	(void)errlen;
	return strdup("https://login.example/organizations/oauth2/v2.0/authorize?client_id=x");
}

void __wrap_profile_login_detach(struct profile *p)
{
	(void)p;
}

void __wrap_profile_logout(struct profile *p, char *msg, size_t msglen)
{
	snprintf(msg, msglen, "fake: forgot the token of %s", ((struct fake_profile *)p)->name);
}

void __wrap_profile_refresh(struct profile *p)
{
	(void)p;
}

struct token_wait *__wrap_profile_wait(struct profile *p, token_cb cb, void *arg)
{
	(void)p;
	(void)cb;
	(void)arg;
	return NULL;            /* out of memory: refresh and login fail at once */
}

void __wrap_profile_wait_cancel(struct token_wait *w)
{
	assert_null(w);
}

const char *__wrap_profile_identity(const struct profile *p)
{
	(void)p;
	return NULL;
}

void __wrap_profile_status(const struct profile *p, yajl_gen g)
{
	const char *name = ((const struct fake_profile *)p)->name;

	enter();
	((struct fake_profile *)p)->statuses++;
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"name", 4);
	yajl_gen_string(g, (const unsigned char *)name, strlen(name));
	yajl_gen_map_close(g);
	leave();
}

void __wrap_profile_metrics(const struct profile *p, struct metrics_profile *m)
{
	memset(m, 0, sizeof(*m));
	m->name = ((const struct fake_profile *)p)->name;
}

void __wrap_http_get_stats(const struct http *h, struct http_stats *out)
{
	assert_null(h);
	enter();
	stats_calls++;
	memset(out, 0, sizeof(*out));
	leave();
}

int __wrap_wire_parse_request(const void *line, size_t len, struct wire_request *req,
			      char *why, size_t whylen)
{
	parses++;
	return __real_wire_parse_request(line, len, req, why, whylen);
}

/* ---- clients: two pipes each, the test holding the far ends ---- */

struct client {
	int to_server;                  /* requests are written here */
	int from_server;                /* answers are read here */
	struct conn *c;
	char *buf;                      /* answers read and not yet taken */
	size_t off, len, cap;
	int eof;
};

struct fixture {
	struct conf conf;
	struct server *s;
	struct client cl[MAX_CLIENTS];
};

static struct fixture *fx;

/* A user that is neither root nor the one running the tests (both are privileged). */
static uid_t user_uid(int k)
{
	uid_t u = 1000 + (uid_t)k;

	return u == geteuid() ? u + 100 : u;
}

/* Opens a client as uid; NULL when the server refuses it (it then closed its ends). */
static struct conn *client_try(struct client *cl, uid_t uid)
{
	int in[2], out[2];

	memset(cl, 0, sizeof(*cl));
	assert_int_equal(pipe2(in, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_NONBLOCK | O_CLOEXEC), 0);
	cl->to_server = in[1];
	cl->from_server = out[0];
	cl->c = server_conn_open(fx->s, in[0], out[1], uid, 100, 4242);
	return cl->c;
}

static struct client *client_open(int i, uid_t uid)
{
	assert_non_null(client_try(&fx->cl[i], uid));
	return &fx->cl[i];
}

static void client_close(struct client *cl)
{
	if (cl->to_server > 0)
		close(cl->to_server);
	if (cl->from_server > 0)
		close(cl->from_server);
	free(cl->buf);
	memset(cl, 0, sizeof(*cl));
}

/* Writes what the pipe takes now; returns how much. */
static size_t client_write_some(struct client *cl, const char *p, size_t len)
{
	ssize_t n = write(cl->to_server, p, len);

	if (n < 0) {
		/* Full, or the server has closed the connection. */
		assert_true(errno == EAGAIN || errno == EPIPE);
		return 0;
	}
	return (size_t)n;
}

static void client_send(struct client *cl, const char *p, size_t len)
{
	assert_int_equal(client_write_some(cl, p, len), len);
}

static void client_send_str(struct client *cl, const char *s)
{
	client_send(cl, s, strlen(s));
}

/* Writes from req[sent..len) and runs the loop until the server takes no more; the new sent. */
static size_t client_push(struct client *cl, const char *req, size_t len, size_t sent)
{
	for (;;) {
		size_t n = client_write_some(cl, req + sent, len - sent);

		sent += n;
		fake_settle(base);
		if (n == 0)
			return sent;
	}
}

/* Reads every answer byte available now. */
static size_t client_pump(struct client *cl)
{
	size_t got = 0;

	for (;;) {
		ssize_t n;

		if (cl->cap - cl->len < 65536) {
			if (cl->off > 0) {
				memmove(cl->buf, cl->buf + cl->off, cl->len - cl->off);
				cl->len -= cl->off;
				cl->off = 0;
			}
			if (cl->cap - cl->len < 65536) {
				cl->cap = cl->cap * 2 + 65536;
				cl->buf = realloc(cl->buf, cl->cap);
				assert_non_null(cl->buf);
			}
		}
		n = read(cl->from_server, cl->buf + cl->len, cl->cap - cl->len - 1);
		if (n == 0)
			cl->eof = 1;
		if (n <= 0)
			break;
		cl->len += (size_t)n;
		got += (size_t)n;
	}
	return got;
}

/* The next whole answer line (NUL-terminated, without its newline), or NULL. */
static char *client_line(struct client *cl)
{
	char *start, *nl;

	if (cl->buf == NULL)
		return NULL;
	start = cl->buf + cl->off;
	nl = memchr(start, '\n', cl->len - cl->off);
	if (nl == NULL)
		return NULL;
	*nl = '\0';
	cl->off = (size_t)(nl + 1 - cl->buf);
	return start;
}

/* 1 once the server has closed its reading end (the connection is gone). */
static int server_gone(const struct client *cl)
{
	struct pollfd pfd = { .fd = cl->to_server, .events = POLLOUT };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLERR);
}

/* ---- answers ---- */

struct answer {
	yajl_val root;
	const char *type;
	const char *code;               /* error.code, or NULL */
	yajl_val id;                    /* or NULL */
};

static void answer_parse(const char *line, struct answer *a)
{
	static const char *type_path[] = { "type", NULL };
	static const char *code_path[] = { "error", "code", NULL };
	static const char *id_path[] = { "id", NULL };
	char err[128];

	assert_true(utf8_valid(line, strlen(line)));
	a->root = yajl_tree_parse(line, err, sizeof(err));
	if (a->root == NULL)
		fail_msg("not JSON: %s (%s)", line, err);
	a->type = YAJL_GET_STRING(yajl_tree_get(a->root, type_path, yajl_t_string));
	a->code = YAJL_GET_STRING(yajl_tree_get(a->root, code_path, yajl_t_string));
	a->id = yajl_tree_get(a->root, id_path, yajl_t_any);
	assert_non_null(a->type);
}

/* Takes the next answer, which must be there. */
static void answer_next(struct client *cl, struct answer *a)
{
	char *line;

	client_pump(cl);
	line = client_line(cl);
	if (line == NULL)
		fail_msg("no answer line");
	answer_parse(line, a);
}

static void expect_error(struct client *cl, const char *code, const char *id)
{
	struct answer a;

	answer_next(cl, &a);
	assert_string_equal(a.type, "error");
	assert_string_equal(a.code, code);
	if (id == NULL)
		assert_null(a.id);
	else
		assert_string_equal(YAJL_GET_STRING(a.id), id);
	yajl_tree_free(a.root);
}

static void expect_done(struct client *cl, const char *id)
{
	struct answer a;

	answer_next(cl, &a);
	assert_string_equal(a.type, "done");
	assert_true(YAJL_IS_STRING(a.id));
	assert_string_equal(YAJL_GET_STRING(a.id), id);
	yajl_tree_free(a.root);
}

static void expect_nothing(struct client *cl)
{
	client_pump(cl);
	assert_null(client_line(cl));
	assert_int_equal(cl->len - cl->off, 0);
}

/* ---- fixture ---- */

static int setup(void **state)
{
	(void)state;
	fake_clock_reset();
	memset(profiles, 0, sizeof(profiles));
	memset(runs, 0, sizeof(runs));
	nruns = 0;
	parses = 0;
	stats_calls = 0;
	depth = 0;
	stack_top = 0;
	profiles[0].name = "p1";
	profiles[0].records = 3;
	base = event_base_new();
	assert_non_null(base);
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->conf.max_clients = 100;
	fx->conf.max_clients_per_uid = 64;
	fx->conf.reserved_clients = 16;
	fx->conf.client_timeout = 30;
	fx->conf.send_timeout = 600;
	fx->s = server_new(base, &fx->conf, (struct profile *)&profiles[0], NULL);
	assert_non_null(fx->s);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	server_free(fx->s);
	for (int i = 0; i < MAX_CLIENTS; i++)
		client_close(&fx->cl[i]);
	for (int i = 0; i < nruns; i++)
		event_free(runs[i].ev);
	/* Every request released its profile. */
	assert_int_equal(profiles[0].holds, 0);
	assert_int_equal(profiles[1].holds, 0);
	event_base_free(base);
	free(fx);
	fx = NULL;
	clock_fake(NULL);
	return 0;
}

/* ---- tests ---- */

static void test_ping_and_run(void **state)
{
	struct client *cl = client_open(0, user_uid(0));
	struct answer a;

	(void)state;
	client_send_str(cl, "{\"id\":\"1\",\"op\":\"ping\"}\n"
			    "{\"id\":\"2\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n"
			    "{\"id\":\"3\",\"op\":\"status\"}\n");
	fake_settle(base);
	expect_done(cl, "1");
	for (int i = 0; i < 3; i++) {
		answer_next(cl, &a);
		assert_string_equal(a.type, "record");
		assert_string_equal(YAJL_GET_STRING(a.id), "2");
		yajl_tree_free(a.root);
	}
	expect_done(cl, "2");
	expect_done(cl, "3");
	expect_nothing(cl);
	assert_int_equal(runs[0].sent, 3);
	assert_int_equal(server_busy(fx->s), 0);
	assert_string_equal(server_conn_state(cl->c), "idle");
}

/* Regression: a request line with a NUL byte crashed exod; it is a BadRequest like any other. */
static void test_nul_bytes(void **state)
{
	/* Bytes with a length: the NUL is part of the line. */
#define LINE(s) { s, sizeof(s) - 1 }
	static const struct {
		const char *s;
		size_t len;
	} lines[] = {
		LINE("{\"id\":\"a\0b\",\"op\":\"ping\"}"),
		LINE("{\"id\":\"x\",\"op\":\"pi\0ng\"}"),
		LINE("{\"id\":\"x\",\"op\":\"ping\",\"profile\":\"p1\0\"}"),
		LINE("{\"id\":\"x\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\0\"}"),
		LINE("{\"id\":\"x\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\",\"params\":{\"Identity\":\"a\0b\"}}"),
		LINE("{\"id\":\"x\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\",\"params\":{\"Iden\0tity\":\"ab\"}}"),
		LINE("{\"id\":\"x\",\"op\":\"login\",\"password\":\"pw\0\"}"),
		LINE("{\"id\":\"x\",\0\"op\":\"ping\"}"),
		LINE("\0{\"id\":\"x\",\"op\":\"ping\"}"),
		LINE("{\"id\":\"x\",\"op\":\"ping\"}\0"),
		LINE("\0"),
		LINE("{\"id\":\"a\\u0000b\",\"op\":\"ping\"}"),
		LINE("{\"id\":\"x\",\"op\":\"ping\",\"profile\":\"p1\\u0000\"}"),
	};
#undef LINE
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
		struct answer a;

		client_send(cl, lines[k].s, lines[k].len);
		client_send_str(cl, "\n{\"id\":\"after\",\"op\":\"ping\"}\n");
		fake_settle(base);
		answer_next(cl, &a);
		assert_string_equal(a.type, "error");
		assert_string_equal(a.code, "BadRequest");
		yajl_tree_free(a.root);
		/* The connection goes on with the next line. */
		expect_done(cl, "after");
		expect_nothing(cl);
	}
	assert_int_equal(profiles[0].runs, 0);
}

static void test_invalid_utf8(void **state)
{
	static const char *const ids[] = {
		"\xff",
		"ok\xfe",
		"\xc0\xaf",             /* overlong '/' */
		"\xed\xa0\x80",         /* a surrogate */
		"\xe2\x82",             /* cut short */
		"\xf4\x90\x80\x80",     /* past U+10FFFF */
		"\x80",
	};
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
		char line[128];

		snprintf(line, sizeof(line), "{\"id\":\"%s\",\"op\":\"ping\"}\n", ids[k]);
		client_send_str(cl, line);
		snprintf(line, sizeof(line), "{\"id\":\"x\",\"op\":\"pi%sng\"}\n", ids[k]);
		client_send_str(cl, line);
		client_send_str(cl, "{\"id\":\"after\",\"op\":\"ping\"}\n");
		fake_settle(base);
		/* Valid UTF-8 (checked by answer_parse) and no id: it could not be echoed. */
		expect_error(cl, "BadRequest", NULL);
		expect_error(cl, "BadRequest", NULL);
		expect_done(cl, "after");
		expect_nothing(cl);
	}
}

/*
 * Regression: lines piling up behind a waiting run crashed exod (deep
 * recursion when they were answered).  130,000 lines: the server holds
 * at most SERVER_MAX_PENDING of them, reads the rest as it answers, at
 * most SERVER_LINES_PER_TURN per loop turn, in order, with a flat stack.
 */
static void test_many_lines_behind_a_run(void **state)
{
	enum { NLINES = 130000 };
	struct client *cl = client_open(0, user_uid(0));
	size_t cap = (size_t)NLINES * 32, len = 0, sent = 0;
	char *req = malloc(cap);
	int answered = -1, idle_turns = 0, most = 0;
	struct answer a;
	char *line;

	(void)state;
	assert_non_null(req);
	for (int i = 0; i < NLINES; i++)
		len += (size_t)snprintf(req + len, cap - len, "{\"id\":%d,\"op\":\"status\"}\n", i);
	profiles[0].mode = RUN_HOLD;
	profiles[0].records = 0;
	client_send_str(cl, "{\"id\":\"run\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n");
	fake_settle(base);
	assert_int_equal(profiles[0].runs, 1);
	/* Behind the waiting run, the server reads until its buffer is full, then stops. */
	sent = client_push(cl, req, len, 0);
	assert_true(sent < len);
	assert_true(sent <= SERVER_MAX_PENDING + 1024 * 1024);
	expect_nothing(cl);
	assert_int_equal(profiles[0].statuses, 0);
	assert_string_equal(server_conn_state(cl->c), "busy");
	/* The run ends; the queued lines are answered, one loop turn at a time. */
	run_release(0);
	while (answered < NLINES) {
		int before = profiles[0].statuses, turn;

		event_base_loop(base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
		turn = profiles[0].statuses - before;
		if (turn > most)
			most = turn;
		sent += client_write_some(cl, req + sent, len - sent);
		client_pump(cl);
		while ((line = client_line(cl)) != NULL) {
			answer_parse(line, &a);
			assert_string_equal(a.type, "done");
			if (answered < 0)
				assert_string_equal(YAJL_GET_STRING(a.id), "run");
			else
				assert_int_equal(YAJL_GET_INTEGER(a.id), answered);
			yajl_tree_free(a.root);
			answered++;
			idle_turns = 0;
		}
		if (++idle_turns > 1000)
			fail_msg("no progress after %d answers", answered);
	}
	assert_true(most > 0);
	assert_true(most <= SERVER_LINES_PER_TURN);
	assert_int_equal(profiles[0].statuses, NLINES);
	expect_nothing(cl);
	free(req);
}

static void test_cancel_while_run_waits(void **state)
{
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	profiles[0].mode = RUN_HOLD;
	client_send_str(cl, "{\"id\":\"r\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n");
	fake_settle(base);
	assert_int_equal(server_busy(fx->s), 1);
	assert_int_equal(profiles[0].holds, 1);
	client_send_str(cl, "{\"id\":\"c\",\"op\":\"cancel\"}\n{\"id\":\"p\",\"op\":\"ping\"}\n");
	fake_settle(base);
	/* The run ends with Cancelled under its own id; the cancel line has no answer of its own. */
	expect_error(cl, "Cancelled", "r");
	expect_done(cl, "p");
	expect_nothing(cl);
	assert_int_equal(runs[0].cancelled, 1);
	assert_int_equal(profiles[0].holds, 0);
	assert_int_equal(server_busy(fx->s), 0);
	/* A cancel with nothing running is simply done. */
	client_send_str(cl, "{\"id\":\"c2\",\"op\":\"cancel\"}\n");
	fake_settle(base);
	expect_done(cl, "c2");
	/* The cancelled run never delivers; the next one runs normally. */
	profiles[0].mode = RUN_DELIVER;
	client_send_str(cl, "{\"id\":\"r2\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n");
	fake_settle(base);
	for (int i = 0; i < 3; i++) {
		struct answer a;

		answer_next(cl, &a);
		assert_string_equal(a.type, "record");
		yajl_tree_free(a.root);
	}
	expect_done(cl, "r2");
	assert_int_equal(runs[0].sent, 0);
}

static void test_client_leaves_while_run_waits(void **state)
{
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	profiles[0].mode = RUN_HOLD;
	client_send_str(cl, "{\"id\":\"r\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n");
	fake_settle(base);
	client_close(cl);
	fake_settle(base);
	/* Its run is cancelled and its slot freed. */
	assert_int_equal(runs[0].cancelled, 1);
	assert_int_equal(server_busy(fx->s), 0);
	assert_int_equal(profiles[0].holds, 0);
}

static void test_run_refused_on_the_spot(void **state)
{
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	profiles[0].mode = RUN_REFUSE;
	client_send_str(cl, "{\"id\":\"r\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n"
			    "{\"id\":\"p\",\"op\":\"ping\"}\n");
	fake_settle(base);
	expect_error(cl, "QueueFull", "r");
	expect_done(cl, "p");
}

/* ---- which profile a request is for ---- */

/* Two profiles, p1 and p2, in that order. */
static void two_profiles(void)
{
	profiles[0].next = &profiles[1];
	profiles[1].name = "p2";
	profiles[1].records = 1;
}

/* The next answer is an error with this code; its message, and "profiles" joined by commas. */
static void expect_listing(struct client *cl, const char *code, char *msg, size_t msglen,
			   char *names, size_t nameslen)
{
	static const char *msg_path[] = { "error", "message", NULL };
	static const char *list_path[] = { "error", "profiles", NULL };
	struct answer a;
	yajl_val list;
	size_t off = 0;

	answer_next(cl, &a);
	assert_string_equal(a.type, "error");
	assert_string_equal(a.code, code);
	snprintf(msg, msglen, "%s", YAJL_GET_STRING(yajl_tree_get(a.root, msg_path, yajl_t_string)));
	list = yajl_tree_get(a.root, list_path, yajl_t_array);
	assert_non_null(list);
	names[0] = '\0';
	for (size_t i = 0; i < YAJL_GET_ARRAY(list)->len; i++)
		off += (size_t)snprintf(names + off, nameslen - off, "%s%s", i > 0 ? "," : "",
					YAJL_GET_STRING(YAJL_GET_ARRAY(list)->values[i]));
	yajl_tree_free(a.root);
}

/* The message of the next answer, a done line. */
static void expect_done_message(struct client *cl, const char *id, const char *want)
{
	static const char *msg_path[] = { "message", NULL };
	struct answer a;

	answer_next(cl, &a);
	assert_string_equal(a.type, "done");
	assert_string_equal(YAJL_GET_STRING(a.id), id);
	assert_string_equal(YAJL_GET_STRING(yajl_tree_get(a.root, msg_path, yajl_t_string)), want);
	yajl_tree_free(a.root);
}

static void test_default_profile(void **state)
{
	struct client *cl = client_open(0, user_uid(0));
	struct answer a;

	(void)state;
	two_profiles();
	fx->conf.default_profile = "p2";
	client_send_str(cl, "{\"id\":\"r\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n"
			    "{\"id\":\"o\",\"op\":\"logout\"}\n"
			    "{\"id\":\"n\",\"op\":\"logout\",\"profile\":\"p1\"}\n");
	fake_settle(base);
	assert_int_equal(profiles[0].runs, 0);
	assert_int_equal(profiles[1].runs, 1);
	answer_next(cl, &a);            /* p2's one record */
	assert_string_equal(a.type, "record");
	yajl_tree_free(a.root);
	expect_done(cl, "r");
	expect_done_message(cl, "o", "fake: forgot the token of p2");
	/* A name always wins. */
	expect_done_message(cl, "n", "fake: forgot the token of p1");
	expect_nothing(cl);
}

static void test_only_usable_profile(void **state)
{
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	two_profiles();
	/* The default the peer may not use is passed over for the one profile it may use. */
	fx->conf.default_profile = "p2";
	profiles[1].hidden = 1;
	client_send_str(cl, "{\"id\":\"o\",\"op\":\"logout\"}\n");
	fake_settle(base);
	expect_done_message(cl, "o", "fake: forgot the token of p1");
	expect_nothing(cl);
}

static void test_profiles_listed(void **state)
{
	struct client *cl = client_open(0, user_uid(0));
	char msg[512], names[128];

	(void)state;
	two_profiles();
	client_send_str(cl, "{\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n");
	fake_settle(base);
	expect_listing(cl, "UnknownProfile", msg, sizeof(msg), names, sizeof(names));
	assert_string_equal(msg, "no profile given; you may use: p1, p2 "
				 "(exoctl -p NAME, or default_profile in exod.conf)");
	assert_string_equal(names, "p1,p2");

	/* Never a profile the peer may not use: not for a wrong name, not for a hidden one. */
	profiles[0].hidden = 1;
	client_send_str(cl, "{\"op\":\"run\",\"profile\":\"p3\",\"cmdlet\":\"Get-Mailbox\"}\n"
			    "{\"op\":\"status\",\"profile\":\"p1\"}\n");
	fake_settle(base);
	expect_listing(cl, "UnknownProfile", msg, sizeof(msg), names, sizeof(names));
	assert_string_equal(msg, "no profile named \"p3\"; you may use: p2 (exoctl -p NAME)");
	assert_string_equal(names, "p2");
	expect_listing(cl, "Forbidden", msg, sizeof(msg), names, sizeof(names));
	assert_non_null(strstr(msg, "may not use profile p1; you may use: p2 (exoctl -p NAME)"));
	assert_string_equal(names, "p2");

	/* A peer that may use none is forbidden, and told so. */
	profiles[1].hidden = 1;
	client_send_str(cl, "{\"op\":\"refresh\"}\n");
	fake_settle(base);
	expect_listing(cl, "Forbidden", msg, sizeof(msg), names, sizeof(names));
	assert_non_null(strstr(msg, "no profile given; uid "));
	assert_non_null(strstr(msg, " may use none of this exod's profiles"));
	assert_string_equal(names, "");
	assert_int_equal(profiles[0].runs + profiles[1].runs, 0);
	expect_nothing(cl);
}

static void test_login_method_must_be_a_word(void **state)
{
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	client_send_str(cl, "{\"id\":\"l\",\"op\":\"login\",\"method\":7}\n");
	fake_settle(base);
	expect_error(cl, "BadRequest", "l");
	expect_nothing(cl);
}

/* A browser login without a code is the authorize step: one done line with the URL, nothing started. */
static void test_login_browser_answers_the_authorize_url(void **state)
{
	static const char *url_path[] = { "authorize_url", NULL };
	static const char *method_path[] = { "method", NULL };
	struct client *cl = client_open(0, user_uid(0));
	struct answer a;

	(void)state;
	client_send_str(cl, "{\"id\":\"b\",\"op\":\"login\",\"method\":\"browser\"}\n");
	fake_settle(base);
	answer_next(cl, &a);
	assert_string_equal(a.type, "done");
	assert_string_equal(YAJL_GET_STRING(a.id), "b");
	assert_string_equal(YAJL_GET_STRING(yajl_tree_get(a.root, method_path, yajl_t_string)),
			    "browser");
	assert_string_equal(YAJL_GET_STRING(yajl_tree_get(a.root, url_path, yajl_t_string)),
			    "https://login.example/organizations/oauth2/v2.0/authorize?client_id=x");
	yajl_tree_free(a.root);
	expect_nothing(cl);
}

/* The code and its companions are strings, or the line is refused before anything runs. */
static void test_login_code_must_be_a_string(void **state)
{
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	client_send_str(cl, "{\"id\":\"c\",\"op\":\"login\",\"method\":\"browser\","
			"\"code\":[\"x\"]}\n");
	fake_settle(base);
	expect_error(cl, "BadRequest", "c");
	expect_nothing(cl);
}

/* Bytes of the first n answers, newlines included. */
static size_t answer_bytes(const size_t *sizes, int n)
{
	size_t sum = 0;

	for (int i = 0; i < n; i++)
		sum += sizes[i];
	return sum;
}

static void test_output_backpressure(void **state)
{
	enum { NREQ = 20000 };
	static const char *const ops[] = { "status", "metrics", "ping" };
	struct client *cl = client_open(0, user_uid(0));
	size_t cap = (size_t)NREQ * 40, len = 0, sent = 0, *sizes;
	char *req = malloc(cap);
	int dispatched, unread_pipe = 0, answered = 0, idle = 0;
	size_t held;
	char *line;

	(void)state;
	sizes = calloc(NREQ, sizeof(*sizes));
	assert_non_null(req);
	assert_non_null(sizes);
	for (int i = 0; i < NREQ; i++)
		len += (size_t)snprintf(req + len, cap - len, "{\"id\":%d,\"op\":\"%s\"}\n", i,
					ops[i % 3]);
	/* Pipelined requests, answers never read: the server stops taking lines. */
	sent = client_push(cl, req, len, 0);
	dispatched = parses;
	assert_true(dispatched > 0 && dispatched < NREQ);
	assert_int_equal(ioctl(cl->from_server, FIONREAD, &unread_pipe), 0);
	fake_settle(base);
	assert_int_equal(parses, dispatched);
	/* Now read everything, feeding the rest of the requests as room appears. */
	while (answered < NREQ) {
		struct answer a;

		sent += client_write_some(cl, req + sent, len - sent);
		fake_settle(base);
		client_pump(cl);
		while ((line = client_line(cl)) != NULL) {
			sizes[answered] = strlen(line) + 1;
			answer_parse(line, &a);
			assert_string_equal(a.type, "done");
			assert_int_equal(YAJL_GET_INTEGER(a.id), answered);
			yajl_tree_free(a.root);
			answered++;
			idle = 0;
		}
		if (++idle > 100)
			fail_msg("stalled after %d answers", answered);
	}
	/* What the server held when it stopped: past the high water by at most the last answer. */
	held = answer_bytes(sizes, dispatched) - (size_t)unread_pipe;
	assert_true(held >= SERVER_HIGH_WATER);
	assert_true(held - sizes[dispatched - 1] < SERVER_HIGH_WATER);
	assert_int_equal(profiles[0].statuses, (NREQ + 2) / 3);
	assert_int_equal(stats_calls, (NREQ + 1) / 3);
	free(sizes);
	free(req);
}

/* Takes the answers available now; counts records, notes the done line. */
static void take_run_answers(struct client *cl, int *records, int *done)
{
	struct answer a;
	char *line;

	client_pump(cl);
	while ((line = client_line(cl)) != NULL) {
		answer_parse(line, &a);
		assert_false(*done);
		if (strcmp(a.type, "record") == 0)
			(*records)++;
		else
			*done = strcmp(a.type, "done") == 0;
		assert_true(*done || strcmp(a.type, "record") == 0);
		yajl_tree_free(a.root);
	}
}

static void test_run_backpressure(void **state)
{
	struct client *cl = client_open(0, user_uid(0));
	int records = 0, done = 0, turns = 0;

	(void)state;
	profiles[0].records = 100000;
	profiles[0].stop_when_full = 1;
	client_send_str(cl, "{\"id\":\"r\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n");
	fake_settle(base);
	/* Unread records: the sink says full and the run pauses. */
	assert_true(runs[0].sent > 0 && runs[0].sent < 100000);
	assert_int_equal(runs[0].resumes, 0);
	fake_settle(base);
	assert_int_equal(runs[0].resumes, 0);
	/* Reading lets it go on, resumed by the server once below the low water. */
	while (!done) {
		take_run_answers(cl, &records, &done);
		fake_settle(base);
		assert_true(++turns < 100000);
	}
	assert_true(runs[0].resumes > 0);
	assert_int_equal(records, 100000);
	expect_nothing(cl);
}

static void test_per_uid_limit(void **state)
{
	struct client refused;
	char buf[512];
	int sv[2];
	ssize_t n;

	(void)state;
	fx->conf.max_clients_per_uid = 2;
	client_open(0, user_uid(0));
	client_open(1, user_uid(0));
	assert_null(client_try(&refused, user_uid(0)));
	client_close(&refused);
	client_open(2, user_uid(1));
	client_open(3, user_uid(1));
	/* Over a socket the refused client is told why. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_null(server_conn_open(fx->s, sv[0], sv[0], user_uid(1), 100, 4243));
	n = read(sv[1], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\"TooManyClients\""));
	assert_non_null(strstr(buf, "max_clients_per_uid"));
	close(sv[1]);
	/* Root is not limited per user. */
	client_open(4, 0);
	client_open(5, 0);
	client_open(6, 0);
	/* A connection that ends makes room for its user. */
	client_close(&fx->cl[0]);
	fake_settle(base);
	client_open(0, user_uid(0));
	assert_null(client_try(&refused, user_uid(0)));
	client_close(&refused);
}

static void test_reserve_for_root(void **state)
{
	struct client refused;

	(void)state;
	fx->conf.max_clients = 4;
	fx->conf.reserved_clients = 1;
	client_open(0, user_uid(0));
	client_open(1, user_uid(1));
	client_open(2, user_uid(2));
	/* Three of four taken: the last is kept for root. */
	assert_null(client_try(&refused, user_uid(3)));
	client_close(&refused);
	client_open(3, 0);
	assert_null(client_try(&refused, 0));
	client_close(&refused);
	/* Every connection still works. */
	for (int i = 0; i < 4; i++)
		client_send_str(&fx->cl[i], "{\"id\":\"p\",\"op\":\"ping\"}\n");
	fake_settle(base);
	for (int i = 0; i < 4; i++)
		expect_done(&fx->cl[i], "p");
}

static void test_client_timeout(void **state)
{
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	/* A whole line, then half of one: only the half line is on the clock. */
	client_send_str(cl, "{\"id\":\"1\",\"op\":\"ping\"}\n{\"id\":\"2\",\"op\":\"pi");
	fake_settle(base);
	expect_done(cl, "1");
	assert_int_equal(fake_next_timer_in(), 30000);
	/* Dribbling more of it does not restart the clock. */
	fake_advance(base, 20000);
	client_send_str(cl, "n");
	fake_settle(base);
	fake_advance(base, 9999);
	expect_nothing(cl);
	assert_false(cl->eof);
	assert_false(server_gone(cl));
	fake_advance(base, 1);
	expect_error(cl, "Timeout", NULL);
	fake_settle(base);
	expect_nothing(cl);
	assert_true(cl->eof);
	assert_true(server_gone(cl));
}

static void test_idle_connection_no_timeout(void **state)
{
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	/* A client with nothing half-sent may stay as long as it likes. */
	assert_int_equal(fake_next_timer_in(), -1);
	fake_advance(base, 24 * 3600 * 1000LL);
	client_send_str(cl, "{\"id\":\"1\",\"op\":\"ping\"}\n");
	fake_settle(base);
	expect_done(cl, "1");
}

static void test_send_timeout(void **state)
{
	struct client *cl = client_open(0, user_uid(0));
	char chunk[4096], *req = malloc(4000 * 16);
	size_t sent = 0;

	(void)state;
	assert_non_null(req);
	fx->conf.send_timeout = 5;
	/* Enough requests that the answers fill the pipe and wait in the server. */
	for (int i = 0; i < 4000; i++)
		memcpy(req + i * 16, "{\"op\":\"status\"}\n", 16);
	while (sent < 4000 * 16) {
		sent += client_write_some(cl, req + sent, 4000 * 16 - sent);
		fake_settle(base);
	}
	free(req);
	assert_int_equal(profiles[0].statuses, 4000);
	assert_true(fake_next_timer_in() > 0 && fake_next_timer_in() <= 5000);
	fake_advance(base, 4000);
	assert_false(server_gone(cl));
	/* Reading a little is progress: the clock starts again. */
	assert_true(read(cl->from_server, chunk, sizeof(chunk)) > 0);
	fake_settle(base);
	fake_advance(base, 4999);
	assert_false(server_gone(cl));
	fake_advance(base, 1);
	assert_true(server_gone(cl));
}

static void test_eof_answers_last_line(void **state)
{
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	/* A client may end its last line with EOF instead of a newline. */
	client_send_str(cl, "{\"id\":\"1\",\"op\":\"ping\"}\n{\"id\":\"2\",\"op\":\"ping\"}");
	close(cl->to_server);
	cl->to_server = -1;
	fake_settle(base);
	expect_done(cl, "1");
	expect_done(cl, "2");
	fake_settle(base);
	client_pump(cl);
	assert_true(cl->eof);
}

static void test_too_long_line(void **state)
{
	struct client *cl = client_open(0, user_uid(0));
	size_t n = WIRE_MAX_LINE + 10, sent = 0;
	char *big = malloc(n);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', n);
	while (sent < n && !cl->eof) {
		sent += client_write_some(cl, big + sent, n - sent);
		fake_settle(base);
		client_pump(cl);
	}
	fake_settle(base);
	expect_error(cl, "TooLarge", NULL);
	free(big);
}

static void test_cancel_reaches_a_stalled_run(void **state)
{
	struct client *cl = client_open(0, user_uid(0));
	int records = 0, done = 0;
	struct answer a;
	char *line;

	(void)state;
	profiles[0].records = 100000;
	profiles[0].stop_when_full = 1;
	client_send_str(cl, "{\"id\":\"r\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n");
	fake_settle(base);
	assert_true(runs[0].sent < 100000);
	/* The client reads nothing, yet its cancel is still read and acted on. */
	client_send_str(cl, "{\"id\":\"c\",\"op\":\"cancel\"}\n");
	fake_settle(base);
	assert_int_equal(runs[0].cancelled, 1);
	assert_int_equal(server_busy(fx->s), 0);
	/* The records already queued arrive, then the Cancelled error. */
	while (!done) {
		client_pump(cl);
		while ((line = client_line(cl)) != NULL) {
			answer_parse(line, &a);
			if (strcmp(a.type, "record") == 0) {
				records++;
			} else {
				assert_string_equal(a.type, "error");
				assert_string_equal(a.code, "Cancelled");
				done = 1;
			}
			yajl_tree_free(a.root);
		}
		fake_settle(base);
	}
	assert_int_equal(records, runs[0].sent);
	expect_nothing(cl);
}

static void test_half_close_while_run_waits(void **state)
{
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	profiles[0].mode = RUN_HOLD;
	profiles[0].records = 1;
	client_send_str(cl, "{\"id\":\"r\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n"
			    "{\"id\":\"p\",\"op\":\"ping\"}\n");
	/* The client has sent all it will, and still wants the answers. */
	close(cl->to_server);
	cl->to_server = -1;
	fake_settle(base);
	assert_int_equal(runs[0].cancelled, 0);
	run_release(0);
	fake_settle(base);
	client_pump(cl);
	{
		struct answer a;

		answer_next(cl, &a);
		assert_string_equal(a.type, "record");
		yajl_tree_free(a.root);
	}
	expect_done(cl, "r");
	expect_done(cl, "p");
	fake_settle(base);
	expect_nothing(cl);
	assert_true(cl->eof);
}

/* Over a socket, a refused line is answered, then the server half-closes and waits for the peer. */
static void test_linger_after_too_large(void **state)
{
	size_t n = WIRE_MAX_LINE + 10;
	char *big = malloc(n), buf[256];
	struct pollfd pfd;
	struct conn *c;
	ssize_t got;
	int sv[2];

	(void)state;
	assert_non_null(big);
	memset(big, 'x', n);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	c = server_conn_open(fx->s, sv[0], sv[0], user_uid(0), 100, 4244);
	assert_non_null(c);
	assert_int_equal(write(sv[1], big, n), (ssize_t)n);
	fake_settle(base);
	assert_string_equal(server_conn_state(c), "lingering");
	got = read(sv[1], buf, sizeof(buf) - 1);
	assert_true(got > 0);
	buf[got] = '\0';
	assert_non_null(strstr(buf, "\"TooLarge\""));
	assert_int_equal(read(sv[1], buf, sizeof(buf)), 0);    /* half-closed */
	/* What still comes is discarded unanswered, until SERVER_LINGER_S is over. */
	assert_int_equal(write(sv[1], "{\"op\":\"ping\"}\n", 14), 14);
	fake_advance(base, SERVER_LINGER_S * 1000LL - 1);
	assert_string_equal(server_conn_state(c), "lingering");
	fake_advance(base, 1);
	pfd.fd = sv[1];
	pfd.events = POLLOUT;
	assert_int_equal(poll(&pfd, 1, 0), 1);
	assert_true(pfd.revents & POLLHUP);
	close(sv[1]);
	free(big);
}

/*
 * Regression: a client that pipelines whole request lines and reads its
 * answers slowly was cut off after client_timeout (meant for half-sent
 * lines) and its queued requests dropped.  Only a line begun and not
 * finished runs that clock now; unread answers are send_timeout's.
 */
static void test_pipelined_lines_not_half_sent(void **state)
{
	struct client *cl = client_open(0, user_uid(0));
	char batch[1000 * 16];
	int before, sent = 0, answered = 0, idle = 0;
	char *line;

	(void)state;
	for (int i = 0; i < 1000; i++)
		memcpy(batch + i * 16, "{\"op\":\"status\"}\n", 16);
	/* Whole lines, a batch at a time, until the server holds some back unanswered. */
	do {
		before = profiles[0].statuses;
		client_send(cl, batch, sizeof(batch));
		sent += 1000;
		fake_settle(base);
	} while (profiles[0].statuses - before == 1000);
	/* The client is slow to read, well within send_timeout (600 s). */
	fake_advance(base, fx->conf.client_timeout * 1000LL + 1000);
	while (answered < sent) {
		struct answer a;

		client_pump(cl);
		while ((line = client_line(cl)) != NULL) {
			answer_parse(line, &a);
			if (a.code != NULL)
				fail_msg("answer %d: %s", answered, line);
			assert_string_equal(a.type, "done");
			yajl_tree_free(a.root);
			answered++;
			idle = 0;
		}
		fake_settle(base);
		if (++idle > 100)
			fail_msg("stalled after %d answers", answered);
	}
}

/* ---- progress ---- */

/* Run i reports where it stands, as exo.c would from the loop. */
static void run_report(int i, enum exo_progress_state st, unsigned long long records, int ahead,
		       long long retry_in_ms, int attempt)
{
	struct exo_progress p = {
		.state = st,
		.records = records,
		.pages = records / 10,
		.ahead = ahead,
		.retry_in_ms = retry_in_ms,
		.attempt = attempt,
		.attempts = attempt > 0 ? 4 : 0,
	};

	assert_true(runs[i].progress);
	enter();
	runs[i].sink->progress(runs[i].arg, &p);
	leave();
	fake_settle(base);
}

static long long answer_int(const struct answer *a, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(a->root, path, yajl_t_number);

	if (v == NULL)
		fail_msg("no \"%s\" in the answer", key);
	return YAJL_GET_INTEGER(v);
}

static int answer_has(const struct answer *a, const char *key)
{
	const char *path[] = { key, NULL };

	return yajl_tree_get(a->root, path, yajl_t_any) != NULL;
}

/* The next answer is a progress line of request id in state st, elapsed_ms as given. */
static void expect_progress(struct client *cl, struct answer *a, const char *st,
			    long long elapsed_ms)
{
	static const char *state_path[] = { "state", NULL };

	answer_next(cl, a);
	assert_string_equal(a->type, "progress");
	assert_string_equal(YAJL_GET_STRING(a->id), "r");
	assert_string_equal(YAJL_GET_STRING(yajl_tree_get(a->root, state_path, yajl_t_string)), st);
	assert_int_equal(answer_int(a, "elapsed_ms"), elapsed_ms);
}

/* The next n answers are records. */
static void expect_records(struct client *cl, int n)
{
	struct answer a;

	for (int i = 0; i < n; i++) {
		answer_next(cl, &a);
		assert_string_equal(a.type, "record");
		yajl_tree_free(a.root);
	}
}

/* "progress" is a JSON boolean; only true asks the run for progress. */
static void test_progress_only_when_asked(void **state)
{
	static const char *const bad[] = { "1", "\"true\"", "null", "{}", "[true]" };
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		char line[128];

		snprintf(line, sizeof(line),
			 "{\"id\":\"b\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\",\"progress\":%s}\n",
			 bad[k]);
		client_send_str(cl, line);
		fake_settle(base);
		expect_error(cl, "BadRequest", "b");
	}
	assert_int_equal(profiles[0].runs, 0);
	client_send_str(cl, "{\"id\":\"r\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n");
	fake_settle(base);
	client_send_str(cl, "{\"id\":\"r\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\",\"progress\":false}\n");
	fake_settle(base);
	client_send_str(cl, "{\"id\":\"r\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\",\"progress\":true}\n");
	fake_settle(base);
	assert_int_equal(nruns, 3);
	assert_false(runs[0].progress);
	assert_false(runs[1].progress);
	assert_true(runs[2].progress);
	/* The answers themselves: records and done, three times over, and nothing else. */
	for (int k = 0; k < 3; k++) {
		expect_records(cl, 3);
		expect_done(cl, "r");
	}
	expect_nothing(cl);
}

/* A compliance profile binds on Security & Compliance's cmdlets: Exchange's never reach it. */
static void test_run_binds_on_the_profiles_service(void **state)
{
	struct client *cl = client_open(0, user_uid(0));

	(void)state;
	profiles[0].service = CONF_SERVICE_COMPLIANCE;
	client_send_str(cl, "{\"id\":\"x\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\"}\n");
	fake_settle(base);
	expect_error(cl, "BadRequest", "x");
	assert_int_equal(profiles[0].runs, 0);
	client_send_str(cl, "{\"id\":\"s\",\"op\":\"run\",\"cmdlet\":\"Get-ComplianceSearch\"}\n");
	fake_settle(base);
	expect_records(cl, 3);
	expect_done(cl, "s");
	assert_int_equal(profiles[0].runs, 1);
	profiles[0].service = CONF_SERVICE_EXCHANGE;
	client_send_str(cl, "{\"id\":\"e\",\"op\":\"run\",\"cmdlet\":\"Get-ComplianceSearch\"}\n");
	fake_settle(base);
	expect_error(cl, "BadRequest", "e");
	assert_int_equal(profiles[0].runs, 1);
	expect_nothing(cl);
}

/* Queued: each new place is a line; running: a page at most every SERVER_PROGRESS_INTERVAL_MS. */
static void test_progress_lines(void **state)
{
	struct client *cl = client_open(0, user_uid(0));
	struct answer a;

	(void)state;
	profiles[0].mode = RUN_HOLD;
	profiles[0].records = 2;
	client_send_str(cl, "{\"id\":\"r\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\",\"progress\":true}\n");
	fake_settle(base);
	run_report(0, EXO_PROGRESS_QUEUED, 0, 3, 0, 0);
	expect_progress(cl, &a, "queued", 0);
	assert_int_equal(answer_int(&a, "ahead"), 3);
	assert_int_equal(answer_int(&a, "records"), 0);
	assert_int_equal(answer_int(&a, "pages"), 0);
	assert_false(answer_has(&a, "retry_in_ms") || answer_has(&a, "attempt"));
	yajl_tree_free(a.root);
	/* The same place again is no news. */
	run_report(0, EXO_PROGRESS_QUEUED, 0, 3, 0, 0);
	expect_nothing(cl);
	for (int ahead = 2; ahead >= 0; ahead--) {
		fake_now += 1000;
		run_report(0, EXO_PROGRESS_QUEUED, 0, ahead, 0, 0);
		expect_progress(cl, &a, "queued", 1000LL * (3 - ahead));
		assert_int_equal(answer_int(&a, "ahead"), ahead);
		yajl_tree_free(a.root);
	}
	/* Running: the state change at once, then pages no closer than the interval. */
	fake_now += 10;
	run_report(0, EXO_PROGRESS_RUNNING, 0, 0, 0, 0);
	expect_progress(cl, &a, "running", 3010);
	assert_false(answer_has(&a, "ahead"));
	yajl_tree_free(a.root);
	fake_now += SERVER_PROGRESS_INTERVAL_MS - 1;
	run_report(0, EXO_PROGRESS_RUNNING, 10, 0, 0, 0);
	expect_nothing(cl);
	fake_now += 1;
	run_report(0, EXO_PROGRESS_RUNNING, 20, 0, 0, 0);
	expect_progress(cl, &a, "running", 3010 + SERVER_PROGRESS_INTERVAL_MS);
	assert_int_equal(answer_int(&a, "records"), 20);
	assert_int_equal(answer_int(&a, "pages"), 2);
	yajl_tree_free(a.root);
	/* A wait is news at once, each new one too, with its retry fields. */
	fake_now += 1;
	run_report(0, EXO_PROGRESS_THROTTLED, 20, 0, 7900, 2);
	expect_progress(cl, &a, "throttled", 3011 + SERVER_PROGRESS_INTERVAL_MS);
	assert_int_equal(answer_int(&a, "retry_in_ms"), 7900);
	assert_int_equal(answer_int(&a, "attempt"), 2);
	assert_int_equal(answer_int(&a, "attempts"), 4);
	yajl_tree_free(a.root);
	run_report(0, EXO_PROGRESS_THROTTLED, 20, 0, 3000, 0);
	expect_progress(cl, &a, "throttled", 3011 + SERVER_PROGRESS_INTERVAL_MS);
	assert_int_equal(answer_int(&a, "retry_in_ms"), 3000);
	assert_false(answer_has(&a, "attempt") || answer_has(&a, "attempts"));
	yajl_tree_free(a.root);
	run_report(0, EXO_PROGRESS_RUNNING, 20, 0, 0, 0);
	expect_progress(cl, &a, "running", 3011 + SERVER_PROGRESS_INTERVAL_MS);
	yajl_tree_free(a.root);
	run_report(0, EXO_PROGRESS_RETRYING, 20, 0, 1500, 1);
	expect_progress(cl, &a, "retrying", 3011 + SERVER_PROGRESS_INTERVAL_MS);
	assert_int_equal(answer_int(&a, "retry_in_ms"), 1500);
	assert_int_equal(answer_int(&a, "attempt"), 1);
	yajl_tree_free(a.root);
	run_report(0, EXO_PROGRESS_SIGNING_IN, 20, 0, 0, 0);
	expect_progress(cl, &a, "signing_in", 3011 + SERVER_PROGRESS_INTERVAL_MS);
	assert_false(answer_has(&a, "retry_in_ms"));
	yajl_tree_free(a.root);
	run_report(0, EXO_PROGRESS_SIGNING_IN, 20, 0, 0, 0);
	expect_nothing(cl);
	/* Then the records and the terminal line, as always. */
	run_release(0);
	fake_settle(base);
	expect_records(cl, 2);
	expect_done(cl, "r");
	expect_nothing(cl);
}

/* A client with more than the low water unread gets no progress line; news waits until it reads. */
static void test_progress_dropped_over_low_water(void **state)
{
	static const char rec[] = "{\"Name\":\"a mailbox with a name\"}";
	struct client *cl = client_open(0, user_uid(0));
	struct answer a;
	int records = 0, progress = 0, done = 0;
	char *line;

	(void)state;
	profiles[0].mode = RUN_HOLD;
	profiles[0].records = 0;
	client_send_str(cl, "{\"id\":\"r\",\"op\":\"run\",\"cmdlet\":\"Get-Mailbox\",\"progress\":true}\n");
	fake_settle(base);
	/*
	 * Records the client does not read, up to the high water: more than
	 * the pipe holds and the low water together stay in exod.
	 */
	do
		records++;
	while (runs[0].sink->record(runs[0].arg, rec, sizeof(rec) - 1) == EXO_SINK_OK);
	assert_true(fcntl(cl->from_server, F_GETPIPE_SZ) < SERVER_HIGH_WATER - SERVER_LOW_WATER);
	run_report(0, EXO_PROGRESS_RUNNING, (unsigned long long)records, 0, 0, 0);
	run_report(0, EXO_PROGRESS_THROTTLED, (unsigned long long)records, 0, 5000, 1);
	run_report(0, EXO_PROGRESS_RUNNING, (unsigned long long)records, 0, 0, 0);
	/* The client reads everything; the next news is sent. */
	for (int turns = 0; turns < 100; turns++) {
		fake_settle(base);
		client_pump(cl);
	}
	run_report(0, EXO_PROGRESS_RUNNING, (unsigned long long)records, 0, 0, 0);
	run_release(0);
	fake_settle(base);
	client_pump(cl);
	while ((line = client_line(cl)) != NULL) {
		answer_parse(line, &a);
		assert_false(done);
		if (strcmp(a.type, "record") == 0) {
			assert_int_equal(progress, 0);  /* nothing among the records */
			records--;
		} else if (strcmp(a.type, "progress") == 0) {
			assert_int_equal(records, 0);
			progress++;
		} else {
			assert_string_equal(a.type, "done");
			done = 1;
		}
		yajl_tree_free(a.root);
	}
	assert_int_equal(records, 0);
	assert_int_equal(progress, 1);
	assert_true(done);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ping_and_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_lines_behind_a_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_while_run_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_leaves_while_run_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_refused_on_the_spot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_uid_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_for_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_connection_no_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof_answers_last_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_reaches_a_stalled_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_close_while_run_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linger_after_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_lines_not_half_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_progress_only_when_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_binds_on_the_profiles_service, setup,
						 teardown),
		cmocka_unit_test_setup_teardown(test_progress_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_progress_dropped_over_low_water, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_usable_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profiles_listed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_method_must_be_a_word, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_browser_answers_the_authorize_url, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_login_code_must_be_a_string, setup, teardown),
	};

	/* A client that has gone must not kill the test with SIGPIPE (exod ignores it too). */
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
