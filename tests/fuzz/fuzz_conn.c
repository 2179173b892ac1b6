/*
 * fuzz_conn: exoctl's reading of exod's answers (client/conn.c:
 * conn_read_answer): lines framed with wire_frame_next, checked for depth,
 * parsed with yajl, and required to be objects with a string "type".
 * Input: the byte stream exod sends, written into a Unix socket in a
 * private directory that conn_open connects to; then answers are read
 * until the stream ends or is refused.  Each answer must be an object
 * with a "type" and must re-encode (output_compact, as exoctl's --json
 * modes do); a record taken as bytes (the first input byte odd: exoctl's
 * ndjson) must be one JSON value by itself.  Also wire_frame_next on the raw input, with a small limit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "client/conn.h"
#include "client/output.h"
#include "common/wire.h"
#include "tests/fuzz/fuzz_util.h"

#define FUZZ_CONN_MAX_INPUT (128 * 1024)  /* within a Unix socket's send buffer, so one write never blocks */

static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int listen_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n;

	(void)argc;
	(void)argv;
	n = snprintf(sock_path, sizeof(sock_path), "%s/exod.sock", fuzz_tmpdir());
	FUZZ_SETUP(n > 0 && (size_t)n < sizeof(sock_path));
	memcpy(sa.sun_path, sock_path, (size_t)n + 1);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_SETUP(listen_fd >= 0);
	FUZZ_SETUP(bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	FUZZ_SETUP(listen(listen_fd, 4) == 0);
	return 0;
}

static void frames(const uint8_t *data, size_t size)
{
	size_t off = 0, line_len, consumed;

	while (off < size) {
		enum wire_frame st = wire_frame_next((const char *)data + off, size - off, 64,
						     &line_len, &consumed);

		if (st != WIRE_LINE)
			break;
		FUZZ_CHECK(consumed > line_len && consumed <= 64 && consumed <= size - off);
		FUZZ_CHECK(data[off + consumed - 1] == '\n');
		off += consumed;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *type_path[] = { "type", NULL };
	char err[512];
	struct conn *c;
	size_t off = 0;
	int fd;

	if (size > FUZZ_CONN_MAX_INPUT)
		return -1;
	frames(data, size);
	c = conn_open(sock_path, err, sizeof(err));
	FUZZ_SETUP(c != NULL);
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	FUZZ_SETUP(fd >= 0);
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		FUZZ_SETUP(n > 0);
		off += (size_t)n;
	}
	close(fd);
	/* Each answer takes at least one byte, so this ends. */
	for (size_t i = 0; i <= size; i++) {
		struct conn_answer a;
		yajl_val v;
		char *s;

		err[0] = '\0';
		/* The first byte picks the mode: records as bytes (ndjson), or every line a tree. */
		if (conn_read_answer(c, size > 0 && (data[0] & 1), &a, err, sizeof(err)) < 0) {
			FUZZ_CHECK(a.tree == NULL && a.record == NULL);
			FUZZ_CHECK(err[0] != '\0' && fuzz_terminated(err, sizeof(err)));
			break;
		}
		if (a.tree == NULL) {
			/* A record handed over as bytes must be one JSON value on its own. */
			FUZZ_CHECK(a.record != NULL);
			s = strndup(a.record, a.record_len);
			FUZZ_SETUP(s != NULL);
			v = yajl_tree_parse(s, NULL, 0);
			FUZZ_CHECK(v != NULL);
			yajl_tree_free(v);
			free(s);
			continue;
		}
		v = a.tree;
		FUZZ_CHECK(YAJL_IS_OBJECT(v));
		FUZZ_CHECK(yajl_tree_get(v, type_path, yajl_t_string) != NULL);
		(void)conn_pending(c);
		s = output_compact(v);
		free(s);
		yajl_tree_free(v);
	}
	conn_close(c);
	return 0;
}
