/*
 * The socket protocol's framing and error vocabulary, shared by exod and
 * exoctl.  The protocol itself is described in doc/PROTOCOL.md.
 */
#ifndef EXOD_WIRE_H
#define EXOD_WIRE_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

#define WIRE_MAX_LINE 65536     /* bytes in one request line, newline included */
#define WIRE_MAX_CMDLET 128     /* bytes in a cmdlet name */
#define WIRE_MAX_ID 256         /* bytes in a request id */
#define WIRE_MAX_ID_JSON (WIRE_MAX_ID * 6 + 3)  /* the id as JSON text: every byte \u-escaped */

enum wire_frame {
	WIRE_NEED_MORE,         /* no newline yet, and still within the limit */
	WIRE_LINE,              /* a whole line is at the front of the buffer */
	WIRE_TOO_LONG,          /* more than max bytes without a newline */
};

/*
 * Finds the first line in buf[0..len).  On WIRE_LINE, *line_len is its
 * length without "\n" or "\r\n" and *consumed is what to drop from the
 * buffer, newline included.  max counts the newline.
 */
enum wire_frame wire_frame_next(const char *buf, size_t len, size_t max,
				size_t *line_len, size_t *consumed);

enum wire_error {
	WIRE_E_BAD_REQUEST,
	WIRE_E_UNKNOWN_OP,
	WIRE_E_UNKNOWN_PROFILE,
	WIRE_E_FORBIDDEN,
	WIRE_E_NEEDS_LOGIN,
	WIRE_E_AUTH_FAILED,
	WIRE_E_THROTTLED,
	WIRE_E_QUEUE_FULL,
	WIRE_E_QUEUE_TIMEOUT,
	WIRE_E_TIMEOUT,
	WIRE_E_UPSTREAM,
	WIRE_E_TOO_LARGE,
	WIRE_E_SHUTTING_DOWN,
	WIRE_E_CANCELLED,
	WIRE_E_TOO_MANY_CLIENTS,
	WIRE_E_COUNT
};

const char *wire_error_code(enum wire_error e);
/* The exoctl exit status for an error code word (DESIGN §3.3); 1 for unknown words. */
int wire_error_exit_status(const char *code);

/* 1 when s is a plausible cmdlet name: Verb-Noun, letters, digits and '-'. */
int wire_cmdlet_valid(const char *s);

/* A request line, parsed. */
struct wire_request {
	yajl_val root;                  /* every field (a jtree: wiped when freed) */
	const char *op;                 /* points into root */
	const char *profile;            /* points into root; NULL when absent */
	char id[WIRE_MAX_ID_JSON + 1];  /* the id as JSON text to copy into answers; "" when none */
};

/*
 * Parses one request line: bytes with a length, without its newline.
 * -1 with a reason in why when it is not a request: a NUL byte or invalid
 * UTF-8 anywhere, not one JSON object, or op, profile or id missing or of
 * the wrong type.  The id is set whenever it could be read, so that the
 * error can carry it.  wire_request_free afterwards, either way.
 */
int wire_parse_request(const void *line, size_t len, struct wire_request *req,
		       char *why, size_t whylen);
void wire_request_free(struct wire_request *req);

#endif
