/* The exoctl commands exod suggests, quoted to be pasted into a shell. */
#include "daemon/hint.h"

#include <stdio.h>
#include <string.h>

/* Characters a shell takes literally in a word: the rest of a socket path is quoted. */
#define HINT_PLAIN "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._+,:@%=-"

/* The socket as one shell word, in double quotes when it needs them; "" for the default one. */
static void hint_socket(const char *socket, char *buf, size_t len)
{
	size_t off;

	buf[0] = '\0';
	if (socket == NULL || strcmp(socket, CONF_DEFAULT_SOCKET) == 0)
		return;
	if (socket[strspn(socket, HINT_PLAIN)] == '\0') {
		snprintf(buf, len, " -s %s", socket);
		return;
	}
	off = (size_t)snprintf(buf, len, " -s \"");
	for (const char *c = socket; *c != '\0' && off + 4 < len; c++) {
		if (strchr("\"$`\\", *c) != NULL)
			buf[off++] = '\\';
		buf[off++] = *c;
	}
	snprintf(buf + off, len - off, "\"");
}

const char *hint_exoctl(const struct conf_profile *p, const char *command, char *buf, size_t len)
{
	/* A socket path is shorter than 108 bytes: quoted, at most twice that. */
	char socket[256];

	hint_socket(p->socket, socket, sizeof(socket));
	snprintf(buf, len, "'exoctl %s -p %s%s'", command, p->name, socket);
	return buf;
}

const char *hint_login(const struct conf_profile *p, char *buf, size_t len)
{
	return hint_exoctl(p, p->auth == CONF_AUTH_PASSWORD ? "login --password" : "login", buf,
			   len);
}
