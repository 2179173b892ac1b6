/* Framing and error words of the socket protocol. */
#include "wire.h"

#include <ctype.h>
#include <string.h>

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
