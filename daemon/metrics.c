/* Metrics: per-profile counters and latency histograms, in JSON and Prometheus text. */
#include "daemon/metrics.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/json.h"

#define METRICS_FIRST_TEXT 4096         /* bytes the Prometheus text starts with */

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

static void metrics_json_profile(yajl_gen g, const struct metrics_profile *p)
{
	json_str(g, p->name);
	yajl_gen_map_open(g);
	json_kv_int(g, "requests", (long long)p->requests);
	json_kv_int(g, "failures", (long long)p->failures);
	json_kv_int(g, "records", (long long)p->records);
	json_kv_int(g, "pages", (long long)p->pages);
	json_kv_int(g, "retries", (long long)p->retries);
	json_kv_int(g, "throttled", (long long)p->throttled);
	json_kv_int(g, "token_acquisitions", (long long)p->token_acquisitions);
	json_kv_int(g, "in_flight", (long long)p->in_flight);
	json_kv_int(g, "queued", (long long)p->queued);
	if (p->clustered) {
		json_kv_int(g, "cluster_in_flight", (long long)p->cluster_in_flight);
		json_kv_int(g, "cluster_nodes", (long long)p->cluster_nodes);
		json_kv_int(g, "cluster_up", (long long)p->cluster_up);
	}
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

void metrics_json(yajl_gen g, const struct metrics_daemon *d, const struct metrics_profile *ps,
		  size_t n)
{
	json_str(g, "metrics");
	yajl_gen_map_open(g);
	json_kv_int(g, "clients", d->clients);
	json_kv_int(g, "busy", d->busy);
	json_kv_int(g, "http_transfers", (long long)d->http_transfers);
	json_kv_int(g, "http_connects", (long long)d->http_connects);
	json_str(g, "profiles");
	yajl_gen_map_open(g);
	for (size_t i = 0; i < n; i++)
		metrics_json_profile(g, &ps[i]);
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
/* One counter family: a HELP and TYPE line, then one sample per profile. */
static void metrics_family(struct metrics_text *t, const struct metrics_profile *ps, size_t n,
			   const char *name, const char *help, const char *type, size_t field)
{
	metrics_printf(t, "# HELP exod_%s %s\n# TYPE exod_%s %s\n", name, help, name, type);
	for (size_t i = 0; i < n; i++)
		metrics_printf(t, "exod_%s{profile=\"%s\"} %llu\n", name, ps[i].name,
			       *(const unsigned long long *)((const char *)&ps[i] + field));
}

/* The same for the profiles in a [cluster] only; nothing at all when there are none. */
static void metrics_cluster_family(struct metrics_text *t, const struct metrics_profile *ps,
				   size_t n, const char *name, const char *help, size_t field)
{
	size_t i;

	for (i = 0; i < n && !ps[i].clustered; i++)
		;
	if (i == n)
		return;
	metrics_printf(t, "# HELP exod_%s %s\n# TYPE exod_%s gauge\n", name, help, name);
	for (i = 0; i < n; i++)
		if (ps[i].clustered)
			metrics_printf(t, "exod_%s{profile=\"%s\"} %llu\n", name, ps[i].name,
				       *(const unsigned long long *)((const char *)&ps[i] + field));
}

static void metrics_latency(struct metrics_text *t, const struct metrics_profile *ps, size_t n)
{
	metrics_printf(t, "# HELP exod_request_duration_seconds Time from a run request to its last line.\n"
			  "# TYPE exod_request_duration_seconds histogram\n");
	for (size_t k = 0; k < n; k++) {
		const struct metrics_hist *h = &ps[k].latency;
		const char *name = ps[k].name;

		for (int i = 0; i < METRICS_BUCKETS; i++)
			metrics_printf(t, "exod_request_duration_seconds_bucket{profile=\"%s\",le=\"%g\"} %llu\n",
				       name, metrics_bounds_ms[i] / 1000, h->buckets[i]);
		metrics_printf(t, "exod_request_duration_seconds_bucket{profile=\"%s\",le=\"+Inf\"} %llu\n"
				  "exod_request_duration_seconds_sum{profile=\"%s\"} %.6f\n"
				  "exod_request_duration_seconds_count{profile=\"%s\"} %llu\n",
			       name, h->count, name, h->sum_ms / 1000, name, h->count);
	}
}

#define MF(field) offsetof(struct metrics_profile, field)

char *metrics_prometheus(const struct metrics_daemon *d, const struct metrics_profile *ps,
			 size_t n)
{
	struct metrics_text t = { malloc(METRICS_FIRST_TEXT), 0, METRICS_FIRST_TEXT, 0 };

	/* A buffer from the start: vsnprintf into NULL + 0 is undefined behaviour. */
	if (t.buf == NULL)
		return NULL;

	metrics_printf(&t, "# HELP exod_clients Connected socket clients.\n# TYPE exod_clients gauge\n"
			   "exod_clients %d\n", d->clients);
	metrics_printf(&t, "# HELP exod_http_connects_total New upstream connections.\n"
			   "# TYPE exod_http_connects_total counter\nexod_http_connects_total %llu\n",
		       d->http_connects);
	metrics_family(&t, ps, n, "requests_total", "Run requests.", "counter", MF(requests));
	metrics_family(&t, ps, n, "failures_total", "Run requests that ended in an error.", "counter", MF(failures));
	metrics_family(&t, ps, n, "records_total", "Result records streamed.", "counter", MF(records));
	metrics_family(&t, ps, n, "pages_total", "InvokeCommand pages fetched.", "counter", MF(pages));
	metrics_family(&t, ps, n, "retries_total", "Upstream requests sent again.", "counter", MF(retries));
	metrics_family(&t, ps, n, "throttled_total", "HTTP 429 answers.", "counter", MF(throttled));
	metrics_family(&t, ps, n, "token_acquisitions_total", "Access tokens obtained.", "counter", MF(token_acquisitions));
	metrics_family(&t, ps, n, "in_flight", "Requests upstream now.", "gauge", MF(in_flight));
	metrics_family(&t, ps, n, "queued", "Requests waiting for a connection.", "gauge", MF(queued));
	metrics_family(&t, ps, n, "connected", "1 when a valid token is held.", "gauge", MF(connected));
	metrics_cluster_family(&t, ps, n, "cluster_in_flight",
			       "Requests in flight on every node of the cluster, as last heard from Redis.",
			       MF(cluster_in_flight));
	metrics_cluster_family(&t, ps, n, "cluster_nodes", "Nodes of the cluster that serve the profile.",
			       MF(cluster_nodes));
	metrics_cluster_family(&t, ps, n, "cluster_up", "1 while Redis can be reached.",
			       MF(cluster_up));
	metrics_latency(&t, ps, n);
	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}
