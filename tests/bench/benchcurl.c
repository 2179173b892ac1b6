/*
 * The request the bench's libcurl clients send: exod's (the bench passes its headers), with the
 * options exod sets on every transfer (user agent, gzip) and no more, so that the clients are
 * the floor exod is measured against.
 */
#include "benchcurl.h"

#include <string.h>
#include <time.h>

#define BENCHCURL_MAX_BODY (1L << 30)   /* bytes of one answer, for a sanity check only */

void benchcurl_init(struct benchcurl *b, const char *agent)
{
	memset(b, 0, sizeof(*b));
	b->http_version = CURL_HTTP_VERSION_2TLS;
	b->agent = agent;
}

int benchcurl_option(struct benchcurl *b, int opt, const char *arg)
{
	if (opt == 'v' && strcmp(arg, "1.1") == 0)
		b->http_version = CURL_HTTP_VERSION_1_1;
	else if (opt == 'v' && strcmp(arg, "2") == 0)
		b->http_version = CURL_HTTP_VERSION_2TLS;
	else if (opt == 'A')
		b->agent = arg;
	else
		return -1;
	return 0;
}

int benchcurl_request(struct benchcurl *b, char **args, int first, int n)
{
	b->url = args[0];
	b->ca = args[1];
	b->body = args[2];
	for (int i = first; i < n; i++) {
		struct curl_slist *grown = curl_slist_append(b->headers, args[i]);

		if (grown == NULL)
			return -1;
		b->headers = grown;
	}
	return 0;
}

static size_t benchcurl_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct benchcurl_sink *s = userp;

	(void)data;
	if (s->bytes + (long)(size * nmemb) > BENCHCURL_MAX_BODY)
		return 0;
	s->bytes += (long)(size * nmemb);
	return size * nmemb;
}

/*
 * PIPEWAIT makes HTTP/2 transfers wait for the one connection rather than open more; on
 * HTTP/1.1 it would only delay opening the others.
 */
CURL *benchcurl_easy(const struct benchcurl *b, struct benchcurl_sink *sink)
{
	CURL *e = curl_easy_init();
	long h2 = b->http_version == CURL_HTTP_VERSION_2TLS;

	if (e == NULL)
		return NULL;
	if (curl_easy_setopt(e, CURLOPT_URL, b->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CAINFO, b->ca) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, b->http_version) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PIPEWAIT, h2) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, b->agent) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, b->headers) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, b->body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(b->body)) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, benchcurl_write) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, sink) != CURLE_OK) {
		curl_easy_cleanup(e);
		return NULL;
	}
	return e;
}

const char *benchcurl_spoke(CURL *e)
{
	long v = 0;

	curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &v);
	return v == CURL_HTTP_VERSION_2_0 ? "2" : v == CURL_HTTP_VERSION_1_1 ? "1.1" : "0";
}

double benchcurl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void benchcurl_free(struct benchcurl *b)
{
	curl_slist_free_all(b->headers);
	b->headers = NULL;
}
