/* Framing and error words of the socket protocol. */
#include "wire.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "common/jtree.h"

enum wire_frame wire_frame_next(const char *buf, size_t len, size_t max,
				size_t *line_len, size_t *consumed)
{
	size_t scan = len < max ? len : max;
	const char *nl = memchr(buf, '\n', scan);

	if (nl == NULL)
		return len >= max ? WIRE_TOO_LONG : WIRE_NEED_MORE;
	*consumed = (size_t)(nl - buf) + 1;
	*line_len = (size_t)(nl - buf);
	if (*line_len > 0 && buf[*line_len - 1] == '\r')
		(*line_len)--;
	return WIRE_LINE;
}

static const struct {
	const char *code;
	int exit_status;
} wire_errors[WIRE_E_COUNT] = {
	[WIRE_E_BAD_REQUEST] = { "BadRequest", 2 },
	[WIRE_E_UNKNOWN_OP] = { "UnknownOp", 2 },
	[WIRE_E_UNKNOWN_PROFILE] = { "UnknownProfile", 2 },
	[WIRE_E_FORBIDDEN] = { "Forbidden", 6 },
	[WIRE_E_NEEDS_LOGIN] = { "NeedsLogin", 4 },
	[WIRE_E_AUTH_FAILED] = { "AuthFailed", 4 },
	[WIRE_E_THROTTLED] = { "Throttled", 5 },
	[WIRE_E_QUEUE_FULL] = { "QueueFull", 5 },
	[WIRE_E_QUEUE_TIMEOUT] = { "QueueTimeout", 5 },
	[WIRE_E_TIMEOUT] = { "Timeout", 5 },
	[WIRE_E_UPSTREAM] = { "Upstream", 1 },
	[WIRE_E_TOO_LARGE] = { "TooLarge", 2 },
	[WIRE_E_SHUTTING_DOWN] = { "ShuttingDown", 3 },
	[WIRE_E_CANCELLED] = { "Cancelled", 1 },
	[WIRE_E_TOO_MANY_CLIENTS] = { "TooManyClients", 5 },
};

const char *wire_error_code(enum wire_error e)
{
	if ((unsigned)e >= WIRE_E_COUNT)
		return "Upstream";
	return wire_errors[e].code;
}

int wire_error_exit_status(const char *code)
{
	for (int i = 0; i < WIRE_E_COUNT; i++)
		if (strcmp(code, wire_errors[i].code) == 0)
			return wire_errors[i].exit_status;
	return 1;
}

int wire_cmdlet_valid(const char *s)
{
	size_t n = strlen(s);
	const char *dash = strchr(s, '-');

	if (n == 0 || n > WIRE_MAX_CMDLET || dash == NULL || dash == s || dash[1] == '\0')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return 0;
	return 1;
}

/* The id as JSON text: a string (escaped by yajl) or a number (as sent), bounded. */
static int wire_id(yajl_val id, char *out, size_t outlen)
{
	const unsigned char *buf;
	size_t len;
	yajl_gen g;
	int rc = -1;

	if (YAJL_IS_NUMBER(id)) {
		len = strlen(YAJL_GET_NUMBER(id));
		if (len >= outlen)
			return -1;
		memcpy(out, YAJL_GET_NUMBER(id), len + 1);
		return 0;
	}
	if (!YAJL_IS_STRING(id) || strlen(id->u.string) > WIRE_MAX_ID)
		return -1;
	g = yajl_gen_alloc(NULL);
	if (g == NULL)
		return -1;
	if (yajl_gen_string(g, (const unsigned char *)id->u.string, strlen(id->u.string)) ==
	    yajl_gen_status_ok && yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok &&
	    len < outlen) {
		memcpy(out, buf, len);
		out[len] = '\0';
		rc = 0;
	}
	yajl_gen_free(g);
	return rc;
}

int wire_parse_request(const void *line, size_t len, struct wire_request *req,
		       char *why, size_t whylen)
{
	yajl_val id, op, profile;
	char reason[64];

	memset(req, 0, sizeof(*req));
	req->root = jtree_parse(line, len, reason, sizeof(reason));
	if (!YAJL_IS_OBJECT(req->root)) {
		snprintf(why, whylen, "a request is one JSON object on one line (%s)",
			 req->root == NULL ? reason : "another JSON value");
		return -1;
	}
	id = jtree_get(req->root, "id");
	if (id != NULL && wire_id(id, req->id, sizeof(req->id)) < 0) {
		req->id[0] = '\0';
		snprintf(why, whylen, "\"id\" must be a string (at most %d bytes) or a number",
			 WIRE_MAX_ID);
		return -1;
	}
	op = jtree_get(req->root, "op");
	profile = jtree_get(req->root, "profile");
	if (!YAJL_IS_STRING(op)) {
		snprintf(why, whylen, "a request needs \"op\", a string");
		return -1;
	}
	if (profile != NULL && !YAJL_IS_STRING(profile)) {
		snprintf(why, whylen, "\"profile\" must be a string");
		return -1;
	}
	req->op = op->u.string;
	req->profile = YAJL_GET_STRING(profile);
	return 0;
}

void wire_request_free(struct wire_request *req)
{
	jtree_free(req->root);
	req->root = NULL;
	req->op = req->profile = NULL;
}
