/*
 * The cluster: two hiredis connections to Redis on the event loop (one
 * for commands and scripts, one subscribed to the notifications), the
 * scripts that keep the shared state, and each profile's part in it.
 */
#include "daemon/cluster.h"

#include <ctype.h>
#include <stdarg.h>
#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "common/log.h"
#include "common/sbuf.h"
#include "daemon/clock.h"
#include "daemon/json.h"
#include "daemon/oauth.h"
#include "daemon/rnd.h"
#include "daemon/secret.h"

#define CLUSTER_WATCH_MS 250            /* how often the reply deadline is checked */
#define CLUSTER_TICKS_PER_LEASE 3       /* leases are renewed this often within their time */
#define CLUSTER_KEY_LEASES 10           /* keys outlive the last node that wrote them this long */
#define CLUSTER_LOCK_MS (OAUTH_TIMEOUT_MS + 15000)  /* a refresh lock outlives its request */
#define CLUSTER_LOCK_RETRY_MS 250       /* the lock is taken: ask again (or when told) */
#define CLUSTER_MAX_COUNT 1000000       /* an in-flight count or node count we believe */
#define CLUSTER_MAX_EPOCH 1000000000000LL
#define CLUSTER_EPOCH_DIGITS 20
#define CLUSTER_INSTANCE_BYTES 8        /* random bytes that tell this process from a restart */
#define CLUSTER_TICKET_MAX 160
#define CLUSTER_ID_MAX (CONF_NAME_MAX + 1 + 253 + 1)
#define CLUSTER_PREFIX_MAX 64           /* bytes of key_prefix (conf.c's limit) */
#define CLUSTER_KEY_MAX (CLUSTER_PREFIX_MAX + CLUSTER_ID_MAX + 2)
#define CLUSTER_ADDR_MAX 128
#define CLUSTER_WHY_MAX 256
#define CLUSTER_SHA_HEX 40
#define CLUSTER_MAX_ARGS (16 + CLUSTER_MAX_LEASES)
#define CLUSTER_PASSWORD_MAX 512        /* bytes of a Redis password */
#define CLUSTER_CHANNEL "events"        /* after key_prefix: the one notification channel */

enum cluster_state {
	CLUSTER_CONNECTING,             /* the first connection is being made */
	CLUSTER_UP,                     /* both connections ready */
	CLUSTER_DOWN,                   /* unreachable: fallback, and reconnecting */
};

/* ---- the scripts ---- */

/*
 * Each script begins with Redis's clock in ms (now) and drops what has
 * expired, so that no node's clock matters and a dead node's leases and
 * ticket go by themselves.
 */
#define CLUSTER_LUA_NOW \
	"local t = redis.call('TIME') " \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
#define CLUSTER_LUA_PURGE \
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) " \
	"for _, d in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do " \
	"  redis.call('ZREM', KEYS[2], d) redis.call('ZREM', KEYS[3], d) end "
#define CLUSTER_LUA_KEEP(n) \
	"for i = 1, " #n " do redis.call('PEXPIRE', KEYS[i], lease * " \
	"tonumber(ARGV[#ARGV])) end "

/*
 * acquire: KEYS slots queue qexp seq nodes; ARGV lease-id ticket max
 * lease-ms node keep.  A free slot goes to the oldest tickets: this one
 * takes it when it is among the first (free) in the queue, or when it has
 * none and fewer than (free) wait.  Else it queues (once).  {granted, in use}
 */
static const char cluster_lua_acquire[] =
	CLUSTER_LUA_NOW
	"local lease = tonumber(ARGV[4]) "
	CLUSTER_LUA_PURGE
	"redis.call('ZADD', KEYS[5], now + lease, ARGV[5]) "
	"local used = redis.call('ZCARD', KEYS[1]) "
	"local free = tonumber(ARGV[3]) - used "
	"local got = 0 "
	"if free > 0 then "
	"  local rank = redis.call('ZRANK', KEYS[2], ARGV[2]) "
	"  if (rank == false and redis.call('ZCARD', KEYS[2]) < free) or "
	"     (rank ~= false and rank < free) then "
	"    redis.call('ZADD', KEYS[1], now + lease, ARGV[1]) "
	"    redis.call('ZREM', KEYS[2], ARGV[2]) redis.call('ZREM', KEYS[3], ARGV[2]) "
	"    used = used + 1 got = 1 "
	"  end "
	"end "
	"if got == 0 then "
	"  if redis.call('ZSCORE', KEYS[2], ARGV[2]) == false then "
	"    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[2]) end "
	"  redis.call('ZADD', KEYS[3], now + lease, ARGV[2]) "
	"end "
	CLUSTER_LUA_KEEP(5)
	"return {got, used}";

/*
 * release: KEYS slots queue; ARGV lease-id channel message.  Waiting
 * nodes hear of the free slot at once.  {in use}
 */
static const char cluster_lua_release[] =
	"redis.call('ZREM', KEYS[1], ARGV[1]) "
	"if redis.call('ZCARD', KEYS[2]) > 0 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end "
	"return {redis.call('ZCARD', KEYS[1])}";

/*
 * tick: KEYS slots queue qexp nodes throttle seq; ARGV lease-ms node
 * ticket waiting max-nodes keep lease-ids...  Renews this node's leases
 * (back in place after Redis lost them), its presence and its ticket.
 * {in use, nodes, throttle ms left (-2: none), node names (sorted)}
 */
static const char cluster_lua_tick[] =
	CLUSTER_LUA_NOW
	"local lease = tonumber(ARGV[1]) "
	CLUSTER_LUA_PURGE
	"for i = 7, #ARGV do redis.call('ZADD', KEYS[1], now + lease, ARGV[i]) end "
	"redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now) "
	"redis.call('ZADD', KEYS[4], now + lease, ARGV[2]) "
	"if ARGV[4] == '1' and redis.call('ZSCORE', KEYS[2], ARGV[3]) ~= false then "
	"  redis.call('ZADD', KEYS[3], now + lease, ARGV[3]) end "
	"for i = 1, 6 do if i ~= 5 then redis.call('PEXPIRE', KEYS[i], lease * tonumber(ARGV[6])) end end "
	"local names = redis.call('ZRANGE', KEYS[4], 0, tonumber(ARGV[5]) - 1) "
	"table.sort(names) "
	"return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[4]), "
	"        redis.call('PTTL', KEYS[5]), names}";

/* throttle: KEYS throttle; ARGV ms channel message.  Never shortens a longer hold.  {ms} */
static const char cluster_lua_throttle[] =
	"if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then "
	"  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end "
	"redis.call('PUBLISH', ARGV[2], ARGV[3]) "
	"return {tonumber(ARGV[1])}";

/*
 * lock: KEYS lock rt epoch; ARGV holder lock-ms.  {0} when another node
 * holds it, else {1, epoch, sealed sign-in or ""}.
 */
static const char cluster_lua_lock[] =
	"if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) == false then "
	"  if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end "
	"  redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
	"end "
	"return {1, redis.call('GET', KEYS[3]) or '0', redis.call('GET', KEYS[2]) or ''}";

/*
 * store: KEYS lock rt epoch; ARGV holder epoch sealed channel message.
 * The rotated sign-in replaces the shared one only while the lock is
 * still ours and nobody logged in or out meanwhile; the lock goes either
 * way, and waiting nodes hear it.  {stored}
 */
static const char cluster_lua_store[] =
	"local ours = redis.call('GET', KEYS[1]) == ARGV[1] "
	"local stored = 0 "
	"if ours and (redis.call('GET', KEYS[3]) or '0') == ARGV[2] and ARGV[3] ~= '' then "
	"  redis.call('SET', KEYS[2], ARGV[3]) stored = 1 end "
	"if ours then redis.call('DEL', KEYS[1]) end "
	"redis.call('PUBLISH', ARGV[4], ARGV[5]) "
	"return {stored}";

/* login: KEYS rt epoch; ARGV sealed channel message.  {epoch} */
static const char cluster_lua_login[] =
	"local e = redis.call('INCR', KEYS[2]) "
	"redis.call('SET', KEYS[1], ARGV[1]) "
	"redis.call('PUBLISH', ARGV[2], ARGV[3]) "
	"return {e}";

/* logout: KEYS rt epoch; ARGV channel message.  {epoch} */
static const char cluster_lua_logout[] =
	"local e = redis.call('INCR', KEYS[2]) "
	"redis.call('DEL', KEYS[1]) "
	"redis.call('PUBLISH', ARGV[1], ARGV[2]) "
	"return {e}";

enum cluster_script {
	CLUSTER_ACQUIRE,
	CLUSTER_RELEASE,
	CLUSTER_TICK,
	CLUSTER_THROTTLE,
	CLUSTER_LOCK,
	CLUSTER_STORE,
	CLUSTER_LOGIN,
	CLUSTER_LOGOUT,
	CLUSTER_NSCRIPTS,
};

static const char *const cluster_scripts[CLUSTER_NSCRIPTS] = {
	[CLUSTER_ACQUIRE] = cluster_lua_acquire,
	[CLUSTER_RELEASE] = cluster_lua_release,
	[CLUSTER_TICK] = cluster_lua_tick,
	[CLUSTER_THROTTLE] = cluster_lua_throttle,
	[CLUSTER_LOCK] = cluster_lua_lock,
	[CLUSTER_STORE] = cluster_lua_store,
	[CLUSTER_LOGIN] = cluster_lua_login,
	[CLUSTER_LOGOUT] = cluster_lua_logout,
};

/* ---- state ---- */

/* One of the two connections, with what the reply deadline needs. */
struct cluster_conn {
	struct cluster *c;
	redisAsyncContext *ac;          /* NULL: not connected */
	int ready;                      /* PONG seen / subscribed */
	int pending;                    /* commands sent, not answered */
	long long progress_at;          /* clock_ms() of the last answer, or of the first send */
};

/* The refresh lock, as this member sees it. */
enum cluster_rt {
	CLUSTER_RT_IDLE,
	CLUSTER_RT_WANT,                /* begin was called; the lock is to be asked for */
	CLUSTER_RT_LOCKING,             /* asked */
	CLUSTER_RT_HELD,                /* ours (or, unreachable, gone ahead without it) */
};

struct cluster_member {
	struct cluster *c;
	struct cluster_hooks hooks;
	char id[CLUSTER_ID_MAX];        /* <profile>@<tenant> */
	char key[CLUSTER_KEY_MAX];      /* <prefix><id>: */
	char ticket[CLUSTER_TICKET_MAX];        /* <node>/<instance>/<serial> */
	int max;                        /* max_connections */
	struct event *kick;             /* step() from the loop */
	struct event *tick;             /* renewals, every lease_time / 3 */
	struct event *retry;            /* the refresh lock, asked again */
	int want;                       /* the pool waits for a slot */
	int asking;                     /* an acquire is unanswered */
	int slots_due;                  /* slots granted, hooks.slot not yet called */
	unsigned long leases[CLUSTER_MAX_LEASES];
	int nleases;
	unsigned long next_lease;
	long long in_flight;            /* in the whole cluster, last seen; -1: never */
	int nnodes;                     /* serving the profile, last seen */
	int nnames;
	char *node_names;               /* nnames of them, each NUL-terminated */
	enum cluster_rt rt;
	int rt_cancel;                  /* end came while the lock was being asked for */
	int rt_locked;                  /* the lock in Redis is ours (not a fallback go) */
	char epoch[CLUSTER_EPOCH_DIGITS + 1];
	int pending;                    /* commands that name this member */
	int gone;                       /* left: freed when pending reaches 0 */
	TAILQ_ENTRY(cluster_member) entry;
};

struct cluster {
	struct event_base *base;
	char node[CONF_NAME_MAX + 1];
	char instance[CLUSTER_INSTANCE_BYTES * 2 + 1];
	char prefix[CLUSTER_PREFIX_MAX + 1];
	char channel[CLUSTER_PREFIX_MAX + sizeof(CLUSTER_CHANNEL)];
	char redis[CLUSTER_ADDR_MAX];   /* as exod.conf says it, for messages */
	char host[CLUSTER_ADDR_MAX];    /* path or numeric address */
	int port;                       /* 0: a Unix socket */
	struct sbuf *password;          /* NULL: no AUTH */
	long long lease_ms;
	enum conf_fallback fallback;
	enum cluster_state state;
	struct cluster_conn cmd, sub;
	long long connect_at;           /* when the connection being made started */
	long long down_at;
	unsigned failures;              /* reconnects in a row, for the backoff */
	char why[CLUSTER_WHY_MAX];      /* why it is down */
	struct event *reconnect;
	struct event *watch;
	unsigned long serials;
	char sha[CLUSTER_NSCRIPTS][CLUSTER_SHA_HEX + 1];
	TAILQ_HEAD(, cluster_member) members;
};

/* What a command is for, so that its answer goes to the right check. */
enum cluster_kind {
	CLUSTER_K_AUTH,
	CLUSTER_K_PING,
	CLUSTER_K_ACQUIRE,
	CLUSTER_K_RELEASE,
	CLUSTER_K_TICK,
	CLUSTER_K_THROTTLE,
	CLUSTER_K_LOCK,
	CLUSTER_K_STORE,
	CLUSTER_K_LOGIN,
	CLUSTER_K_LOGOUT,
};

/* A command in flight: its arguments are kept, so that EVALSHA can become EVAL. */
struct cluster_cmd {
	struct cluster_conn *conn;
	struct cluster_member *m;       /* NULL: the cluster's own */
	enum cluster_kind kind;
	int script;                     /* enum cluster_script; -1: not a script */
	int evaled;                     /* sent again as EVAL after NOSCRIPT */
	unsigned long lease;            /* ACQUIRE: the lease it asks for */
	int argc;
	const char *argv[CLUSTER_MAX_ARGS];
	size_t argvlen[CLUSTER_MAX_ARGS];
	int owned;                      /* argv[owned..] are copies, wiped and freed with it */
	int failed;                     /* an argument could not be added: it is never sent */
};

static void cluster_step_all(struct cluster *c);
static void cluster_tick(struct cluster_member *m);
static void cluster_drop(struct cluster *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- replies ---- */

int cluster_reply_int(const struct redisReply *r, long long min, long long max, long long *out)
{
	if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer < min || r->integer > max)
		return -1;
	*out = r->integer;
	return 0;
}

int cluster_reply_array(const struct redisReply *r, size_t min, size_t max)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < min || r->elements > max ||
	    (r->elements > 0 && r->element == NULL))
		return -1;
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i] == NULL)
			return -1;
	return 0;
}

int cluster_reply_str(const struct redisReply *r, size_t max, const char **s, size_t *len)
{
	if (r == NULL || r->type != REDIS_REPLY_STRING || r->len > max ||
	    (r->len > 0 && r->str == NULL))
		return -1;
	*s = r->str != NULL ? r->str : "";
	*len = r->len;
	return 0;
}

int cluster_reply_status(const struct redisReply *r, const char *want)
{
	return r != NULL && r->type == REDIS_REPLY_STATUS && r->str != NULL &&
	       r->len == strlen(want) && memcmp(r->str, want, r->len) == 0 ? 0 : -1;
}

/* Node names, tickets, ids: printable, no blanks, and nothing a message would split on. */
static int cluster_word_ok(const char *s, size_t len, size_t max, const char *extra)
{
	if (len == 0 || len > max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		/* strchr would find a NUL byte: the string's own end. */
		if (ch == '\0' || (!isalnum(ch) && strchr("_.-", ch) == NULL &&
				    (extra == NULL || strchr(extra, ch) == NULL)))
			return 0;
	}
	return 1;
}

int cluster_reply_name(const struct redisReply *r, char *out, size_t outlen)
{
	const char *s;
	size_t len;

	if (cluster_reply_str(r, CONF_NAME_MAX, &s, &len) < 0 || len >= outlen ||
	    !cluster_word_ok(s, len, CONF_NAME_MAX, NULL))
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int cluster_reply_digits(const struct redisReply *r, long long max, long long *out)
{
	const char *s;
	size_t len;
	long long v = 0;

	if (cluster_reply_str(r, CLUSTER_EPOCH_DIGITS, &s, &len) < 0 || len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]) || v > (max - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* ---- building replies, bounded ---- */

/*
 * hiredis 0.14 makes an array reply as long as the server says
 * ("*2000000000" asks for 16 GB) and a string as long as it sent.  exod's
 * own builders refuse more than any answer of its scripts holds: the
 * reader then fails, and the connection is dropped like any other.
 */
static void *cluster_reply_link(const redisReadTask *task, redisReply *r)
{
	if (task->parent != NULL) {
		redisReply *parent = task->parent->obj;

		parent->element[task->idx] = r;
	}
	return r;
}

static redisReply *cluster_reply_new(int type)
{
	redisReply *r = calloc(1, sizeof(*r));

	if (r != NULL)
		r->type = type;
	return r;
}

static void *cluster_new_string(const redisReadTask *task, char *s, size_t len)
{
	redisReply *r;

	if (len > CLUSTER_MAX_REPLY_BYTES || (r = cluster_reply_new(task->type)) == NULL)
		return NULL;
	if ((r->str = malloc(len + 1)) == NULL) {
		free(r);
		return NULL;
	}
	memcpy(r->str, s, len);
	r->str[len] = '\0';
	r->len = len;
	return cluster_reply_link(task, r);
}

static void *cluster_new_array(const redisReadTask *task, int elements)
{
	redisReply *r;

	if (elements < 0 || elements > CLUSTER_MAX_REPLY_ELEMENTS ||
	    (r = cluster_reply_new(REDIS_REPLY_ARRAY)) == NULL)
		return NULL;
	if (elements > 0 && (r->element = calloc((size_t)elements, sizeof(*r->element))) == NULL) {
		free(r);
		return NULL;
	}
	r->elements = (size_t)elements;
	return cluster_reply_link(task, r);
}

static void *cluster_new_integer(const redisReadTask *task, long long value)
{
	redisReply *r = cluster_reply_new(REDIS_REPLY_INTEGER);

	if (r == NULL)
		return NULL;
	r->integer = value;
	return cluster_reply_link(task, r);
}

static void *cluster_new_nil(const redisReadTask *task)
{
	redisReply *r = cluster_reply_new(REDIS_REPLY_NIL);

	return r != NULL ? cluster_reply_link(task, r) : NULL;
}

/* freeReplyObject frees what these make: the same layout, from the same malloc. */
static redisReplyObjectFunctions cluster_reply_fns = {
	cluster_new_string, cluster_new_array, cluster_new_integer, cluster_new_nil, freeReplyObject,
};

void cluster_reader_bound(struct redisReader *rd)
{
	rd->fn = &cluster_reply_fns;
}

/* ---- notifications ---- */

static const char *const cluster_note_kinds[] = { "free", "unlock", "throttle", "login", "logout" };

/* The next blank-separated word of [*p, end) into out (outlen with its NUL); -1 if none fits. */
static int cluster_note_word(const char **p, const char *end, char *out, size_t outlen)
{
	const char *s = *p;
	const char *e = memchr(s, ' ', (size_t)(end - s));
	size_t n = (size_t)((e != NULL ? e : end) - s);

	if (n == 0 || n >= outlen)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = e != NULL ? e + 1 : end;
	return 0;
}

int cluster_parse_note(const char *p, size_t len, struct cluster_note *out)
{
	const char *end = p + len;
	char ms[16] = "";
	size_t k;
	char *stop;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > CLUSTER_MAX_MESSAGE || memchr(p, '\0', len) != NULL || p[len - 1] == ' ' ||
	    cluster_note_word(&p, end, out->kind, sizeof(out->kind)) < 0 ||
	    cluster_note_word(&p, end, out->ticket, sizeof(out->ticket)) < 0 ||
	    cluster_note_word(&p, end, out->id, sizeof(out->id)) < 0 ||
	    (p < end && cluster_note_word(&p, end, ms, sizeof(ms)) < 0) || p < end)
		return -1;
	for (k = 0; k < sizeof(cluster_note_kinds) / sizeof(cluster_note_kinds[0]); k++)
		if (strcmp(out->kind, cluster_note_kinds[k]) == 0)
			break;
	if (k == sizeof(cluster_note_kinds) / sizeof(cluster_note_kinds[0]) ||
	    !cluster_word_ok(out->ticket, strlen(out->ticket), sizeof(out->ticket) - 1, "/") ||
	    !cluster_word_ok(out->id, strlen(out->id), sizeof(out->id) - 1, "@"))
		return -1;
	if ((strcmp(out->kind, "throttle") == 0) != (ms[0] != '\0'))
		return -1;
	if (ms[0] != '\0') {
		if (!isdigit((unsigned char)ms[0]))
			return -1;
		out->ms = strtoll(ms, &stop, 10);
		if (*stop != '\0' || out->ms < 1 || out->ms > CLUSTER_MAX_HOLD_MS)
			return -1;
	}
	return 0;
}

/* ---- commands ---- */

static void cluster_cmd_free(struct cluster_cmd *cmd)
{
	for (int i = cmd->owned; i < cmd->argc; i++) {
		sbuf_wipe((void *)cmd->argv[i], cmd->argvlen[i]);
		free((void *)cmd->argv[i]);
	}
	free(cmd);
}

static struct cluster_cmd *cluster_cmd_new(struct cluster_member *m, enum cluster_kind kind)
{
	struct cluster_cmd *cmd = calloc(1, sizeof(*cmd));

	if (cmd == NULL)
		return NULL;
	cmd->m = m;
	cmd->kind = kind;
	cmd->script = -1;
	return cmd;
}

/*
 * A copy of p[0..len): the command keeps it until answered.  A failure
 * sticks to the command (cluster_send_cmd then drops it), so that a
 * command is built without a check after each argument.
 */
static int cluster_arg(struct cluster_cmd *cmd, const void *p, size_t len)
{
	char *copy;

	if (cmd == NULL || cmd->failed)
		return -1;
	if (cmd->argc >= CLUSTER_MAX_ARGS || (copy = malloc(len + 1)) == NULL) {
		cmd->failed = 1;
		return -1;
	}
	memcpy(copy, p, len);
	copy[len] = '\0';
	cmd->argv[cmd->argc] = copy;
	cmd->argvlen[cmd->argc++] = len;
	return 0;
}

static int cluster_arg_str(struct cluster_cmd *cmd, const char *s)
{
	return cluster_arg(cmd, s, strlen(s));
}

static int cluster_arg_int(struct cluster_cmd *cmd, long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", v);
	return cluster_arg_str(cmd, buf);
}

/* A script's call: EVALSHA sha nkeys, then the member's keys named by their suffixes (or NULL). */
static struct cluster_cmd *cluster_script_new(struct cluster_member *m, enum cluster_kind kind,
					      enum cluster_script script, const char *const *keys,
					      int nkeys)
{
	struct cluster_cmd *cmd = cluster_cmd_new(m, kind);
	char key[CLUSTER_KEY_MAX + 16];

	if (cmd == NULL)
		return NULL;
	cmd->script = (int)script;
	cmd->argv[0] = "EVALSHA";
	cmd->argvlen[0] = strlen("EVALSHA");
	cmd->argv[1] = m->c->sha[script];
	cmd->argvlen[1] = CLUSTER_SHA_HEX;
	cmd->argc = cmd->owned = 2;
	cluster_arg_int(cmd, nkeys);
	for (int i = 0; i < nkeys; i++) {
		snprintf(key, sizeof(key), "%s%s", m->key, keys[i]);
		cluster_arg_str(cmd, key);
	}
	return cmd;
}

static void cluster_on_reply(redisAsyncContext *ac, void *reply, void *priv);

/* Sends cmd (its memory is the callback's from then on); -1, and still the caller's, if not. */
static int cluster_send(struct cluster_conn *conn, struct cluster_cmd *cmd)
{
	if (conn->ac == NULL ||
	    redisAsyncCommandArgv(conn->ac, cluster_on_reply, cmd, cmd->argc, cmd->argv,
				  cmd->argvlen) != REDIS_OK)
		return -1;
	cmd->conn = conn;
	if (conn->pending++ == 0)
		conn->progress_at = clock_ms();
	if (cmd->m != NULL)
		cmd->m->pending++;
	return 0;
}

/*
 * Sends a member's command on the command connection, if there is one
 * and the command is whole; -1 (and it is freed) when it did not go.
 */
static int cluster_send_cmd(struct cluster_cmd *cmd)
{
	if (cmd == NULL)
		return -1;
	if (cmd->failed || cluster_send(&cmd->m->c->cmd, cmd) < 0) {
		cluster_cmd_free(cmd);
		return -1;
	}
	return 0;
}

static void cluster_member_free(struct cluster_member *m)
{
	if (m->kick != NULL)
		event_free(m->kick);
	if (m->tick != NULL)
		event_free(m->tick);
	if (m->retry != NULL)
		event_free(m->retry);
	free(m->node_names);
	free(m);
}

/* An answer, or NULL when the connection went: checked by kind, then the command is done. */
static void cluster_answer(struct cluster_cmd *cmd, const redisReply *r);

/* NOSCRIPT: Redis lost its script cache (a restart): the same call again, with the script. */
static int cluster_noscript(struct cluster_cmd *cmd, const redisReply *r)
{
	if (r == NULL || r->type != REDIS_REPLY_ERROR || cmd->script < 0 || cmd->evaled ||
	    r->str == NULL || strncmp(r->str, "NOSCRIPT", strlen("NOSCRIPT")) != 0)
		return 0;
	cmd->evaled = 1;
	cmd->argv[0] = "EVAL";
	cmd->argvlen[0] = strlen("EVAL");
	cmd->argv[1] = cluster_scripts[cmd->script];
	cmd->argvlen[1] = strlen(cluster_scripts[cmd->script]);
	if (cmd->m != NULL)
		cmd->m->pending--;
	if (cluster_send(cmd->conn, cmd) == 0)
		return 1;
	/* Not sent: the NOSCRIPT answer stands, and fails the command. */
	if (cmd->m != NULL)
		cmd->m->pending++;
	return 0;
}

static void cluster_on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct cluster_cmd *cmd = priv;
	struct cluster_conn *conn = cmd->conn;
	struct cluster_member *m = cmd->m;

	(void)ac;
	if (conn->pending > 0)
		conn->pending--;
	conn->progress_at = clock_ms();
	if (cluster_noscript(cmd, reply))
		return;
	if (m == NULL || !m->gone)
		cluster_answer(cmd, reply);
	cluster_cmd_free(cmd);
	if (m != NULL && --m->pending == 0 && m->gone)
		cluster_member_free(m);
}

/* ---- the connections ---- */

static const char *cluster_state_name(enum cluster_state s)
{
	switch (s) {
	case CLUSTER_CONNECTING:
		return "connecting";
	case CLUSTER_UP:
		return "up";
	case CLUSTER_DOWN:
		return "unreachable";
	}
	return "unreachable";
}

/* What Redis (or hiredis) said, fit for a log line: printable ASCII only, cut short. */
static void cluster_quote(char *out, size_t outlen, const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; s != NULL && i < len && n + 1 < outlen; i++)
		out[n++] = s[i] >= ' ' && s[i] < 0x7f ? s[i] : '?';
	out[n] = '\0';
}

static void cluster_conn_close(struct cluster_conn *conn)
{
	redisAsyncContext *ac = conn->ac;

	/* Cleared first: the answers still due come back NULL, and the disconnect is not news. */
	conn->ac = NULL;
	conn->ready = 0;
	conn->pending = 0;
	if (ac != NULL)
		redisAsyncFree(ac);
}

static void cluster_reconnect_later(struct cluster *c)
{
	struct timeval tv = clock_tv(rnd_backoff_ms(CLUSTER_RECONNECT_MIN_MS,
						    CLUSTER_RECONNECT_MAX_MS, c->failures));

	if (c->failures < 32)
		c->failures++;
	evtimer_add(c->reconnect, &tv);
}

/* Said once an outage, when it starts: what exod does until Redis is back. */
static void cluster_say_down(const struct cluster *c)
{
	if (c->fallback == CONF_FALLBACK_FAIL)
		log_warn("cluster: Redis at %s cannot be reached (%s): clustered profiles refuse "
			 "new runs (cluster_fallback = fail) until it is back", c->redis, c->why);
	else
		log_warn("cluster: Redis at %s cannot be reached (%s): each clustered profile "
			 "serves with max_connections divided by the nodes it last saw (status "
			 "shows the cap) until it is back", c->redis, c->why);
}

/*
 * Both connections go (whichever failed, the other is no use alone), the
 * profiles fall back, and a reconnect is due.  Safe to call again and from
 * inside hiredis's callbacks.
 */
static void cluster_drop(struct cluster *c, const char *fmt, ...)
{
	enum cluster_state was = c->state;
	va_list ap;

	cluster_conn_close(&c->cmd);
	cluster_conn_close(&c->sub);
	if (!evtimer_pending(c->reconnect, NULL))
		cluster_reconnect_later(c);
	if (was == CLUSTER_DOWN)
		return;
	va_start(ap, fmt);
	/* clang-tidy 14 misreads glibc's va_list after va_start. */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	c->state = CLUSTER_DOWN;
	c->down_at = clock_ms();
	cluster_say_down(c);
	cluster_step_all(c);
}

static void cluster_check_up(struct cluster *c)
{
	struct cluster_member *m;
	enum cluster_state was;

	if (!c->cmd.ready || !c->sub.ready || c->state == CLUSTER_UP)
		return;
	was = c->state;
	if (c->state == CLUSTER_CONNECTING)
		log_info("cluster: node %s connected to Redis at %s", c->node, c->redis);
	else
		log_msg(LOG_NOTICE, "cluster: Redis at %s is back after %lld s: node %s rejoined", c->redis,
			   (clock_ms() - c->down_at) / 1000, c->node);
	c->state = CLUSTER_UP;
	c->failures = 0;
	c->why[0] = '\0';
	/*
	 * Rejoin at once, leases first: what ran meanwhile is back in Redis
	 * (a restarted one knows nothing) before any node is granted more.
	 */
	TAILQ_FOREACH(m, &c->members, entry)
		cluster_tick(m);
	cluster_step_all(c);
	if (was == CLUSTER_DOWN)
		TAILQ_FOREACH(m, &c->members, entry)
			m->hooks.signed_in(m->hooks.arg, 1);
}

static void cluster_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct cluster_conn *conn = ac->data;
	char why[CLUSTER_WHY_MAX];

	(void)status;
	if (conn == NULL || conn->ac != ac)
		return;         /* one we closed ourselves */
	cluster_quote(why, sizeof(why), ac->errstr, strlen(ac->errstr));
	/* hiredis frees it after this returns. */
	conn->ac = NULL;
	cluster_drop(conn->c, "%s", why[0] != '\0' ? why : "connection closed");
}

static void cluster_on_connect(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK)
		cluster_on_disconnect(ac, status);
}

static void cluster_on_message(redisAsyncContext *ac, void *reply, void *priv);

/* A context for conn, attached to the loop; -1 (and the cluster dropped) when it cannot be had. */
static int cluster_conn_open(struct cluster *c, struct cluster_conn *conn)
{
	redisAsyncContext *ac = c->port == 0 ? redisAsyncConnectUnix(c->host)
					     : redisAsyncConnect(c->host, c->port);
	char why[CLUSTER_WHY_MAX] = "out of memory";

	if (ac != NULL && ac->err == 0 && redisLibeventAttach(ac, c->base) == REDIS_OK &&
	    redisAsyncSetConnectCallback(ac, cluster_on_connect) == REDIS_OK &&
	    redisAsyncSetDisconnectCallback(ac, cluster_on_disconnect) == REDIS_OK) {
		ac->data = conn;
		cluster_reader_bound(ac->c.reader);
		conn->ac = ac;
		conn->ready = 0;
		conn->pending = 0;
		return 0;
	}
	if (ac != NULL && ac->err != 0)
		cluster_quote(why, sizeof(why), ac->errstr, strlen(ac->errstr));
	if (ac != NULL)
		redisAsyncFree(ac);
	cluster_drop(c, "%s", why);
	return -1;
}

static int cluster_send_own(struct cluster *c, struct cluster_conn *conn, enum cluster_kind kind,
			    const char *const *args, int nargs)
{
	struct cluster_cmd *cmd = cluster_cmd_new(NULL, kind);

	if (cmd == NULL)
		return -1;
	for (int i = 0; i < nargs; i++) {
		/* AUTH's password comes from the secret buffer, and is wiped with the command. */
		if (kind == CLUSTER_K_AUTH && i == 1 ? cluster_arg(cmd, sbuf_ptr(c->password),
							       sbuf_len(c->password)) < 0
						     : cluster_arg_str(cmd, args[i]) < 0)
			goto fail;
	}
	if (cluster_send(conn, cmd) == 0)
		return 0;
fail:
	cluster_cmd_free(cmd);
	return -1;
}

/* AUTH first (hiredis queues it until the socket is up), then PING or SUBSCRIBE. */
static int cluster_greet(struct cluster *c)
{
	static const char *const auth[] = { "AUTH", NULL };
	static const char *const ping[] = { "PING" };

	if (c->password != NULL && (cluster_send_own(c, &c->cmd, CLUSTER_K_AUTH, auth, 2) < 0 ||
				    cluster_send_own(c, &c->sub, CLUSTER_K_AUTH, auth, 2) < 0))
		return -1;
	if (cluster_send_own(c, &c->cmd, CLUSTER_K_PING, ping, 1) < 0 ||
	    redisAsyncCommand(c->sub.ac, cluster_on_message, c, "SUBSCRIBE %b", c->channel,
			      strlen(c->channel)) != REDIS_OK)
		return -1;
	if (c->sub.pending++ == 0)
		c->sub.progress_at = clock_ms();
	return 0;
}

static void cluster_connect(struct cluster *c)
{
	c->connect_at = clock_ms();
	if (cluster_conn_open(c, &c->cmd) < 0 || cluster_conn_open(c, &c->sub) < 0)
		return;
	if (cluster_greet(c) < 0)
		cluster_drop(c, "cannot send to Redis");
}

static void cluster_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;

	(void)fd;
	(void)what;
	log_debug("cluster: connecting to Redis at %s", c->redis);
	cluster_connect(c);
}

/* Answers that do not come in time mean a Redis that hangs or a network that drops. */
static void cluster_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	long long now = clock_ms();

	(void)fd;
	(void)what;
	if (c->cmd.ac == NULL && c->sub.ac == NULL)
		return;
	if (c->state != CLUSTER_UP && now - c->connect_at > CLUSTER_CONNECT_TIMEOUT_MS)
		cluster_drop(c, "not connected within %d ms", CLUSTER_CONNECT_TIMEOUT_MS);
	else if ((c->cmd.pending > 0 && now - c->cmd.progress_at > CLUSTER_REPLY_TIMEOUT_MS) ||
		 (c->sub.pending > 0 && now - c->sub.progress_at > CLUSTER_REPLY_TIMEOUT_MS))
		cluster_drop(c, "no answer within %d ms", CLUSTER_REPLY_TIMEOUT_MS);
}

/* ---- a member's shared slots ---- */

static const char *const cluster_slot_keys[] = { "slots", "queue", "qexp", "seq", "nodes" };
static const char *const cluster_tick_keys[] = { "slots", "queue", "qexp", "nodes", "throttle",
						 "seq" };
static const char *const cluster_rt_keys[] = { "lock", "rt", "epoch" };

static int cluster_arg_lease(struct cluster_cmd *cmd, const struct cluster_member *m,
			     unsigned long lease)
{
	char id[CLUSTER_TICKET_MAX + 24];

	snprintf(id, sizeof(id), "%s/%lu", m->ticket, lease);
	return cluster_arg_str(cmd, id);
}

/* "KIND TICKET ID [MS]": the notification every node reads. */
static int cluster_arg_note(struct cluster_cmd *cmd, const struct cluster_member *m,
			    const char *kind, long long ms)
{
	char note[CLUSTER_MAX_MESSAGE + 1];

	if (ms > 0)
		snprintf(note, sizeof(note), "%s %s %s %lld", kind, m->ticket, m->id, ms);
	else
		snprintf(note, sizeof(note), "%s %s %s", kind, m->ticket, m->id);
	return cluster_arg_str(cmd, note);
}

static void cluster_kick(struct cluster_member *m)
{
	if (!m->gone)
		event_active(m->kick, EV_TIMEOUT, 0);
}

static void cluster_step_all(struct cluster *c)
{
	struct cluster_member *m;

	TAILQ_FOREACH(m, &c->members, entry)
		cluster_kick(m);
}

/* max_connections shared by the nodes last seen: what a node may take while Redis is gone. */
static int cluster_fallback_cap(const struct cluster_member *m)
{
	int cap = m->max / (m->nnodes > 1 ? m->nnodes : 1);

	return cap > 0 ? cap : 1;
}

static void cluster_take_lease(struct cluster_member *m, unsigned long lease)
{
	if (m->nleases >= CLUSTER_MAX_LEASES) {
		/* The pool never holds more than max_connections (at most 64): not reached. */
		log_err("profile %.*s: more than %d cluster leases", (int)strcspn(m->id, "@"), m->id,
			CLUSTER_MAX_LEASES);
		return;
	}
	m->leases[m->nleases++] = lease;
	m->want = 0;
	m->hooks.slot(m->hooks.arg);
}

static void cluster_acquire(struct cluster_member *m)
{
	struct cluster *c = m->c;
	unsigned long lease = ++m->next_lease;
	struct cluster_cmd *cmd = cluster_script_new(m, CLUSTER_K_ACQUIRE, CLUSTER_ACQUIRE,
						     cluster_slot_keys, 5);

	cluster_arg_lease(cmd, m, lease);
	cluster_arg_str(cmd, m->ticket);
	cluster_arg_int(cmd, m->max);
	cluster_arg_int(cmd, c->lease_ms);
	cluster_arg_str(cmd, c->node);
	cluster_arg_int(cmd, CLUSTER_KEY_LEASES);
	if (cmd != NULL)
		cmd->lease = lease;
	if (cluster_send_cmd(cmd) < 0) {
		cluster_drop(c, "cannot send to Redis");
		return;
	}
	m->asking = 1;
}

static void cluster_on_acquire(struct cluster_cmd *cmd, const redisReply *r)
{
	struct cluster_member *m = cmd->m;
	long long got, used;

	m->asking = 0;
	if (r == NULL) {
		cluster_kick(m);        /* asked again, or on the fallback, once the cluster knows */
		return;
	}
	if (cluster_reply_array(r, 2, 2) < 0 || cluster_reply_int(r->element[0], 0, 1, &got) < 0 ||
	    cluster_reply_int(r->element[1], 0, CLUSTER_MAX_COUNT, &used) < 0) {
		cluster_drop(m->c, "unexpected answer to a slot request");
		return;
	}
	m->in_flight = used;
	/* Not granted: a notification (a slot freed) or the next tick asks again. */
	if (got)
		cluster_take_lease(m, cmd->lease);
}

static void cluster_release(struct cluster_member *m, unsigned long lease)
{
	struct cluster_cmd *cmd = cluster_script_new(m, CLUSTER_K_RELEASE, CLUSTER_RELEASE,
						     cluster_slot_keys, 2);

	cluster_arg_lease(cmd, m, lease);
	cluster_arg_str(cmd, m->c->channel);
	cluster_arg_note(cmd, m, "free", 0);
	/* Unsent, the lease expires by itself within lease_time. */
	cluster_send_cmd(cmd);
}

static void cluster_on_release(struct cluster_cmd *cmd, const redisReply *r)
{
	long long used;

	if (r == NULL)
		return;
	if (cluster_reply_array(r, 1, 1) < 0 ||
	    cluster_reply_int(r->element[0], 0, CLUSTER_MAX_COUNT, &used) < 0) {
		cluster_drop(cmd->m->c, "unexpected answer to a slot release");
		return;
	}
	cmd->m->in_flight = used;
}

void cluster_want_slot(void *member)
{
	struct cluster_member *m = member;

	m->want = 1;
	cluster_kick(m);
}

void cluster_slot_done(void *member)
{
	struct cluster_member *m = member;
	unsigned long lease;

	if (m->nleases == 0)
		return;
	lease = m->leases[--m->nleases];
	if (m->c->state == CLUSTER_UP)
		cluster_release(m, lease);
	cluster_kick(m);        /* unreachable: room under the fallback cap */
}

/* ---- renewals ---- */

static void cluster_tick(struct cluster_member *m)
{
	struct cluster *c = m->c;
	struct cluster_cmd *cmd = cluster_script_new(m, CLUSTER_K_TICK, CLUSTER_TICK,
						     cluster_tick_keys, 6);

	cluster_arg_int(cmd, c->lease_ms);
	cluster_arg_str(cmd, c->node);
	cluster_arg_str(cmd, m->ticket);
	cluster_arg_str(cmd, m->want ? "1" : "0");
	cluster_arg_int(cmd, CLUSTER_MAX_NODES);
	cluster_arg_int(cmd, CLUSTER_KEY_LEASES);
	for (int i = 0; i < m->nleases; i++)
		cluster_arg_lease(cmd, m, m->leases[i]);
	if (cluster_send_cmd(cmd) < 0)
		cluster_drop(c, "cannot send to Redis");
}

/* The node names of a tick's answer, kept for status; -1 when one is not a name. */
static int cluster_keep_nodes(struct cluster_member *m, const redisReply *names)
{
	char buf[CLUSTER_MAX_NODES * (CONF_NAME_MAX + 1)];
	size_t off = 0;
	char *copy;

	for (size_t i = 0; i < names->elements; i++) {
		if (cluster_reply_name(names->element[i], buf + off, sizeof(buf) - off) < 0)
			return -1;
		off += strlen(buf + off) + 1;
	}
	copy = malloc(off > 0 ? off : 1);
	if (copy == NULL)
		return 0;       /* status shows the count without the names */
	memcpy(copy, buf, off);
	free(m->node_names);
	m->node_names = copy;
	m->nnames = (int)names->elements;
	return 0;
}

static void cluster_on_tick(struct cluster_cmd *cmd, const redisReply *r)
{
	struct cluster_member *m = cmd->m;
	long long used, nodes, hold;

	if (r == NULL)
		return;
	if (cluster_reply_array(r, 4, 4) < 0 ||
	    cluster_reply_int(r->element[0], 0, CLUSTER_MAX_COUNT, &used) < 0 ||
	    cluster_reply_int(r->element[1], 0, CLUSTER_MAX_COUNT, &nodes) < 0 ||
	    cluster_reply_int(r->element[2], -2, CLUSTER_MAX_HOLD_MS, &hold) < 0 ||
	    cluster_reply_array(r->element[3], 0, CLUSTER_MAX_NODES) < 0 ||
	    cluster_keep_nodes(m, r->element[3]) < 0) {
		cluster_drop(m->c, "unexpected answer to a renewal");
		return;
	}
	m->in_flight = used;
	/* More nodes than names (over CLUSTER_MAX_NODES): the count is what the cap divides by. */
	m->nnodes = (int)nodes;
	if (hold > 0)
		m->hooks.hold(m->hooks.arg, hold);
	/* A lease that expired elsewhere wakes nobody: waiters ask again on each tick. */
	if (m->want && !m->asking)
		cluster_kick(m);
}

static void cluster_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster_member *m = arg;

	(void)fd;
	(void)what;
	if (m->c->state == CLUSTER_UP)
		cluster_tick(m);
}

/* ---- throttling ---- */

void cluster_throttled(struct cluster_member *m, long long ms)
{
	struct cluster_cmd *cmd;

	if (m->c->state != CLUSTER_UP || ms <= 0)
		return;
	if (ms > CLUSTER_MAX_HOLD_MS)
		ms = CLUSTER_MAX_HOLD_MS;
	cmd = cluster_script_new(m, CLUSTER_K_THROTTLE, CLUSTER_THROTTLE, cluster_tick_keys + 4, 1);
	cluster_arg_int(cmd, ms);
	cluster_arg_str(cmd, m->c->channel);
	cluster_arg_note(cmd, m, "throttle", ms);
	cluster_send_cmd(cmd);
}

/* ---- the delegated sign-in ---- */

static void cluster_lock(struct cluster_member *m)
{
	struct cluster_cmd *cmd = cluster_script_new(m, CLUSTER_K_LOCK, CLUSTER_LOCK,
						     cluster_rt_keys, 3);

	cluster_arg_str(cmd, m->ticket);
	cluster_arg_int(cmd, CLUSTER_LOCK_MS);
	if (cluster_send_cmd(cmd) < 0) {
		cluster_drop(m->c, "cannot send to Redis");
		return;
	}
	m->rt = CLUSTER_RT_LOCKING;
}

/* Gives the lock back, storing sealed when it is not empty; waiting nodes are told. */
static void cluster_store(struct cluster_member *m, const unsigned char *sealed, size_t len)
{
	struct cluster_cmd *cmd = cluster_script_new(m, CLUSTER_K_STORE, CLUSTER_STORE,
						     cluster_rt_keys, 3);

	m->rt = CLUSTER_RT_IDLE;
	m->rt_locked = 0;
	cluster_arg_str(cmd, m->ticket);
	cluster_arg_str(cmd, m->epoch);
	cluster_arg(cmd, sealed != NULL ? (const void *)sealed : "", sealed != NULL ? len : 0);
	cluster_arg_str(cmd, m->c->channel);
	cluster_arg_note(cmd, m, "unlock", 0);
	/* Unsent, the lock expires by itself (CLUSTER_LOCK_MS). */
	cluster_send_cmd(cmd);
}

static void cluster_lock_later(struct cluster_member *m)
{
	struct timeval tv = clock_tv(CLUSTER_LOCK_RETRY_MS);

	m->rt = CLUSTER_RT_WANT;
	evtimer_add(m->retry, &tv);
}

static void cluster_on_lock(struct cluster_cmd *cmd, const redisReply *r)
{
	struct cluster_member *m = cmd->m;
	const char *blob = NULL;
	size_t len = 0;
	long long got, epoch;

	if (r == NULL) {
		m->rt = m->rt_cancel ? CLUSTER_RT_IDLE : CLUSTER_RT_WANT;
		cluster_kick(m);
		return;
	}
	if (cluster_reply_array(r, 1, 3) < 0 || cluster_reply_int(r->element[0], 0, 1, &got) < 0 ||
	    (got == 1 && (r->elements != 3 ||
			  cluster_reply_digits(r->element[1], CLUSTER_MAX_EPOCH, &epoch) < 0 ||
			  cluster_reply_str(r->element[2], CLUSTER_MAX_BLOB, &blob, &len) < 0))) {
		cluster_drop(m->c, "unexpected answer to the refresh lock");
		return;
	}
	if (!got) {
		if (m->rt_cancel)
			m->rt = CLUSTER_RT_IDLE;
		else
			cluster_lock_later(m);  /* or sooner, when the holder says "unlock" */
		return;
	}
	snprintf(m->epoch, sizeof(m->epoch), "%lld", epoch);
	m->rt_locked = 1;
	if (m->rt_cancel) {
		cluster_store(m, NULL, 0);
		return;
	}
	/* Signed in once and now gone: a logout this node did not hear of.  Its own copy goes too. */
	if (len == 0 && epoch > 0) {
		cluster_store(m, NULL, 0);
		m->hooks.signed_out(m->hooks.arg);
		return;
	}
	m->rt = CLUSTER_RT_HELD;
	m->hooks.refresh_go(m->hooks.arg, len > 0 ? (const unsigned char *)blob : NULL, len);
}

void cluster_refresh_begin(void *member)
{
	struct cluster_member *m = member;

	/* Given back while being asked for, and wanted again: the answer is this one's. */
	m->rt_cancel = 0;
	if (m->rt != CLUSTER_RT_IDLE)
		return;
	m->rt = CLUSTER_RT_WANT;
	cluster_kick(m);
}

static void cluster_login(struct cluster_member *m, const unsigned char *sealed, size_t len)
{
	struct cluster_cmd *cmd;

	if (m->c->state != CLUSTER_UP) {
		log_warn("profile %.*s: Redis cannot be reached: the sign-in serves this node only "
			 "until the next login once Redis is back", (int)strcspn(m->id, "@"), m->id);
		return;
	}
	cmd = cluster_script_new(m, CLUSTER_K_LOGIN, CLUSTER_LOGIN, cluster_rt_keys + 1, 2);
	cluster_arg(cmd, sealed, len);
	cluster_arg_str(cmd, m->c->channel);
	cluster_arg_note(cmd, m, "login", 0);
	cluster_send_cmd(cmd);
}

void cluster_refresh_end(void *member, const unsigned char *sealed, size_t len, int login)
{
	struct cluster_member *m = member;

	if (login) {
		if (sealed != NULL)
			cluster_login(m, sealed, len);
		return;
	}
	switch (m->rt) {
	case CLUSTER_RT_WANT:
		evtimer_del(m->retry);
		m->rt = CLUSTER_RT_IDLE;
		break;
	case CLUSTER_RT_LOCKING:
		m->rt_cancel = 1;       /* the lock's answer gives it back */
		break;
	case CLUSTER_RT_HELD:
		if (m->rt_locked && m->c->state == CLUSTER_UP)
			cluster_store(m, sealed, len);
		m->rt = CLUSTER_RT_IDLE;
		m->rt_locked = 0;
		break;
	case CLUSTER_RT_IDLE:
		break;
	}
}

void cluster_logout(struct cluster_member *m)
{
	struct cluster_cmd *cmd;

	if (m->c->state != CLUSTER_UP) {
		log_warn("profile %.*s: Redis cannot be reached: signed out on this node only; the "
			 "other nodes keep the sign-in until a logout once Redis is back",
			 (int)strcspn(m->id, "@"), m->id);
		return;
	}
	cmd = cluster_script_new(m, CLUSTER_K_LOGOUT, CLUSTER_LOGOUT, cluster_rt_keys + 1, 2);
	cluster_arg_str(cmd, m->c->channel);
	cluster_arg_note(cmd, m, "logout", 0);
	cluster_send_cmd(cmd);
}

/* {n}: the answer of the scripts that only say a number. */
static void cluster_on_number(struct cluster_cmd *cmd, const redisReply *r)
{
	long long n;

	if (r != NULL && (cluster_reply_array(r, 1, 1) < 0 ||
			  cluster_reply_int(r->element[0], 0, CLUSTER_MAX_EPOCH, &n) < 0))
		cluster_drop(cmd->m->c, "unexpected answer from Redis");
}

/* ---- answers and notifications ---- */

static void cluster_on_own(struct cluster_cmd *cmd, const redisReply *r)
{
	struct cluster *c = cmd->conn->c;

	if (r == NULL)
		return;
	if (cmd->kind == CLUSTER_K_AUTH) {
		if (cluster_reply_status(r, "OK") < 0)
			cluster_drop(c, "unexpected answer to AUTH");
		return;
	}
	if (cluster_reply_status(r, "PONG") < 0) {
		cluster_drop(c, "unexpected answer to PING");
		return;
	}
	c->cmd.ready = 1;
	cluster_check_up(c);
}

static void cluster_answer(struct cluster_cmd *cmd, const redisReply *r)
{
	char said[CLUSTER_WHY_MAX];

	if (r != NULL && r->type == REDIS_REPLY_ERROR) {
		cluster_quote(said, sizeof(said), r->str, r->len);
		/* The command counts as lost: its handler below sees NULL. */
		cluster_drop(cmd->conn->c, "%s%s", cmd->kind == CLUSTER_K_AUTH ?
			     "Redis refused the password (redis_password_file): " : "Redis answered: ",
			     said);
		r = NULL;
	}
	if (cmd->m == NULL) {
		cluster_on_own(cmd, r);         /* AUTH, PING: the cluster's own */
		return;
	}
	switch (cmd->kind) {
	case CLUSTER_K_AUTH:
	case CLUSTER_K_PING:
		break;
	case CLUSTER_K_ACQUIRE:
		cluster_on_acquire(cmd, r);
		break;
	case CLUSTER_K_RELEASE:
		cluster_on_release(cmd, r);
		break;
	case CLUSTER_K_TICK:
		cluster_on_tick(cmd, r);
		break;
	case CLUSTER_K_LOCK:
		cluster_on_lock(cmd, r);
		break;
	case CLUSTER_K_STORE:
	case CLUSTER_K_THROTTLE:
	case CLUSTER_K_LOGIN:
	case CLUSTER_K_LOGOUT:
		cluster_on_number(cmd, r);
		break;
	}
}

/* A notification for one member: what another node did to the profile. */
static void cluster_heard(struct cluster_member *m, const struct cluster_note *n)
{
	int mine = strcmp(n->ticket, m->ticket) == 0;

	if (strcmp(n->kind, "free") == 0) {
		if (m->want && !m->asking)
			cluster_kick(m);
	} else if (strcmp(n->kind, "unlock") == 0) {
		if (m->rt == CLUSTER_RT_WANT && !mine) {
			evtimer_del(m->retry);
			cluster_kick(m);
		}
	} else if (mine) {
		return;
	} else if (strcmp(n->kind, "throttle") == 0) {
		m->hooks.hold(m->hooks.arg, n->ms);
	} else if (strcmp(n->kind, "login") == 0) {
		m->hooks.signed_in(m->hooks.arg, 0);
	} else if (strcmp(n->kind, "logout") == 0) {
		m->hooks.signed_out(m->hooks.arg);
	}
}

static void cluster_dispatch(struct cluster *c, const char *p, size_t len)
{
	struct cluster_note n;
	struct cluster_member *m, *next;

	if (cluster_parse_note(p, len, &n) < 0) {
		log_debug("cluster: ignored a malformed notification");
		return;
	}
	/* A hook may not leave the cluster, but take the next one first all the same. */
	for (m = TAILQ_FIRST(&c->members); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (strcmp(m->id, n.id) == 0)
			cluster_heard(m, &n);
	}
}

static void cluster_on_message(redisAsyncContext *ac, void *reply, void *priv)
{
	struct cluster *c = priv;
	const redisReply *r = reply;
	const char *kind, *payload;
	size_t klen, plen;

	if (r == NULL || c->sub.ac != ac)
		return;
	if (cluster_reply_array(r, 3, 3) < 0 || cluster_reply_str(r->element[0], 16, &kind, &klen) < 0) {
		cluster_drop(c, "unexpected answer on the notification channel");
		return;
	}
	if (klen == strlen("subscribe") && memcmp(kind, "subscribe", klen) == 0) {
		if (c->sub.pending > 0)
			c->sub.pending--;
		c->sub.ready = 1;
		cluster_check_up(c);
	} else if (klen == strlen("message") && memcmp(kind, "message", klen) == 0 &&
		   cluster_reply_str(r->element[2], CLUSTER_MAX_MESSAGE, &payload, &plen) == 0) {
		cluster_dispatch(c, payload, plen);
	} else {
		cluster_drop(c, "unexpected answer on the notification channel");
	}
}

/* ---- members ---- */

/* What the member must do now that the cluster is as it is; from the loop. */
static void cluster_step(struct cluster_member *m)
{
	struct cluster *c = m->c;

	if (m->gone)
		return;
	if (c->state == CLUSTER_UP) {
		if (m->want && !m->asking)
			cluster_acquire(m);
		if (c->state == CLUSTER_UP && m->rt == CLUSTER_RT_WANT && !evtimer_pending(m->retry, NULL))
			cluster_lock(m);
		return;
	}
	if (c->state != CLUSTER_DOWN)
		return;         /* the first connection decides */
	if (m->want && c->fallback == CONF_FALLBACK_LOCAL && m->nleases < cluster_fallback_cap(m))
		cluster_take_lease(m, ++m->next_lease);
	if (m->rt == CLUSTER_RT_WANT) {
		/* Nobody to agree with: refresh with this node's own copy of the sign-in. */
		evtimer_del(m->retry);
		m->rt = CLUSTER_RT_HELD;
		m->rt_locked = 0;
		m->hooks.refresh_go(m->hooks.arg, NULL, 0);
	}
}

static void cluster_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cluster_step(arg);
}

static void cluster_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cluster_step(arg);
}

static void cluster_member_id(struct cluster_member *m, const struct conf_profile *conf)
{
	const char *tenant = conf->delegated_organization != NULL ? conf->delegated_organization
								   : conf->organization;
	size_t n = (size_t)snprintf(m->id, sizeof(m->id), "%s@", conf->name);

	/* Tenants are DNS names or GUIDs: one spelling for every node. */
	for (size_t i = 0; tenant[i] != '\0' && n + 1 < sizeof(m->id); i++)
		m->id[n++] = (char)tolower((unsigned char)tenant[i]);
	m->id[n] = '\0';
	snprintf(m->key, sizeof(m->key), "%s%s:", m->c->prefix, m->id);
	snprintf(m->ticket, sizeof(m->ticket), "%s/%s/%lu", m->c->node, m->c->instance,
		 ++m->c->serials);
}

struct cluster_member *cluster_join(struct cluster *c, const struct conf_profile *conf,
				    const struct cluster_hooks *hooks)
{
	struct cluster_member *m = calloc(1, sizeof(*m));
	struct timeval tv = clock_tv(c->lease_ms / CLUSTER_TICKS_PER_LEASE);

	if (m == NULL)
		return NULL;
	m->c = c;
	m->hooks = *hooks;
	m->max = conf->max_connections;
	m->in_flight = -1;
	cluster_member_id(m, conf);
	m->kick = event_new(c->base, -1, 0, cluster_kick_cb, m);
	m->tick = event_new(c->base, -1, EV_PERSIST, cluster_tick_cb, m);
	m->retry = evtimer_new(c->base, cluster_retry_cb, m);
	if (m->kick == NULL || m->tick == NULL || m->retry == NULL || event_add(m->tick, &tv) < 0) {
		cluster_member_free(m);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&c->members, m, entry);
	if (c->state == CLUSTER_UP)
		event_active(m->tick, EV_TIMEOUT, 1);   /* seen at once */
	return m;
}

void cluster_leave(struct cluster_member *m)
{
	if (m == NULL)
		return;
	TAILQ_REMOVE(&m->c->members, m, entry);
	/* What it still holds goes back now rather than when it expires. */
	while (m->nleases > 0)
		cluster_slot_done(m);
	if (m->rt == CLUSTER_RT_HELD || m->rt == CLUSTER_RT_LOCKING)
		cluster_refresh_end(m, NULL, 0, 0);
	m->gone = 1;
	event_del(m->kick);
	event_del(m->tick);
	event_del(m->retry);
	if (m->pending == 0)
		cluster_member_free(m);
}

int cluster_refuses(const struct cluster_member *m, char *why, size_t whylen)
{
	const struct cluster *c = m->c;

	if (c->state != CLUSTER_DOWN || c->fallback != CONF_FALLBACK_FAIL)
		return 0;
	snprintf(why, whylen, "profile %.*s: Redis at %s cannot be reached (%s) and "
		 "cluster_fallback = fail: nothing is sent until it is back, so that the cluster "
		 "never goes over max_connections", (int)strcspn(m->id, "@"), m->id, c->redis,
		 c->why);
	return 1;
}

void cluster_view(const struct cluster_member *m, struct cluster_view *v)
{
	const struct cluster *c = m->c;

	v->node = c->node;
	v->redis = cluster_state_name(c->state);
	v->up = c->state == CLUSTER_UP;
	/* What Redis said last is no news while it cannot be reached. */
	v->in_flight = c->state == CLUSTER_UP ? m->in_flight : -1;
	v->nodes = m->nnodes;
	v->fallback_cap = c->state == CLUSTER_DOWN && c->fallback == CONF_FALLBACK_LOCAL ?
			  cluster_fallback_cap(m) : -1;
}

void cluster_status(const struct cluster_member *m, yajl_gen g)
{
	struct cluster_view v;
	const char *name = m->node_names;

	cluster_view(m, &v);
	json_str(g, "cluster");
	yajl_gen_map_open(g);
	json_kv_str(g, "node", v.node);
	json_kv_str(g, "redis", v.redis);
	json_str(g, "in_flight");
	if (v.in_flight < 0)
		yajl_gen_null(g);
	else
		yajl_gen_integer(g, v.in_flight);
	json_str(g, "nodes");
	yajl_gen_array_open(g);
	for (int i = 0; name != NULL && i < m->nnames; i++, name += strlen(name) + 1)
		json_str(g, name);
	yajl_gen_array_close(g);
	json_str(g, "fallback_cap");
	if (v.fallback_cap < 0)
		yajl_gen_null(g);
	else
		yajl_gen_integer(g, v.fallback_cap);
	json_kv_str(g, "cluster_fallback", m->c->fallback == CONF_FALLBACK_FAIL ? "fail" : "local");
	yajl_gen_map_close(g);
}

/* ---- the cluster ---- */

static int cluster_sha1(const char *script, char out[CLUSTER_SHA_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(script, strlen(script), md, &n, EVP_sha1(), NULL) != 1 ||
	    n * 2 != CLUSTER_SHA_HEX)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + i * 2, 3, "%02x", md[i]);
	return 0;
}

static int cluster_instance(struct cluster *c)
{
	char uuid[RND_UUID_LEN + 1];
	size_t n = 0;

	/* The first hex digits of a random UUID: this process, not a restart of it. */
	if (rnd_uuid(uuid) < 0)
		return -1;
	for (size_t i = 0; uuid[i] != '\0' && n < sizeof(c->instance) - 1; i++)
		if (uuid[i] != '-')
			c->instance[n++] = uuid[i];
	c->instance[n] = '\0';
	return 0;
}

static int cluster_settings(struct cluster *c, const struct conf_cluster *conf, char *err,
			    size_t errlen)
{
	snprintf(c->node, sizeof(c->node), "%s", conf->node);
	snprintf(c->prefix, sizeof(c->prefix), "%s", conf->key_prefix);
	snprintf(c->channel, sizeof(c->channel), "%s%s", conf->key_prefix, CLUSTER_CHANNEL);
	snprintf(c->redis, sizeof(c->redis), "%s", conf->redis);
	c->lease_ms = conf->lease_time * 1000LL;
	c->fallback = conf->cluster_fallback;
	if (conf_redis_address(conf->redis, c->host, sizeof(c->host), &c->port) < 0) {
		snprintf(err, errlen, "invalid address");
		conf_cluster_key_error(conf, "redis", err, errlen);
		return -1;
	}
	if (conf->redis_password_file != NULL &&
	    secret_read_file(conf->redis_password_file, CLUSTER_PASSWORD_MAX, &c->password, err,
			     errlen) < 0) {
		conf_cluster_key_error(conf, "redis_password_file", err, errlen);
		return -1;
	}
	return 0;
}

struct cluster *cluster_new(struct event_base *base, const struct conf_cluster *conf, char *err,
			    size_t errlen)
{
	struct cluster *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->base = base;
	c->state = CLUSTER_CONNECTING;
	c->cmd.c = c->sub.c = c;
	TAILQ_INIT(&c->members);
	if (cluster_settings(c, conf, err, errlen) < 0)
		goto fail;
	for (int i = 0; i < CLUSTER_NSCRIPTS; i++) {
		if (cluster_sha1(cluster_scripts[i], c->sha[i]) < 0) {
			snprintf(err, errlen, "cluster: SHA-1 is not available");
			goto fail;
		}
	}
	c->reconnect = evtimer_new(base, cluster_reconnect_cb, c);
	c->watch = event_new(base, -1, EV_PERSIST, cluster_watch_cb, c);
	if (c->reconnect == NULL || c->watch == NULL || cluster_instance(c) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return c;
fail:
	cluster_free(c);
	return NULL;
}

void cluster_start(struct cluster *c)
{
	struct timeval tv = clock_tv(CLUSTER_WATCH_MS);

	event_add(c->watch, &tv);
	cluster_connect(c);
}

void cluster_free(struct cluster *c)
{
	if (c == NULL)
		return;
	/* Members that left with answers due are freed as those come back (NULL). */
	cluster_conn_close(&c->cmd);
	cluster_conn_close(&c->sub);
	if (c->reconnect != NULL)
		event_free(c->reconnect);
	if (c->watch != NULL)
		event_free(c->watch);
	sbuf_free(c->password);
	free(c);
}
