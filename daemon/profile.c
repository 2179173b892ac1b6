/* Profiles: one configured connection, its endpoints and its status. */
#include "daemon/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/access.h"
#include "daemon/auth.h"
#include "daemon/cloud.h"
#include "daemon/json.h"
#include "daemon/pool.h"
#include "daemon/rnd.h"
#include "daemon/token.h"

/* The well-known system mailbox other REST clients anchor app-only calls on (exo-protocol.md §2.3). */
#define PROFILE_APP_ANCHOR "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"

static const char *profile_tenant(const struct conf_profile *c)
{
	return c->delegated_organization != NULL ? c->delegated_organization : c->organization;
}

/* scheme://host[:port] of a URI: the module's ConnectionUri may carry /powershell-liveid/. */
static char *profile_origin(const char *uri)
{
	const char *host = strstr(uri, "://");
	size_t n = host != NULL ? (size_t)(host + 3 - uri) + strcspn(host + 3, "/?#") : strlen(uri);

	return strndup(uri, n);
}

static int profile_endpoints(struct profile *p)
{
	const struct conf_profile *c = p->conf;
	const struct cloud *cl = cloud_get(c->environment);
	const char *tenant = profile_tenant(c);
	int n;

	p->exchange_uri = profile_origin(c->connection_uri != NULL ? c->connection_uri : cl->exchange_uri);
	if (p->exchange_uri == NULL || tenant == NULL)
		return -1;
	if (asprintf(&p->invoke_url, "%s/adminapi/beta/%s/InvokeCommand", p->exchange_uri, tenant) < 0)
		return -1;
	/* The organization's anchor; exo.c prefers the signed-in user's mailbox when there is one. */
	n = asprintf(&p->anchor, "UPN:%s@%s", PROFILE_APP_ANCHOR, tenant);
	return n < 0 ? -1 : 0;
}

struct profile *profile_new(struct event_base *base, struct http *http,
			    const struct conf_profile *conf, const char *state_dir,
			    char *err, size_t errlen)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->conf = conf;
	p->http = http;
	p->base = base;
	if (rnd_uuid(p->connection_id) < 0) {
		snprintf(err, errlen, "no randomness for a connection id");
		goto fail;
	}
	if (profile_endpoints(p) < 0) {
		snprintf(err, errlen, "profile %s: organization is required", conf->name);
		goto fail;
	}
	p->pool = pool_new(base, conf->max_connections, conf->queue_limit, conf->queue_timeout);
	if (p->pool == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (access_new(conf, &p->access, err, errlen) < 0)
		goto fail;
	p->token = token_new(base, http, conf, state_dir, err, errlen);
	if (p->token == NULL)
		goto fail;
	return p;
fail:
	profile_free(p);
	return NULL;
}

void profile_set_conf(struct profile *p, const struct conf_profile *conf, const char *state_dir)
{
	p->conf = conf;
	token_set_conf(p->token, conf, state_dir);
}

int profile_busy(const struct profile *p)
{
	return pool_running(p->pool) > 0 || pool_queued(p->pool) > 0 || token_busy(p->token) ||
	       p->refs > 0;
}

void profile_free(struct profile *p)
{
	if (p == NULL)
		return;
	token_free(p->token);
	access_free(p->access);
	pool_free(p->pool);
	free(p->invoke_url);
	free(p->exchange_uri);
	free(p->anchor);
	free(p);
}

void profile_status(const struct profile *p, yajl_gen g)
{
	const struct conf_profile *c = p->conf;
	const struct cloud *cl = cloud_get(c->environment);
	long expires = token_expires_in(p->token);
	const char *identity = token_identity(p->token) != NULL ? token_identity(p->token) : c->app_id;

	yajl_gen_map_open(g);
	json_kv_str(g, "name", c->name);
	json_kv_str(g, "state", token_state_name(token_state(p->token)));
	json_kv_str(g, "auth", conf_auth_name(c->auth));
	json_kv_str(g, "identity", identity);
	json_kv_str(g, "organization", c->organization);
	json_kv_str(g, "tenant", profile_tenant(c));
	json_kv_str(g, "delegated_organization", c->delegated_organization);
	json_kv_str(g, "environment", cl->environment);
	json_kv_str(g, "connection_uri", p->exchange_uri);
	json_kv_str(g, "authority_uri", c->authority_uri != NULL ? c->authority_uri : cl->authority_uri);
	json_str(g, "token_expires_in");
	if (expires < 0)
		yajl_gen_null(g);
	else
		yajl_gen_integer(g, expires);
	json_kv_int(g, "in_flight", pool_running(p->pool));
	json_kv_int(g, "queued", pool_queued(p->pool));
	json_kv_int(g, "max_connections", pool_max_running(p->pool));
	json_kv_int(g, "requests", (long long)p->stats.requests);
	json_kv_int(g, "failures", (long long)p->stats.failures);
	json_kv_int(g, "records", (long long)p->stats.records);
	json_kv_int(g, "token_acquisitions", (long long)token_acquisitions(p->token));
	json_kv_str(g, "connection_id", p->connection_id);
	json_kv_str(g, "last_error", token_last_error(p->token));
	yajl_gen_map_close(g);
}
