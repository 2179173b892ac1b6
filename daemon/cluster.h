/*
 * Several exods that share each profile's budget through one Redis
 * ([cluster] in exod.conf): the service's limits are per account and
 * tenant, not per host.  Nothing is invented between exods: every rule is
 * a Lua script that Redis runs atomically, and a notification on one
 * channel wakes the others.  What lives in Redis, under key_prefix and
 * "<profile>@<tenant>:":
 *
 *   slots     sorted set: one member per request in flight anywhere, a
 *             lease whose score is when it expires (Redis's clock); a
 *             node renews its leases every lease_time / 3, so a node that
 *             dies or is cut off loses them within lease_time
 *   queue     sorted set: one ticket per node that waits for a slot, by
 *             arrival (seq); qexp: when each ticket expires
 *   nodes     sorted set: the nodes that serve the profile, by expiry
 *   throttle  a key whose TTL is the service's Retry-After
 *   rt, epoch the delegated sign-in, sealed under cache_key_file (never in
 *             plain text), and a counter that login and logout bump
 *   lock      who refreshes the delegated sign-in now (with an expiry)
 *
 * Fairness: a node's own requests wait in its pool's FIFO queue and only
 * the head of it asks Redis, so a node has at most one ticket; a free
 * slot goes to the oldest tickets first, and a node that got one queues
 * again behind the others for its next.  No node starves, and no request
 * overtakes an older one of its own node.
 *
 * When Redis cannot be reached, a profile serves with max_connections
 * divided by the nodes it last saw (at least 1), or refuses new runs with
 * cluster_fallback = fail, and the cluster reconnects with backoff.
 * Everything the cluster calls back happens from the event loop.
 */
#ifndef EXOD_CLUSTER_H
#define EXOD_CLUSTER_H

#include <stddef.h>
#include <yajl/yajl_gen.h>

#include "common/conf.h"

struct event_base;
struct cluster;
struct cluster_member;

#define CLUSTER_RECONNECT_MIN_MS 100
#define CLUSTER_RECONNECT_MAX_MS 5000
#define CLUSTER_CONNECT_TIMEOUT_MS 3000 /* connected and subscribed within this, or it is down */
#define CLUSTER_REPLY_TIMEOUT_MS 3000   /* a command unanswered this long: Redis is gone */
#define CLUSTER_MAX_NODES 64            /* node names one answer may list */
#define CLUSTER_MAX_LEASES 64           /* slots one profile may hold: max_connections' limit */
#define CLUSTER_MAX_MESSAGE 512         /* bytes of a notification */
#define CLUSTER_MAX_BLOB (64 * 1024)    /* bytes of a sealed sign-in (CACHE_MAX_FILE) */
#define CLUSTER_MAX_HOLD_MS 300000      /* a throttle hold, as http.c caps Retry-After */
#define CLUSTER_MAX_REPLY_ELEMENTS 1024 /* elements of one array in a reply from Redis */
#define CLUSTER_MAX_REPLY_BYTES (1024 * 1024)   /* bytes of one string in a reply */

/* What the cluster asks of a profile; every call comes from the event loop. */
struct cluster_hooks {
	void (*slot)(void *arg);                /* one shared slot for the pool (pool_gate_open) */
	void (*hold)(void *arg, long long ms);  /* the service throttles the profile (elsewhere) */
	/* The refresh may go: with the newest sealed sign-in, or NULL to use the own one. */
	void (*refresh_go)(void *arg, const unsigned char *sealed, size_t len);
	/*
	 * A login on another node: use the shared sign-in.  rejoin: Redis is
	 * back, and a login may have been missed meanwhile.
	 */
	void (*signed_in)(void *arg, int rejoin);
	/* A logout on another node (heard, or found when the sign-in is gone from Redis). */
	void (*signed_out)(void *arg);
	void *arg;
};

/*
 * Reads the password file (the secret-file rules) and copies the settings;
 * nothing is connected before cluster_start.  NULL with err naming the
 * file, line and key.
 */
struct cluster *cluster_new(struct event_base *base, const struct conf_cluster *conf, char *err,
			    size_t errlen);
void cluster_start(struct cluster *c);
/* After every member left. */
void cluster_free(struct cluster *c);

/* A profile joins; NULL when out of memory. */
struct cluster_member *cluster_join(struct cluster *c, const struct conf_profile *conf,
				    const struct cluster_hooks *hooks);
/* The profile is going: no hook is called any more. */
void cluster_leave(struct cluster_member *m);

/* The pool's gate: one more slot wanted (answered with hooks.slot), one given back. */
void cluster_want_slot(void *member);
void cluster_slot_done(void *member);
/* The service answered 429 here: hold the profile on every node for ms. */
void cluster_throttled(struct cluster_member *m, long long ms);
/*
 * A delegated profile's refresh: begin takes the cluster's lock (answered
 * with hooks.refresh_go); end gives it back, storing sealed (NULL: what
 * was there stays).  end with login set follows an interactive sign-in:
 * sealed becomes every node's sign-in, and the others are told.
 */
void cluster_refresh_begin(void *member);
void cluster_refresh_end(void *member, const unsigned char *sealed, size_t len, int login);
/* exoctl logout: every node forgets the sign-in. */
void cluster_logout(struct cluster_member *m);
/* 1, with why, when a new run must be refused (Redis gone and cluster_fallback = fail). */
int cluster_refuses(const struct cluster_member *m, char *why, size_t whylen);

struct cluster_view {
	const char *node;
	const char *redis;              /* "connecting", "up" or "unreachable" */
	long long in_flight;            /* in the whole cluster, as last heard; -1: unknown (not up) */
	int nodes;                      /* serving the profile, as last seen */
	int fallback_cap;               /* unreachable and cluster_fallback = local: the cap; else -1 */
	int up;
};
void cluster_view(const struct cluster_member *m, struct cluster_view *v);
/* The "cluster" object of the profile's status. */
void cluster_status(const struct cluster_member *m, yajl_gen g);

/*
 * Every answer from Redis is checked before it is used: 0 when r is of
 * the type and within the bounds (and *out set), -1 otherwise.
 */
struct redisReply;
int cluster_reply_int(const struct redisReply *r, long long min, long long max, long long *out);
int cluster_reply_array(const struct redisReply *r, size_t min, size_t max);
/* A bulk string of at most max bytes (NUL bytes allowed: it may be a sealed sign-in). */
int cluster_reply_str(const struct redisReply *r, size_t max, const char **s, size_t *len);
/* A status reply that is exactly want ("OK", "PONG"). */
int cluster_reply_status(const struct redisReply *r, const char *want);
/* A bulk string that is a node name (as [cluster] node allows), copied into out. */
int cluster_reply_name(const struct redisReply *r, char *out, size_t outlen);
/* A bulk string of decimal digits (an integer Redis keeps as a string), 0..max. */
int cluster_reply_digits(const struct redisReply *r, long long max, long long *out);
/*
 * Makes rd build replies with exod's bounds (CLUSTER_MAX_REPLY_*): an
 * answer past them fails the read, and the connection is dropped.
 */
struct redisReader;
void cluster_reader_bound(struct redisReader *rd);

/*
 * A notification, "KIND TICKET ID [MS]", split and checked: kind one of
 * free, unlock, throttle, login, logout; ms only (and then always) for
 * throttle, 1..CLUSTER_MAX_HOLD_MS.  0, or -1 when malformed.
 */
struct cluster_note {
	char kind[16];
	char ticket[CONF_NAME_MAX * 2 + 64];
	char id[CONF_NAME_MAX + 256 + 2];
	long long ms;
};
int cluster_parse_note(const char *p, size_t len, struct cluster_note *out);

#endif
