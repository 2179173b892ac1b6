/*
 * Counters and request latency histograms, as JSON for `metrics` and as
 * Prometheus text exposition for `metrics --prometheus`.
 */
#ifndef EXOD_METRICS_H
#define EXOD_METRICS_H

#include <yajl/yajl_gen.h>

#define METRICS_BUCKETS 12
#define METRICS_MAX_TEXT (16 * 1024 * 1024)  /* bytes of Prometheus text */

/* Latency of run requests, cumulative buckets as Prometheus wants them. */
struct metrics_hist {
	unsigned long long buckets[METRICS_BUCKETS];    /* le = metrics_bounds_ms[i] */
	unsigned long long count;
	double sum_ms;
};

struct metrics_daemon {
	int clients;
	int busy;
	unsigned long long http_transfers;
	unsigned long long http_connects;
};

/* What one profile shows; profile_metrics fills it. */
struct metrics_profile {
	const char *name;
	unsigned long long requests, failures, records, pages, retries, throttled;
	unsigned long long token_acquisitions;
	unsigned long long in_flight, queued, connected;
	struct metrics_hist latency;
	/* In a [cluster]: the whole cluster's requests in flight and the nodes seen, as last heard. */
	int clustered;
	unsigned long long cluster_in_flight, cluster_nodes, cluster_up;
};

void metrics_observe(struct metrics_hist *h, double ms);
void metrics_json(yajl_gen g, const struct metrics_daemon *d, const struct metrics_profile *ps,
		  size_t n);
/* Malloc'd Prometheus text, or NULL when out of memory. */
char *metrics_prometheus(const struct metrics_daemon *d, const struct metrics_profile *ps,
			 size_t n);

#endif
