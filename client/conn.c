/* The client side of exod's socket: connect, send one line, read bounded answer lines. */
#include "conn.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <yajl/yajl_parse.h>

#include "common/wire.h"

struct conn {
	int fd;
	char *buf;
	size_t cap;
	size_t start;           /* first byte not yet handed out */
	size_t end;             /* one past the last byte read */
};

/*
 * Why connect() failed, with what to do about it.  A refusal names the
 * socket's group: being added to it is how an administrator lets one in.
 */
static void conn_open_error(const char *path, int e, char *err, size_t errlen)
{
	struct stat st;
	struct group gr, *found = NULL;
	char buf[4096];
	char gid[16];
	const char *group = gid;

	if (e != EACCES && e != EPERM) {
		snprintf(err, errlen, "cannot reach exod at %s: %s%s", path, strerror(e),
			 e == ENOENT || e == ECONNREFUSED ? " (is it running? try 'systemctl start "
			 "exod.socket', or check --socket and $EXOD_SOCKET)" : "");
		return;
	}
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "permission denied on %s: a directory on its path is closed to "
			 "you (see ACCESS in exoctl(1))", path);
		return;
	}
	snprintf(gid, sizeof(gid), "%u", (unsigned)st.st_gid);
	if (getgrgid_r(st.st_gid, &gr, buf, sizeof(buf), &found) == 0 && found != NULL)
		group = gr.gr_name;
	if ((st.st_mode & (S_IRGRP | S_IWGRP)) == (S_IRGRP | S_IWGRP))
		snprintf(err, errlen, "permission denied on %s (mode %04o, group %s): exod runs, "
			 "but not for you; an administrator can add you to group %s (see ACCESS in "
			 "exoctl(1))", path, (unsigned)(st.st_mode & 07777), group, group);
	else
		snprintf(err, errlen, "permission denied on %s (mode %04o, group %s): only its "
			 "owner may connect (see ACCESS in exoctl(1))", path,
			 (unsigned)(st.st_mode & 07777), group);
}

struct conn *conn_open(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct conn *c;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path %s is too long", path);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		conn_open_error(path, errno, err, errlen);
		conn_close(c);
		return NULL;
	}
	return c;
}

static int conn_write(struct conn *c, const char *p, size_t len, char *err, size_t errlen)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a daemon that went away is an error, not a SIGPIPE */
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot send to exod: %s", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int conn_send(struct conn *c, const char *req, size_t len, char *err, size_t errlen)
{
	struct iovec iov[2] = { { (void *)req, len }, { "\n", 1 } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	/* One write for the line and its newline: exod wakes once per request. */
	do
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len + 1)
		return 0;
	if (n < 0) {
		snprintf(err, errlen, "cannot write to exod: %s", strerror(errno));
		return -1;
	}
	/* A short write on a stream socket: send the rest the plain way. */
	if ((size_t)n < len)
		return conn_write(c, req + n, len - (size_t)n, err, errlen) < 0 ? -1 :
		       conn_write(c, "\n", 1, err, errlen);
	return conn_write(c, "\n", 1, err, errlen);
}

/* Reads more, keeping the unread tail at the front; the buffer never outgrows a line. */
static int conn_fill(struct conn *c, char *err, size_t errlen)
{
	ssize_t n;

	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	if (c->end == c->cap) {
		size_t cap = c->cap == 0 ? CONN_READ_CHUNK : c->cap * 2;
		char *buf;

		if (cap > CONN_MAX_LINE)
			cap = CONN_MAX_LINE;
		if ((buf = realloc(c->buf, cap)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		c->buf = buf;
		c->cap = cap;
	}
	do
		n = read(c->fd, c->buf + c->end, c->cap - c->end);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(err, errlen, "cannot read from exod: %s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		snprintf(err, errlen, "exod closed the connection before the answer ended");
		return -1;
	}
	c->end += (size_t)n;
	return 0;
}

/* The next non-empty line, NUL-terminated in place; valid until the next read. */
static char *conn_read_line(struct conn *c, size_t *len, char *err, size_t errlen)
{
	for (;;) {
		size_t line_len, consumed;
		enum wire_frame st = WIRE_NEED_MORE;

		if (c->end > c->start)
			st = wire_frame_next(c->buf + c->start, c->end - c->start, CONN_MAX_LINE,
					     &line_len, &consumed);
		if (st == WIRE_LINE) {
			char *line = c->buf + c->start;

			line[line_len] = '\0';
			c->start += consumed;
			if (line_len == 0)
				continue;
			*len = line_len;
			return line;
		}
		if (st == WIRE_TOO_LONG) {
			snprintf(err, errlen, "protocol error: exod sent a line longer than %u bytes",
				 CONN_MAX_LINE);
			return NULL;
		}
		if (conn_fill(c, err, errlen) < 0)
			return NULL;
	}
}

int conn_pending(const struct conn *c)
{
	return c->end > c->start && memchr(c->buf + c->start, '\n', c->end - c->start) != NULL;
}

static int conn_depth_open(void *ctx)
{
	return ++*(int *)ctx <= CONN_MAX_DEPTH;
}

static int conn_depth_close(void *ctx)
{
	--*(int *)ctx;
	return 1;
}

static const yajl_callbacks conn_depth_callbacks = {
	.yajl_start_map = conn_depth_open,
	.yajl_end_map = conn_depth_close,
	.yajl_start_array = conn_depth_open,
	.yajl_end_array = conn_depth_close,
};

static void conn_depth_error(char *err, size_t errlen)
{
	snprintf(err, errlen, "protocol error: an answer nested deeper than %d levels",
		 CONN_MAX_DEPTH);
}

/* Checks a line that will not become a tree: valid JSON, nested at most CONN_MAX_DEPTH. */
static int conn_check_json(const char *line, size_t len, char *err, size_t errlen)
{
	int depth = 0, rc = -1;
	yajl_handle h = yajl_alloc(&conn_depth_callbacks, NULL, &depth);
	yajl_status st;

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st = yajl_parse(h, (const unsigned char *)line, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st == yajl_status_client_canceled) {
		conn_depth_error(err, errlen);
	} else if (st != yajl_status_ok) {
		unsigned char *msg = yajl_get_error(h, 0, NULL, 0);

		snprintf(err, errlen, "protocol error: exod sent invalid JSON: %s",
			 msg != NULL ? (const char *)msg : "?");
		err[strcspn(err, "\n")] = '\0';
		yajl_free_error(h, msg);
	} else {
		rc = 0;
	}
	yajl_free(h);
	return rc;
}

/*
 * The deepest nesting of a line, counted on brackets outside strings,
 * without parsing: yajl_tree frees a value recursively, so a line nested
 * deeper than any answer needs is refused before a tree is built from it.
 * For text that is not JSON the count may be off; yajl refuses that text.
 */
static int conn_depth_ok(const char *s, size_t len)
{
	int depth = 0, in_string = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (in_string) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_string = 0;
		} else if (ch == '"') {
			in_string = 1;
		} else if (ch == '{' || ch == '[') {
			if (++depth > CONN_MAX_DEPTH)
				return 0;
		} else if (ch == '}' || ch == ']') {
			depth--;
		}
	}
	return 1;
}

/*
 * A record line as exod writes it, {"id":"ID","type":"record","data":...}
 * with the id optional (a string without escapes): the record's bytes, or
 * NULL for any other line.
 */
static const char *conn_record_data(const char *line, size_t len, size_t *data_len)
{
	static const char id[] = "{\"id\":\"", rest[] = "\"type\":\"record\",\"data\":";
	const char *p = line + 1, *end = line + len, *q;

	if (len < 2 || line[0] != '{' || line[len - 1] != '}')
		return NULL;
	if ((size_t)(end - line) > sizeof(id) - 1 && memcmp(line, id, sizeof(id) - 1) == 0) {
		p = line + sizeof(id) - 1;
		if ((q = memchr(p, '"', (size_t)(end - p))) == NULL || memchr(p, '\\', (size_t)(q - p)) ||
		    end - q < 2 || q[1] != ',')
			return NULL;
		p = q + 2;
	}
	if ((size_t)(end - p) < sizeof(rest) - 1 + 1 || memcmp(p, rest, sizeof(rest) - 1) != 0)
		return NULL;
	p += sizeof(rest) - 1;
	*data_len = (size_t)(end - 1 - p);
	return p;
}

int conn_read_answer(struct conn *c, int raw_records, struct conn_answer *a, char *err,
		     size_t errlen)
{
	static const char *type_path[] = { "type", NULL };
	char ebuf[256];
	size_t len;
	char *line;
	yajl_val v;

	memset(a, 0, sizeof(*a));
	if ((line = conn_read_line(c, &len, err, errlen)) == NULL)
		return -1;
	if (raw_records && (a->record = conn_record_data(line, len, &a->record_len)) != NULL) {
		/* One JSON value between the prefix and the last brace makes the line valid too. */
		if (conn_check_json(a->record, a->record_len, err, errlen) < 0) {
			a->record = NULL;
			return -1;
		}
		return 0;
	}
	if (!conn_depth_ok(line, len)) {
		conn_depth_error(err, errlen);
		return -1;
	}
	if ((v = yajl_tree_parse(line, ebuf, sizeof(ebuf))) == NULL) {
		snprintf(err, errlen, "protocol error: exod sent invalid JSON");
		return -1;
	}
	if (!YAJL_IS_OBJECT(v) || yajl_tree_get(v, type_path, yajl_t_string) == NULL) {
		snprintf(err, errlen, "protocol error: an answer line without a \"type\"");
		yajl_tree_free(v);
		return -1;
	}
	a->tree = v;
	return 0;
}

void conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

int conn_wait(const struct conn *c, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int n;

	if (conn_pending(c))
		return 1;
	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	/* an error shows itself at the next read */
	return n != 0;
}
