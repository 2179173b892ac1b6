/*
 * Bench direct client: InvokeCommand POSTs one after another on one reused libcurl connection,
 * as exod sends them. It is the floor for exod's instructions per request (run under callgrind)
 * and for its round trip. With -i it then stays, idle with its warm connection, until its standard
 * input closes: the floor for exod's idle memory, a process that has done the same HTTPS through
 * the same libraries.
 */
#include "benchcurl.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define DIRECT_MAX_REQUESTS 100000

static int direct_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One POST; its time in seconds, or a negative number when it failed. */
static double direct_one(CURL *e, struct benchcurl_sink *sink)
{
	long status = 0;
	double t0 = benchcurl_now();
	CURLcode rc;

	sink->bytes = 0;
	rc = curl_easy_perform(e);
	if (rc != CURLE_OK) {
		fprintf(stderr, "directcurl: %s\n", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 || sink->bytes == 0) {
		fprintf(stderr, "directcurl: HTTP %ld, %ld bytes\n", status, sink->bytes);
		return -1;
	}
	return benchcurl_now() - t0;
}

/* Idle until whoever measures this process closes our standard input. */
static void direct_idle(void)
{
	char buf[64];

	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
}

/* The number of timed requests, or -1 for a usage error. */
static long direct_args(struct benchcurl *b, int argc, char **argv, int *idle)
{
	long n;
	int opt;

	while ((opt = getopt(argc, argv, "iv:A:")) != -1) {
		if (opt == 'i')
			*idle = 1;
		else if (benchcurl_option(b, opt, optarg) < 0)
			return -1;
	}
	if (argc - optind < 5)
		return -1;
	n = atol(argv[optind + 3]);
	if (n < 1 || n > DIRECT_MAX_REQUESTS) {
		fprintf(stderr, "directcurl: REQUESTS must be 1 to %d\n", DIRECT_MAX_REQUESTS);
		return -1;
	}
	if (benchcurl_request(b, argv + optind, 4, argc - optind) < 0)
		return -1;
	return n;
}

int main(int argc, char **argv)
{
	struct benchcurl b;
	struct benchcurl_sink sink = { 0 };
	double *lat = NULL;
	CURL *e = NULL;
	long n, connects = 0;
	int rc = 1, idle = 0;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	benchcurl_init(&b, "directcurl");
	n = direct_args(&b, argc, argv, &idle);
	if (n < 0) {
		fprintf(stderr, "usage: directcurl [-i] [-v 1.1|2] [-A AGENT] URL CAFILE BODY REQUESTS HEADER...\n");
		rc = 2;
		goto out;
	}
	lat = malloc((size_t)n * sizeof(*lat));
	e = benchcurl_easy(&b, &sink);
	if (lat == NULL || e == NULL)
		goto out;
	/* The first request pays the TLS handshake; exod's warm session has paid it too. */
	if (direct_one(e, &sink) < 0)
		goto out;
	for (long i = 0; i < n; i++) {
		lat[i] = direct_one(e, &sink);
		if (lat[i] < 0)
			goto out;
	}
	/* Connections the last request opened: 0 when it reused the warm one. */
	curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
	qsort(lat, (size_t)n, sizeof(*lat), direct_cmp);
	printf("requests %ld p50_us %.1f bytes %ld http %s connects %ld\n", n, lat[n / 2] * 1e6,
	       sink.bytes, benchcurl_spoke(e), connects);
	if (idle)
		direct_idle();
	rc = 0;
out:
	curl_easy_cleanup(e);
	benchcurl_free(&b);
	free(lat);
	curl_global_cleanup();
	return rc;
}
