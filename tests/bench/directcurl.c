/* Bench direct client: InvokeCommand POSTs on one reused libcurl connection, as exod sends them. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DIRECT_MAX_REQUESTS 100000
#define DIRECT_MAX_BODY (1L << 30)      /* bytes of one answer, for a sanity check only */

struct direct_sink {
	long bytes;
};

static size_t direct_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct direct_sink *s = userp;

	(void)data;
	if (s->bytes + (long)(size * nmemb) > DIRECT_MAX_BODY)
		return 0;
	s->bytes += (long)(size * nmemb);
	return size * nmemb;
}

static double direct_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int direct_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One POST; its time in seconds, or a negative number when it failed. */
static double direct_one(CURL *e, struct direct_sink *sink)
{
	long status = 0;
	double t0 = direct_now();
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
	return direct_now() - t0;
}

static CURL *direct_easy(const char *url, const char *ca, const char *body,
			 struct curl_slist *h, struct direct_sink *sink)
{
	CURL *e = curl_easy_init();

	if (e == NULL)
		return NULL;
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CAINFO, ca) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, direct_write) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, sink) != CURLE_OK) {
		curl_easy_cleanup(e);
		return NULL;
	}
	return e;
}

int main(int argc, char **argv)
{
	struct direct_sink sink = { 0 };
	struct curl_slist *h = NULL;
	double *lat = NULL;
	CURL *e = NULL;
	long n;
	int rc = 1;

	if (argc < 6) {
		fprintf(stderr, "usage: directcurl URL CAFILE BODY REQUESTS HEADER...\n");
		return 2;
	}
	n = atol(argv[4]);
	if (n < 1 || n > DIRECT_MAX_REQUESTS) {
		fprintf(stderr, "directcurl: REQUESTS must be 1 to %d\n", DIRECT_MAX_REQUESTS);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int i = 5; i < argc; i++) {
		struct curl_slist *grown = curl_slist_append(h, argv[i]);

		if (grown == NULL)
			goto out;
		h = grown;
	}
	lat = malloc((size_t)n * sizeof(*lat));
	e = direct_easy(argv[1], argv[2], argv[3], h, &sink);
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
	qsort(lat, (size_t)n, sizeof(*lat), direct_cmp);
	printf("requests %ld p50_us %.1f bytes %ld\n", n, lat[n / 2] * 1e6, sink.bytes);
	rc = 0;
out:
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	free(lat);
	curl_global_cleanup();
	return rc;
}
