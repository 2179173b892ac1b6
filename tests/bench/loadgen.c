/* Bench load client: many concurrent clients on exod's Unix socket, one request in flight each. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LOADGEN_MAX_CONNS 1024          /* concurrent socket clients */
#define LOADGEN_BUF 65536               /* bytes of one connection's unread answer */
#define LOADGEN_MAX_SAMPLES 2000000     /* latencies kept for the median */
#define LOADGEN_MAX_SECONDS 600
#define LOADGEN_TYPE_WINDOW 96          /* "type" precedes "data" near the start of a line */
#define LOADGEN_POLL_MS 100

struct lg_conn {
	int fd;
	size_t len;
	double sent_at;
	char buf[LOADGEN_BUF];
};

struct lg {
	const char *path;
	char line[512];
	size_t line_len;
	int nconns;
	long total;                     /* requests to send; 0: run for seconds */
	double seconds;
	long started;
	long done;
	long errors;
	double *lat;
	long nlat;
};

static double lg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int lg_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The request line is short, so a blocking write of it never stalls for long. */
static int lg_send(struct lg *g, struct lg_conn *c)
{
	size_t off = 0;

	while (off < g->line_len) {
		ssize_t n = write(c->fd, g->line + off, g->line_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	c->sent_at = lg_now();
	g->started++;
	return 0;
}

static int lg_more(const struct lg *g, double deadline)
{
	if (g->total > 0)
		return g->started < g->total;
	return lg_now() < deadline;
}

/* 1: the line ends a request (done or error), 0: an event line. */
static int lg_terminal(const char *line, size_t len, int *is_error)
{
	size_t n = len < LOADGEN_TYPE_WINDOW ? len : LOADGEN_TYPE_WINDOW;

	*is_error = memmem(line, n, "\"type\":\"error\"", 14) != NULL;
	return *is_error || memmem(line, n, "\"type\":\"done\"", 13) != NULL;
}

/* Consumes whole lines; returns the number of requests this connection finished. */
static int lg_lines(struct lg *g, struct lg_conn *c)
{
	size_t start = 0;
	int finished = 0;
	char *nl;

	while ((nl = memchr(c->buf + start, '\n', c->len - start)) != NULL) {
		size_t len = (size_t)(nl - (c->buf + start));
		int is_error;

		if (lg_terminal(c->buf + start, len, &is_error)) {
			if (g->nlat < LOADGEN_MAX_SAMPLES)
				g->lat[g->nlat++] = lg_now() - c->sent_at;
			g->done++;
			/* The first error says what kind of failure the others probably are. */
			if (is_error && g->errors++ == 0)
				fprintf(stderr, "loadgen: first error: %.*s\n", (int)len, c->buf + start);
			finished++;
		}
		start += len + 1;
	}
	memmove(c->buf, c->buf + start, c->len - start);
	c->len -= start;
	return finished;
}

static int lg_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int lg_usage(void)
{
	fprintf(stderr, "usage: loadgen -s SOCKET [-c CONNS] [-n REQUESTS | -d SECONDS] [-p PROFILE]\n");
	return 2;
}

static int lg_args(struct lg *g, int argc, char **argv)
{
	const char *profile = NULL;
	int opt, n;

	g->nconns = 1;
	while ((opt = getopt(argc, argv, "s:c:n:d:p:")) != -1) {
		switch (opt) {
		case 's':
			g->path = optarg;
			break;
		case 'c':
			g->nconns = atoi(optarg);
			break;
		case 'n':
			g->total = atol(optarg);
			break;
		case 'd':
			g->seconds = atof(optarg);
			break;
		case 'p':
			profile = optarg;
			break;
		default:
			return -1;
		}
	}
	if (g->path == NULL || g->nconns < 1 || g->nconns > LOADGEN_MAX_CONNS || g->total < 0 ||
	    g->seconds < 0 || g->seconds > LOADGEN_MAX_SECONDS || (g->total == 0) == (g->seconds == 0))
		return -1;
	if (profile != NULL && strlen(profile) > 64)
		return -1;
	n = snprintf(g->line, sizeof(g->line),
		     "{\"op\":\"run\",%s%s%s\"cmdlet\":\"Get-Mailbox\",\"params\":{\"ResultSize\":1}}\n",
		     profile ? "\"profile\":\"" : "", profile ? profile : "", profile ? "\"," : "");
	if (n < 0 || (size_t)n >= sizeof(g->line))
		return -1;
	g->line_len = (size_t)n;
	return 0;
}

/* Reads what a connection has; -1 when it broke. */
static int lg_read(struct lg *g, struct lg_conn *c, double deadline)
{
	ssize_t n = read(c->fd, c->buf + c->len, LOADGEN_BUF - c->len);
	int finished;

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0) {
		fprintf(stderr, "loadgen: connection closed by exod\n");
		return -1;
	}
	c->len += (size_t)n;
	finished = lg_lines(g, c);
	if (finished == 0 && c->len == LOADGEN_BUF) {
		fprintf(stderr, "loadgen: answer line longer than %d bytes\n", LOADGEN_BUF);
		return -1;
	}
	if (finished == 0)
		return 0;
	if (lg_more(g, deadline))
		return lg_send(g, c);
	close(c->fd);
	c->fd = -1;
	return 0;
}

static int lg_run(struct lg *g, struct lg_conn *conns, struct pollfd *pfd)
{
	double t0 = lg_now(), deadline = t0 + g->seconds;
	int open = 0;

	for (int i = 0; i < g->nconns; i++) {
		conns[i].fd = lg_connect(g->path);
		if (conns[i].fd < 0) {
			perror("loadgen: connect");
			return -1;
		}
		if (!lg_more(g, deadline)) {
			close(conns[i].fd);
			conns[i].fd = -1;
			continue;
		}
		if (lg_send(g, &conns[i]) < 0)
			return -1;
		open++;
	}
	while (open > 0) {
		for (int i = 0; i < g->nconns; i++) {
			pfd[i].fd = conns[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)g->nconns, LOADGEN_POLL_MS) < 0 && errno != EINTR)
			return -1;
		open = 0;
		for (int i = 0; i < g->nconns; i++) {
			if (conns[i].fd >= 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    lg_read(g, &conns[i], deadline) < 0)
				return -1;
			open += conns[i].fd >= 0;
		}
	}
	printf("requests %ld errors %ld seconds %.6f", g->done, g->errors, lg_now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	struct lg g = { 0 };
	struct lg_conn *conns = NULL;
	struct pollfd *pfd = NULL;
	int rc = 1;

	if (lg_args(&g, argc, argv) < 0)
		return lg_usage();
	conns = calloc((size_t)g.nconns, sizeof(*conns));
	pfd = calloc((size_t)g.nconns, sizeof(*pfd));
	g.lat = malloc(LOADGEN_MAX_SAMPLES * sizeof(*g.lat));
	if (conns == NULL || pfd == NULL || g.lat == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		goto out;
	}
	for (int i = 0; i < g.nconns; i++)
		conns[i].fd = -1;
	if (lg_run(&g, conns, pfd) < 0)
		goto out;
	qsort(g.lat, (size_t)g.nlat, sizeof(*g.lat), lg_cmp);
	printf(" p50_us %.1f\n", g.nlat > 0 ? g.lat[g.nlat / 2] * 1e6 : 0.0);
	rc = 0;
out:
	for (int i = 0; conns != NULL && i < g.nconns; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	free(conns);
	free(pfd);
	free(g.lat);
	return rc;
}
