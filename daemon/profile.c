/* Profiles: one configured connection behind one facade, and its status. */
#include "daemon/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/sbuf.h"
#include "daemon/cloud.h"
#include "daemon/cluster.h"
#include "daemon/json.h"
#include "daemon/metrics.h"
#include "daemon/pool.h"
#include "daemon/secret.h"

struct profile {
	const struct conf_profile *conf; /* lives in the daemon's struct conf */
	struct token *token;
	struct access *access;
	struct pool *pool;
	struct exo_target *exo;
	struct cluster_member *member;  /* in the cluster; NULL without one */
	struct metrics_hist latency;    /* of run requests */
	int refs;                       /* requests of clients that name this profile */
	struct profile *next;
};

struct profile_path_check {
	const struct conf_profile *conf;
	char *err;
	size_t errlen;
};

static int profile_check_path(void *arg, const char *key, const char *path,
			      enum conf_path_kind kind)
{
	struct profile_path_check *pc = arg;

	if (secret_check_open(path, kind == CONF_PATH_DIR, pc->err, pc->errlen) == 0)
		return 0;
	conf_key_error(pc->conf, key, pc->err, pc->errlen);
	return -1;
}

int profile_check_paths(const struct conf_profile *conf, char *err, size_t errlen)
{
	struct profile_path_check pc = { conf, err, errlen };

	return conf_profile_each_path(conf, profile_check_path, &pc);
}

struct profile *profile_new(struct event_base *base, struct http *http,
			    const struct conf_profile *conf, const struct conf_role *roles,
			    const char *state_dir, char *err, size_t errlen)
{
	struct profile *p;

	if (profile_check_paths(conf, err, errlen) != 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->conf = conf;
	p->pool = pool_new(base, conf->max_connections, conf->queue_limit, conf->queue_timeout);
	if (p->pool == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (access_new(conf, roles, &p->access, err, errlen) < 0)
		goto fail;
	p->token = token_new(base, http, conf, state_dir, err, errlen);
	if (p->token == NULL)
		goto fail;
	p->exo = exo_target_new(base, http, p->pool, p->token, conf, err, errlen);
	if (p->exo == NULL)
		goto fail;
	return p;
fail:
	profile_free(p);
	return NULL;
}

void profile_free(struct profile *p)
{
	if (p == NULL)
		return;
	cluster_leave(p->member);
	exo_target_free(p->exo);
	token_free(p->token);
	access_free(p->access);
	pool_free(p->pool);
	free(p);
}

struct profile *profile_next(const struct profile *p)
{
	return p->next;
}

void profile_set_next(struct profile *p, struct profile *next)
{
	p->next = next;
}

const struct conf_profile *profile_conf(const struct profile *p)
{
	return p->conf;
}

const char *profile_name(const struct profile *p)
{
	return p->conf->name;
}

enum conf_service profile_service(const struct profile *p)
{
	return p->conf->service;
}

void profile_set_conf(struct profile *p, const struct conf_profile *conf, const char *state_dir)
{
	p->conf = conf;
	token_set_conf(p->token, conf, state_dir);
	exo_target_set_conf(p->exo, conf);
}

/* ---- the cluster's hooks ---- */

static void profile_cluster_slot(void *arg)
{
	struct profile *p = arg;

	pool_gate_open(p->pool);
}

static void profile_cluster_hold(void *arg, long long ms)
{
	struct profile *p = arg;

	exo_target_hold(p->exo, ms);
}

static void profile_cluster_throttled(void *arg, long long ms)
{
	struct profile *p = arg;

	cluster_throttled(p->member, ms);
}

static void profile_cluster_go(void *arg, const unsigned char *sealed, size_t len)
{
	struct profile *p = arg;

	token_gate_go(p->token, sealed, len);
}

static void profile_cluster_in(void *arg, int rejoin)
{
	struct profile *p = arg;

	if (!conf_auth_delegated(p->conf->auth))
		return;
	/* Back from an outage: only a profile that waits for a person looks for a missed login. */
	if (rejoin && token_state(p->token) != TOKEN_NEEDS_LOGIN)
		return;
	if (!rejoin)
		log_info("profile %s: signed in on another node of the cluster; taking that "
			 "sign-in", p->conf->name);
	token_refresh_now(p->token);
}

static void profile_cluster_out(void *arg)
{
	struct profile *p = arg;

	if (token_state(p->token) != TOKEN_NEEDS_LOGIN)
		log_info("profile %s: signed out on another node of the cluster", p->conf->name);
	token_forget(p->token);
}

int profile_join(struct profile *p, struct cluster *cluster, char *err, size_t errlen)
{
	const struct cluster_hooks hooks = {
		profile_cluster_slot, profile_cluster_hold, profile_cluster_go,
		profile_cluster_in, profile_cluster_out, p,
	};
	struct pool_gate pg;
	struct token_gate tg;

	p->member = cluster_join(cluster, p->conf, &hooks);
	if (p->member == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pg = (struct pool_gate){ cluster_want_slot, cluster_slot_done, p->member };
	pool_set_gate(p->pool, &pg);
	exo_target_on_throttle(p->exo, profile_cluster_throttled, p);
	/* App-only tokens stay on their host: only a person's sign-in is shared. */
	if (conf_auth_delegated(p->conf->auth)) {
		tg = (struct token_gate){ cluster_refresh_begin, cluster_refresh_end, p->member };
		token_set_gate(p->token, &tg);
	}
	return 0;
}

void profile_start(struct profile *p)
{
	token_start(p->token);
}

int profile_busy(const struct profile *p)
{
	return pool_running(p->pool) > 0 || pool_queued(p->pool) > 0 || token_busy(p->token) ||
	       p->refs > 0;
}

void profile_hold(struct profile *p)
{
	p->refs++;
}

void profile_release(struct profile *p)
{
	p->refs--;
}

int profile_open(const struct profile *p)
{
	return access_open(p->access);
}

enum access_level profile_access(const struct profile *p, uid_t uid, const gid_t *groups,
				 int ngroups)
{
	return access_check(p->access, uid, groups, ngroups);
}

int profile_may_run(const struct profile *p, uid_t uid, const gid_t *groups, int ngroups,
		    const char *cmdlet, char *why, size_t whylen)
{
	return access_may_run(p->access, uid, groups, ngroups, cmdlet, why, whylen);
}

int profile_run(struct profile *p, const struct exo_request *rq, const struct exo_sink *sink,
		void *arg, struct exo_call **out, struct exo_end *end)
{
	memset(end, 0, sizeof(*end));
	if (p->member != NULL && cluster_refuses(p->member, end->message, sizeof(end->message))) {
		end->error = WIRE_E_THROTTLED;
		return -1;
	}
	return exo_call_start(p->exo, rq, sink, arg, out, end);
}

void profile_observe(struct profile *p, double ms)
{
	metrics_observe(&p->latency, ms);
}

int profile_login(struct profile *p, const struct auth_login_req *req, auth_progress_cb progress,
		  void *progress_arg, char *err, size_t errlen)
{
	if (auth_login_check(p->conf, req, err, errlen) < 0)
		return -1;
	return token_login(p->token, req, progress, progress_arg, err, errlen);
}

int profile_login_is_browser(const struct profile *p, const char *method)
{
	return auth_login_is_browser(p->conf, method);
}

char *profile_authorize_url(const struct profile *p, char *err, size_t errlen)
{
	struct auth_login_req req = { .method = "browser" };
	char *url;

	if (auth_login_check(p->conf, &req, err, errlen) < 0)
		return NULL;
	if ((url = token_authorize_url(p->token)) == NULL)
		snprintf(err, errlen, "out of memory");
	return url;
}

void profile_login_detach(struct profile *p)
{
	token_login_detach(p->token);
}

void profile_logout(struct profile *p, char *msg, size_t msglen)
{
	if (p->member != NULL && conf_auth_delegated(p->conf->auth))
		cluster_logout(p->member);
	token_forget(p->token);
	exo_target_forget_token(p->exo);
	auth_logout_message(p->conf, msg, msglen);
}

void profile_refresh(struct profile *p)
{
	token_refresh_now(p->token);
}

struct token_wait *profile_wait(struct profile *p, token_cb cb, void *arg)
{
	return token_wait(p->token, cb, arg);
}

void profile_wait_cancel(struct token_wait *w)
{
	token_wait_cancel(w);
}

const char *profile_identity(const struct profile *p)
{
	return token_identity(p->token);
}

static const char *profile_tenant(const struct conf_profile *c)
{
	return c->delegated_organization != NULL ? c->delegated_organization : c->organization;
}

void profile_status(const struct profile *p, yajl_gen g)
{
	const struct conf_profile *c = p->conf;
	const struct cloud *cl = cloud_get(c->environment);
	long expires = token_expires_in(p->token);
	const char *identity = token_identity(p->token) != NULL ? token_identity(p->token) : c->app_id;
	long long throttled = exo_target_throttled_ms(p->exo);
	struct exo_stats st;

	exo_target_stats(p->exo, &st);
	yajl_gen_map_open(g);
	json_kv_str(g, "name", c->name);
	json_kv_str(g, "state", token_state_name(token_state(p->token)));
	json_kv_str(g, "auth", conf_auth_name(c->auth));
	json_kv_str(g, "identity", identity);
	json_kv_str(g, "organization", c->organization);
	json_kv_str(g, "tenant", profile_tenant(c));
	json_kv_str(g, "delegated_organization", c->delegated_organization);
	json_kv_str(g, "environment", cl->environment);
	json_kv_str(g, "service", conf_service_name(c->service));
	json_kv_str(g, "connection_uri", exo_target_origin(p->exo));
	/* As Get-ConnectionInformation's ConnectionUri for Connect-IPPSSession: null until found. */
	json_kv_str(g, "region_host", exo_target_region_host(p->exo));
	json_kv_str(g, "authority_uri", c->authority_uri != NULL ? c->authority_uri : cl->authority_uri);
	json_str(g, "token_expires_in");
	if (expires < 0)
		yajl_gen_null(g);
	else
		yajl_gen_integer(g, expires);
	json_kv_int(g, "in_flight", pool_running(p->pool));
	json_kv_int(g, "queued", pool_queued(p->pool));
	json_kv_int(g, "max_connections", pool_max_running(p->pool));
	/* Seconds the service's throttling still holds the profile back (Retry-After, capped). */
	json_kv_int(g, "throttled_for", (throttled + 999) / 1000);
	json_kv_int(g, "requests", (long long)st.requests);
	json_kv_int(g, "failures", (long long)st.failures);
	json_kv_int(g, "records", (long long)st.records);
	json_kv_int(g, "token_acquisitions", (long long)token_acquisitions(p->token));
	json_kv_str(g, "connection_id", exo_target_connection_id(p->exo));
	json_kv_str(g, "last_error", token_last_error(p->token));
	if (p->member != NULL)
		cluster_status(p->member, g);
	yajl_gen_map_close(g);
}

void profile_metrics(const struct profile *p, struct metrics_profile *m)
{
	struct exo_stats st;

	exo_target_stats(p->exo, &st);
	memset(m, 0, sizeof(*m));
	m->name = p->conf->name;
	m->requests = st.requests;
	m->failures = st.failures;
	m->records = st.records;
	m->pages = st.pages;
	m->retries = st.retries;
	m->throttled = st.throttled;
	m->token_acquisitions = token_acquisitions(p->token);
	m->in_flight = (unsigned long long)pool_running(p->pool);
	m->queued = (unsigned long long)pool_queued(p->pool);
	m->connected = token_state(p->token) == TOKEN_CONNECTED;
	m->latency = p->latency;
	if (p->member != NULL) {
		struct cluster_view v;

		cluster_view(p->member, &v);
		m->clustered = 1;
		m->cluster_in_flight = v.in_flight > 0 ? (unsigned long long)v.in_flight : 0;
		m->cluster_nodes = v.nodes > 0 ? (unsigned long long)v.nodes : 0;
		m->cluster_up = (unsigned long long)v.up;
	}
}
