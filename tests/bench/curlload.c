/*
 * Bench load client on libcurl's multi interface: what exod's throughput at its pool cap is
 * compared with. It keeps exactly CONCURRENCY InvokeCommand POSTs in flight, as exod sends them,
 * over HTTP/1.1 (CONCURRENCY keep-alive connections) or HTTP/2 (one connection, CONCURRENCY
 * streams). Only the requests that finish inside the SECONDS after the warm-up count, so the
 * handshakes and the drain at the end weigh nothing.
 */
#include "benchcurl.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CL_MAX_CONC 1024                /* transfers in flight */
#define CL_MAX_SECONDS 600.0            /* of the measured window, and of the warm-up */
#define CL_POLL_MS 100

struct cl_slot {
	CURL *easy;
	struct benchcurl_sink sink;
};

struct cl {
	struct benchcurl req;
	int conc;
	double warm, seconds;
	CURLM *multi;
	struct cl_slot *slots;
	double from, to;                /* the measured window */
	long counted;                   /* requests that finished inside it */
	long errors;
	long connects;                  /* connections opened, over every transfer */
	const char *spoke;              /* what the last good transfer spoke */
};

static int cl_args(struct cl *g, int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "v:A:w:")) != -1) {
		if (opt == 'w')
			g->warm = atof(optarg);
		else if (benchcurl_option(&g->req, opt, optarg) < 0)
			return -1;
	}
	if (argc - optind < 5)
		return -1;
	g->conc = atoi(argv[optind + 3]);
	g->seconds = atof(argv[optind + 4]);
	if (g->conc < 1 || g->conc > CL_MAX_CONC || !(g->seconds > 0 && g->seconds <= CL_MAX_SECONDS) ||
	    !(g->warm >= 0 && g->warm <= CL_MAX_SECONDS))
		return -1;
	return benchcurl_request(&g->req, argv + optind, 5, argc - optind);
}

/* HTTP/2: every transfer on one connection; HTTP/1.1: one connection per transfer in flight. */
static int cl_setup(struct cl *g)
{
	int h2 = g->req.http_version == CURL_HTTP_VERSION_2TLS;

	g->multi = curl_multi_init();
	g->slots = calloc((size_t)g->conc, sizeof(*g->slots));
	if (g->multi == NULL || g->slots == NULL)
		return -1;
	if (curl_multi_setopt(g->multi, CURLMOPT_PIPELINING, h2 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING) ||
	    curl_multi_setopt(g->multi, CURLMOPT_MAX_HOST_CONNECTIONS, h2 ? 1L : (long)g->conc) ||
	    curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, (long)g->conc))
		return -1;
	for (int i = 0; i < g->conc; i++) {
		struct cl_slot *s = &g->slots[i];

		s->easy = benchcurl_easy(&g->req, &s->sink);
		if (s->easy == NULL || curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s) != CURLE_OK)
			return -1;
	}
	return 0;
}

/* Counts one finished transfer; the first failure is shown, the others only counted. */
static void cl_finished(struct cl *g, struct cl_slot *s, CURLcode result, double at)
{
	long status = 0, connects = 0;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &connects);
	g->connects += connects;
	if (result != CURLE_OK || status != 200 || s->sink.bytes == 0) {
		if (g->errors++ == 0)
			fprintf(stderr, "curlload: first error: %s, HTTP %ld, %ld bytes\n",
				curl_easy_strerror(result), status, s->sink.bytes);
		return;
	}
	g->spoke = benchcurl_spoke(s->easy);
	if (at >= g->from && at < g->to)
		g->counted++;
}

/* Restarts every finished transfer until the window closes; returns how many are still running. */
static int cl_reap(struct cl *g, int running)
{
	struct CURLMsg *msg;
	int queued;

	while ((msg = curl_multi_info_read(g->multi, &queued)) != NULL) {
		struct cl_slot *s = NULL;
		double at = benchcurl_now();

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
		cl_finished(g, s, msg->data.result, at);
		curl_multi_remove_handle(g->multi, s->easy);
		s->sink.bytes = 0;
		if (at < g->to && curl_multi_add_handle(g->multi, s->easy) == CURLM_OK)
			continue;
		running--;
	}
	return running;
}

static int cl_run(struct cl *g)
{
	int running = 0, active;

	g->from = benchcurl_now() + g->warm;
	g->to = g->from + g->seconds;
	for (int i = 0; i < g->conc; i++) {
		if (curl_multi_add_handle(g->multi, g->slots[i].easy) != CURLM_OK)
			return -1;
		running++;
	}
	while (running > 0) {
		if (curl_multi_perform(g->multi, &active) != CURLM_OK)
			return -1;
		running = cl_reap(g, running);
		if (running > 0 && curl_multi_poll(g->multi, NULL, 0, CL_POLL_MS, NULL) != CURLM_OK)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cl g = { 0 };
	int rc = 1;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	benchcurl_init(&g.req, "curlload");
	if (cl_args(&g, argc, argv) < 0) {
		fprintf(stderr, "usage: curlload [-v 1.1|2] [-A AGENT] [-w WARMUP] URL CAFILE BODY "
			"CONCURRENCY SECONDS HEADER...\n");
		rc = 2;
		goto out;
	}
	if (cl_setup(&g) < 0) {
		fprintf(stderr, "curlload: cannot set libcurl up\n");
		goto out;
	}
	if (cl_run(&g) < 0) {
		fprintf(stderr, "curlload: the multi loop failed\n");
		goto out;
	}
	printf("requests %ld errors %ld seconds %.3f rps %.1f http %s connects %ld\n", g.counted,
	       g.errors, g.seconds, (double)g.counted / g.seconds, g.spoke ? g.spoke : "0", g.connects);
	rc = 0;
out:
	for (int i = 0; g.slots != NULL && i < g.conc; i++) {
		if (g.slots[i].easy != NULL)
			curl_multi_remove_handle(g.multi, g.slots[i].easy);
		curl_easy_cleanup(g.slots[i].easy);
	}
	free(g.slots);
	curl_multi_cleanup(g.multi);
	benchcurl_free(&g.req);
	curl_global_cleanup();
	return rc;
}
