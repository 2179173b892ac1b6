/* What the bench's libcurl clients share: exod's request, set up as exod sets it up. */
#ifndef BENCHCURL_H
#define BENCHCURL_H

#include <curl/curl.h>

struct benchcurl {
	long http_version;              /* CURL_HTTP_VERSION_1_1 or CURL_HTTP_VERSION_2TLS */
	const char *agent;
	const char *url, *ca, *body;
	struct curl_slist *headers;
};

/* An answer's bytes, counted and dropped. */
struct benchcurl_sink {
	long bytes;
};

/* Defaults: HTTP/2, the program's name as the user agent. */
void benchcurl_init(struct benchcurl *b, const char *agent);

/* -v 1.1|2 and -A AGENT; -1 for any other option or value. */
int benchcurl_option(struct benchcurl *b, int opt, const char *arg);

/* URL CAFILE BODY from args[0..2]; the HEADER... words from args[first..n-1]. */
int benchcurl_request(struct benchcurl *b, char **args, int first, int n);

/* An easy handle for the request, its answer going to sink; NULL when libcurl refuses. */
CURL *benchcurl_easy(const struct benchcurl *b, struct benchcurl_sink *sink);

/* What a finished transfer spoke: "2", "1.1", or "0" (none). */
const char *benchcurl_spoke(CURL *e);

double benchcurl_now(void);

void benchcurl_free(struct benchcurl *b);

#endif
