/*
 * fuzz_wire: a client's bytes as exod frames and parses them
 * (common/wire.c: wire_frame_next and wire_parse_request).  The input is
 * split into lines as the server splits them; every line is parsed.  A
 * parsed request has a string op, a string or no profile, and an id that
 * is itself valid JSON (a string or a number) safe to copy into answers;
 * a refused line says why and carries no id it could not read.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/jtree.h"
#include "common/utf8.h"
#include "common/wire.h"
#include "tests/fuzz/fuzz_util.h"

static void check_id(const char *id)
{
	char why[64];
	yajl_val v;

	if (id[0] == '\0')
		return;
	FUZZ_CHECK(utf8_valid(id, strlen(id)));
	v = jtree_parse(id, strlen(id), why, sizeof(why));
	FUZZ_CHECK(v != NULL && (YAJL_IS_STRING(v) || YAJL_IS_NUMBER(v)));
	jtree_free(v);
}

static void one_line(const uint8_t *line, size_t len)
{
	struct wire_request r;
	char why[160];

	if (wire_parse_request(line, len, &r, why, sizeof(why)) == 0) {
		FUZZ_CHECK(r.root != NULL && r.op != NULL);
		FUZZ_CHECK(memchr(line, '\0', len) == NULL && utf8_valid(line, len));
	} else {
		FUZZ_CHECK(why[0] != '\0' && fuzz_terminated(why, sizeof(why)));
	}
	check_id(r.id);
	wire_request_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t line_len, used;

	while (size > 0) {
		enum wire_frame f = wire_frame_next((const char *)data, size, WIRE_MAX_LINE,
						    &line_len, &used);

		if (f == WIRE_TOO_LONG)
			break;
		if (f == WIRE_NEED_MORE)
			line_len = used = size;         /* the last line of a client that closed */
		FUZZ_CHECK(line_len <= used && used <= size);
		one_line(data, line_len);
		data += used;
		size -= used;
	}
	return 0;
}
