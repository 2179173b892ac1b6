/* Metrics: per-profile counters and latency histograms, in JSON and Prometheus text. */
#include "daemon/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/json.h"
#include "daemon/pool.h"
#include "daemon/profile.h"
#include "daemon/token.h"

static const double metrics_bounds_ms[METRICS_BUCKETS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 60000,
};

void metrics_observe(struct metrics_hist *h, double ms)
{
	for (int i = 0; i < METRICS_BUCKETS; i++)
		if (ms <= metrics_bounds_ms[i])
			h->buckets[i]++;
	h->count++;
	h->sum_ms += ms;
}

static void metrics_json_profile(yajl_gen g, const struct profile *p)
{
	const struct profile_stats *s = &p->stats;

	json_str(g, p->conf->name);
	yajl_gen_map_open(g);
	json_kv_int(g, "requests", (long long)s->requests);
	json_kv_int(g, "failures", (long long)s->failures);
	json_kv_int(g, "records", (long long)s->records);
	json_kv_int(g, "pages", (long long)s->pages);
	json_kv_int(g, "retries", (long long)s->retries);
	json_kv_int(g, "throttled", (long long)s->throttled);
	json_kv_int(g, "token_acquisitions", (long long)token_acquisitions(p->token));
	json_kv_int(g, "in_flight", pool_running(p->pool));
	json_kv_int(g, "queued", pool_queued(p->pool));
	json_str(g, "latency_ms");
	yajl_gen_map_open(g);
	json_kv_int(g, "count", (long long)p->latency.count);
	json_str(g, "sum");
	yajl_gen_double(g, p->latency.sum_ms);
	json_str(g, "buckets");
	yajl_gen_map_open(g);
	for (int i = 0; i < METRICS_BUCKETS; i++) {
		char le[32];

		snprintf(le, sizeof(le), "%g", metrics_bounds_ms[i]);
		json_kv_int(g, le, (long long)p->latency.buckets[i]);
	}
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

void metrics_json(yajl_gen g, const struct metrics_daemon *d, const struct profile *profiles)
{
	json_str(g, "metrics");
	yajl_gen_map_open(g);
	json_kv_int(g, "clients", d->clients);
	json_kv_int(g, "busy", d->busy);
	json_kv_int(g, "http_transfers", (long long)d->http_transfers);
	json_kv_int(g, "http_connects", (long long)d->http_connects);
	json_str(g, "profiles");
	yajl_gen_map_open(g);
	for (const struct profile *p = profiles; p != NULL; p = p->next)
		metrics_json_profile(g, p);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

struct metrics_text {
	char *buf;
	size_t len, cap;
	int failed;
};

static void metrics_printf(struct metrics_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void metrics_printf(struct metrics_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		/* clang-tidy 14 misreads glibc's va_list after va_start. */
		/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0 || t->cap + (size_t)n > METRICS_MAX_TEXT) {
			t->failed = 1;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		{
			size_t cap = t->cap * 2 + (size_t)n;
			char *grown = realloc(t->buf, cap);

			if (grown == NULL) {
				t->failed = 1;
				return;
			}
			t->buf = grown;
			t->cap = cap;
		}
	}
}

/* One counter family: a HELP and TYPE line, then one sample per profile. */
static void metrics_family(struct metrics_text *t, const struct profile *profiles,
			   const char *name, const char *help, const char *type,
			   unsigned long long (*get)(const struct profile *p))
{
	metrics_printf(t, "# HELP exod_%s %s\n# TYPE exod_%s %s\n", name, help, name, type);
	for (const struct profile *p = profiles; p != NULL; p = p->next)
		metrics_printf(t, "exod_%s{profile=\"%s\"} %llu\n", name, p->conf->name, get(p));
}

static unsigned long long m_requests(const struct profile *p) { return p->stats.requests; }
static unsigned long long m_failures(const struct profile *p) { return p->stats.failures; }
static unsigned long long m_records(const struct profile *p) { return p->stats.records; }
static unsigned long long m_pages(const struct profile *p) { return p->stats.pages; }
static unsigned long long m_retries(const struct profile *p) { return p->stats.retries; }
static unsigned long long m_throttled(const struct profile *p) { return p->stats.throttled; }
static unsigned long long m_tokens(const struct profile *p) { return token_acquisitions(p->token); }
static unsigned long long m_in_flight(const struct profile *p) { return (unsigned long long)pool_running(p->pool); }
static unsigned long long m_queued(const struct profile *p) { return (unsigned long long)pool_queued(p->pool); }
static unsigned long long m_connected(const struct profile *p)
{
	return token_state(p->token) == TOKEN_CONNECTED;
}

static void metrics_latency(struct metrics_text *t, const struct profile *profiles)
{
	metrics_printf(t, "# HELP exod_request_duration_seconds Time from a run request to its last line.\n"
			  "# TYPE exod_request_duration_seconds histogram\n");
	for (const struct profile *p = profiles; p != NULL; p = p->next) {
		const struct metrics_hist *h = &p->latency;

		for (int i = 0; i < METRICS_BUCKETS; i++)
			metrics_printf(t, "exod_request_duration_seconds_bucket{profile=\"%s\",le=\"%g\"} %llu\n",
				       p->conf->name, metrics_bounds_ms[i] / 1000, h->buckets[i]);
		metrics_printf(t, "exod_request_duration_seconds_bucket{profile=\"%s\",le=\"+Inf\"} %llu\n"
				  "exod_request_duration_seconds_sum{profile=\"%s\"} %.6f\n"
				  "exod_request_duration_seconds_count{profile=\"%s\"} %llu\n",
			       p->conf->name, h->count, p->conf->name, h->sum_ms / 1000,
			       p->conf->name, h->count);
	}
}

char *metrics_prometheus(const struct metrics_daemon *d, const struct profile *profiles)
{
	struct metrics_text t = { NULL, 0, 0, 0 };

	metrics_printf(&t, "# HELP exod_clients Connected socket clients.\n# TYPE exod_clients gauge\n"
			   "exod_clients %d\n", d->clients);
	metrics_printf(&t, "# HELP exod_http_connects_total New upstream connections.\n"
			   "# TYPE exod_http_connects_total counter\nexod_http_connects_total %llu\n",
		       d->http_connects);
	metrics_family(&t, profiles, "requests_total", "Run requests.", "counter", m_requests);
	metrics_family(&t, profiles, "failures_total", "Run requests that ended in an error.", "counter", m_failures);
	metrics_family(&t, profiles, "records_total", "Result records streamed.", "counter", m_records);
	metrics_family(&t, profiles, "pages_total", "InvokeCommand pages fetched.", "counter", m_pages);
	metrics_family(&t, profiles, "retries_total", "Upstream requests sent again.", "counter", m_retries);
	metrics_family(&t, profiles, "throttled_total", "HTTP 429 answers.", "counter", m_throttled);
	metrics_family(&t, profiles, "token_acquisitions_total", "Access tokens obtained.", "counter", m_tokens);
	metrics_family(&t, profiles, "in_flight", "Requests upstream now.", "gauge", m_in_flight);
	metrics_family(&t, profiles, "queued", "Requests waiting for a connection.", "gauge", m_queued);
	metrics_family(&t, profiles, "connected", "1 when a valid token is held.", "gauge", m_connected);
	metrics_latency(&t, profiles);
	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}
