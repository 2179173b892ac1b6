/*
 * One configured Exchange Online connection: its settings, token, pool,
 * endpoints and counters, and its line in `status`.
 */
#ifndef EXOD_PROFILE_H
#define EXOD_PROFILE_H

#include <yajl/yajl_gen.h>

#include "common/conf.h"
#include "daemon/metrics.h"
#include "daemon/rnd.h"

struct event_base;
struct http;

struct profile_stats {
	unsigned long long requests;
	unsigned long long failures;
	unsigned long long records;
	unsigned long long pages;
	unsigned long long retries;
	unsigned long long throttled;
};

struct profile {
	const struct conf_profile *conf; /* lives in the daemon's struct conf */
	struct token *token;
	struct access *access;
	struct pool *pool;
	struct http *http;
	struct event_base *base;
	char connection_id[RND_UUID_LEN + 1];  /* one GUID per daemon session, as the module sends */
	char *invoke_url;               /* https://host/adminapi/beta/<tenant>/InvokeCommand */
	char *exchange_uri;             /* https://host */
	char *anchor;                   /* X-AnchorMailbox value */
	long long throttled_until;      /* monotonic ms: a 429 holds back the whole profile */
	struct profile_stats stats;
	struct metrics_hist latency;    /* of run requests */
	int refs;                       /* requests of clients that name this profile */
	struct profile *next;
};

struct profile *profile_new(struct event_base *base, struct http *http,
			    const struct conf_profile *conf, const char *state_dir,
			    char *err, size_t errlen);
void profile_free(struct profile *p);
/* Reload: an unchanged profile takes its settings from the new struct conf. */
void profile_set_conf(struct profile *p, const struct conf_profile *conf, const char *state_dir);
/* 1 while anything still runs for the profile: it may not be freed yet. */
int profile_busy(const struct profile *p);
void profile_status(const struct profile *p, yajl_gen g);

#endif
