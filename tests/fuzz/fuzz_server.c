/*
 * fuzz_server: a local client's bytes through exod's whole connection
 * path (daemon/server.c: reading, framing, parsing, dispatch, answers,
 * closing), over two pipes instead of a socket and with no profile, so
 * that nothing leaves the process.  The input is what the client sends
 * before it closes.  Every line exod writes back must be valid UTF-8 and
 * one JSON object with a "type", and exod must finish with the client.
 */
#include <event2/event.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/jtree.h"
#include "common/utf8.h"
#include "daemon/http.h"
#include "daemon/server.h"
#include "tests/fuzz/fuzz_util.h"

#define PIPE_SIZE (1024 * 1024)
#define MAX_TURNS 200000                /* loop turns before a client that never ends is a hang */
#define MAX_OUT (64 * 1024 * 1024)

static void check_lines(const char *out, size_t len)
{
	char why[64];

	while (len > 0) {
		const char *nl = memchr(out, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - out) : len;
		yajl_val v;

		FUZZ_CHECK(nl != NULL);         /* every answer line ends with a newline */
		FUZZ_CHECK(utf8_valid(out, n));
		v = jtree_parse(out, n, why, sizeof(why));
		FUZZ_CHECK(YAJL_IS_OBJECT(v) && jtree_str(v, "type") != NULL);
		jtree_free(v);
		out += n + 1;
		len -= n + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf conf = { .socket = (char *)"/nonexistent/exod.sock", .max_clients = 16,
			     .max_clients_per_uid = 4, .reserved_clients = 2, .client_timeout = 30,
			     .send_timeout = 600 };
	struct event_base *base = event_base_new();
	struct http *http = base != NULL ? http_new(base) : NULL;
	struct server *s = http != NULL ? server_new(base, &conf, NULL, http) : NULL;
	int in[2], out[2], turns = 0;
	static char buf[MAX_OUT];
	size_t got = 0;
	ssize_t n = 1;

	FUZZ_SETUP(s != NULL);
	FUZZ_SETUP(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC | O_NONBLOCK) == 0);
	FUZZ_SETUP(fcntl(in[1], F_SETPIPE_SZ, PIPE_SIZE) >= 0 && fcntl(out[1], F_SETPIPE_SZ, PIPE_SIZE) >= 0);
	FUZZ_SETUP(fcntl(in[0], F_SETFL, O_NONBLOCK) == 0);
	FUZZ_SETUP(size <= PIPE_SIZE && (size == 0 || write(in[1], data, size) == (ssize_t)size));
	close(in[1]);
	FUZZ_SETUP(server_conn_open(s, in[0], out[1], 0, 0, getpid()) != NULL);
	/* Until exod closes its end: every answer read as it comes, as a client would. */
	while (n != 0) {
		FUZZ_CHECK(++turns < MAX_TURNS);
		event_base_loop(base, EVLOOP_NONBLOCK);
		while ((n = read(out[0], buf + got, sizeof(buf) - got)) > 0)
			got += (size_t)n;
		FUZZ_CHECK(got < sizeof(buf));
	}
	check_lines(buf, got);
	close(out[0]);
	server_free(s);
	http_free(http);
	event_base_free(base);
	return 0;
}
