/*
 * exoctl login --browser: PKCE, the loopback listener and the redirect's
 * parser (see browser.h).  The listener is input from the network, if
 * only from this machine: every request is bounded, read without
 * blocking the others, and anything but the one redirect is refused.
 */
#include "client/browser.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/dl.h"
#include "client/output.h"
#include "common/sbuf.h"
#include "common/utf8.h"
#include "common/wire.h"

/* libcrypto is loaded at first use: linked, it would cost every exoctl run its start-up. */
#define BROWSER_CRYPTO_SONAME "libcrypto.so.3"
#define BROWSER_CRYPTO_PACKAGE "libssl3"
#define BROWSER_SHA256_LEN 32
#define BROWSER_B64_ROOM 64             /* base64 of up to 45 bytes, padding and NUL */
#define BROWSER_MAX_PAGE 8192           /* bytes of a page's body */
#define BROWSER_MAX_SHOWN 2048          /* bytes of escaped text on a page */
#define BROWSER_MAX_NAME 45             /* an IPv6 address's text, or a user name shown */
#define BROWSER_URL_UNRESERVED \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

extern char **environ;

static struct {
	unsigned char *(*sha256)(const unsigned char *d, size_t n, unsigned char *md);
	int (*encode_block)(unsigned char *t, const unsigned char *f, int n);
} browser_crypto;

static const struct dl_sym browser_crypto_syms[] = {
	{ "SHA256", &browser_crypto.sha256 },
	{ "EVP_EncodeBlock", &browser_crypto.encode_block },
};

/* The query parameters the redirect may carry that exoctl reads; others are passed over. */
enum browser_param { BP_CODE, BP_STATE, BP_ERROR, BP_DESCRIPTION, BP_OTHER };

static const struct {
	const char *name;
	size_t max;
} browser_params[] = {
	[BP_CODE] = { "code", BROWSER_MAX_CODE },
	[BP_STATE] = { "state", BROWSER_MAX_STATE },
	[BP_ERROR] = { "error", BROWSER_MAX_ERROR },
	[BP_DESCRIPTION] = { "error_description", BROWSER_MAX_DESCRIPTION },
	[BP_OTHER] = { NULL, BROWSER_MAX_HEAD },
};

/* --- the redirect's request line ------------------------------------------ */

static int browser_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A control byte a decoded value may not hold; lines: tabs and line ends are text there. */
static int browser_control(int c, int lines)
{
	if (lines && (c == '\t' || c == '\r' || c == '\n'))
		return 0;
	return c < 0x20 || c == 0x7f;
}

/*
 * Decodes a query component s[0..n) ('+' a space, %XX a byte) into out,
 * at most max bytes (out NULL: only checked); -1 when malformed, longer,
 * or when it holds a control byte.  Returns the decoded length.
 */
static long browser_decode(const char *s, size_t n, char *out, size_t max, int lines)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi = n - i >= 3 ? browser_hex((unsigned char)s[i + 1]) : -1;
			int lo = n - i >= 3 ? browser_hex((unsigned char)s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (browser_control(c, lines) || o >= max)
			return -1;
		if (out != NULL)
			out[o] = (char)c;
		o++;
	}
	return (long)o;
}

/* 1 when s[0..n) is printable ASCII without spaces, as codes, states and error words are. */
static int browser_token_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static enum browser_param browser_param_kind(const char *name, size_t n)
{
	for (int k = BP_CODE; k < BP_OTHER; k++)
		if (strlen(browser_params[k].name) == n && memcmp(browser_params[k].name, name, n) == 0)
			return (enum browser_param)k;
	return BP_OTHER;
}

/* Entra's first line says it; trace, correlation and time stamp lines follow.  Tabs: spaces. */
static size_t browser_first_line(char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\r' || v[i] == '\n')
			return i;
		if (v[i] == '\t')
			v[i] = ' ';
	}
	return n;
}

/* Stores one decoded value of a parameter exoctl reads; -1 when it is not fit for it. */
static int browser_store(enum browser_param k, char *v, size_t n, struct browser_redirect *out)
{
	char *field = k == BP_STATE ? out->state : k == BP_ERROR ? out->error : out->description;

	if (k == BP_DESCRIPTION ? !utf8_valid(v, n) : !browser_token_text(v, n))
		return -1;
	if (k == BP_DESCRIPTION)
		n = browser_first_line(v, n);
	/* An empty code or error would be taken for the other: neither is one. */
	if ((k == BP_CODE || k == BP_ERROR) && n == 0)
		return -1;
	if (k == BP_CODE)
		return (out->code = sbuf_dup(v, n)) != NULL ? 0 : -1;
	memcpy(field, v, n);
	field[n] = '\0';
	return 0;
}

/* One "name=value" of the query; -1 when malformed or a parameter exoctl reads comes twice. */
static int browser_take_param(const char *s, size_t n, struct browser_redirect *out,
			      unsigned *seen)
{
	char value[BROWSER_MAX_CODE];   /* the code is a secret: wiped below */
	const char *eq = memchr(s, '=', n);
	size_t name_len = eq != NULL ? (size_t)(eq - s) : n;
	const char *v = eq != NULL ? eq + 1 : s + n;
	size_t vlen = (size_t)(s + n - v);
	enum browser_param k = browser_param_kind(s, name_len);
	long len;
	int rc = -1;

	if (k != BP_OTHER && (*seen & (1u << k)))
		return -1;
	len = browser_decode(v, vlen, k == BP_OTHER ? NULL : value, browser_params[k].max,
			     k == BP_DESCRIPTION || k == BP_OTHER);
	if (len >= 0 && (k == BP_OTHER || browser_store(k, value, (size_t)len, out) == 0)) {
		*seen |= 1u << k;
		rc = 0;
	}
	/* A value never decodes longer than it was written, and a failed one stopped short. */
	if (k != BP_OTHER)
		sbuf_wipe(value, vlen < sizeof(value) ? vlen : sizeof(value));
	return rc;
}

static enum browser_request browser_parse_query(const char *q, size_t n,
						struct browser_redirect *out)
{
	const char *end = q + n, *p = q;
	unsigned seen = 0;
	int params = 0;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp != NULL ? amp : end;

		if (stop > p && (++params > BROWSER_MAX_PARAMS ||
				 browser_take_param(p, (size_t)(stop - p), out, &seen) < 0))
			return BROWSER_REQ_BAD;
		p = stop + 1;
	}
	if (seen & (1u << BP_ERROR))
		return BROWSER_REQ_ERROR;
	return (seen & (1u << BP_CODE)) ? BROWSER_REQ_CODE : BROWSER_REQ_BAD;
}

/* "GET /?query HTTP/1.x": the request target's query, or what else the line is. */
static enum browser_request browser_parse_line(const char *line, size_t n,
					       struct browser_redirect *out)
{
	const char *target = line + 4, *sp, *q;
	size_t tlen, vlen;

	if (n < 4 || memcmp(line, "GET ", 4) != 0 ||
	    (sp = memchr(target, ' ', n - 4)) == NULL)
		return BROWSER_REQ_BAD;
	tlen = (size_t)(sp - target);
	vlen = n - 4 - tlen - 1;
	if (vlen != 8 || (memcmp(sp + 1, "HTTP/1.1", 8) != 0 && memcmp(sp + 1, "HTTP/1.0", 8) != 0))
		return BROWSER_REQ_BAD;
	if (tlen == 0 || target[0] != '/' || !browser_token_text(target, tlen))
		return BROWSER_REQ_BAD;
	q = memchr(target, '?', tlen);
	if ((q != NULL ? (size_t)(q - target) : tlen) != 1)
		return BROWSER_REQ_NOT_FOUND;
	if (q == NULL)
		return BROWSER_REQ_BAD;
	return browser_parse_query(q + 1, (size_t)(target + tlen - q - 1), out);
}

enum browser_request browser_parse_request(const char *head, size_t len,
					   struct browser_redirect *out)
{
	const char *nl = memchr(head, '\n', len);
	size_t n;
	enum browser_request kind;

	memset(out, 0, sizeof(*out));
	if (nl == NULL)
		return BROWSER_REQ_BAD;
	n = (size_t)(nl - head);
	if (n > 0 && head[n - 1] == '\r')
		n--;
	kind = browser_parse_line(head, n, out);
	if (kind != BROWSER_REQ_CODE && kind != BROWSER_REQ_ERROR)
		browser_redirect_clear(out);
	return kind;
}

void browser_redirect_clear(struct browser_redirect *r)
{
	sbuf_free(r->code);
	memset(r, 0, sizeof(*r));
}

int browser_head_complete(const char *buf, size_t len)
{
	return memmem(buf, len, "\r\n\r\n", 4) != NULL || memmem(buf, len, "\n\n", 2) != NULL;
}

int browser_state_equal(const char *ours, const char *theirs)
{
	size_t n = strlen(ours);
	volatile unsigned char diff = 0;

	/* Our state's length is no secret; its characters are, until they arrive. */
	if (strnlen(theirs, n + 1) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(ours[i] ^ theirs[i]);
	return diff == 0;
}

/* --- PKCE -------------------------------------------------------------------- */

static int browser_crypto_load(char *err, size_t errlen)
{
	if (browser_crypto.sha256 != NULL)
		return 0;
	return dl_load(BROWSER_CRYPTO_SONAME, BROWSER_CRYPTO_PACKAGE, browser_crypto_syms,
			     sizeof(browser_crypto_syms) / sizeof(browser_crypto_syms[0]), err,
			     errlen);
}

/* base64url without padding of in[0..n) (n at most 45) into out[BROWSER_B64_ROOM]. */
static size_t browser_b64url(const unsigned char *in, size_t n, char out[BROWSER_B64_ROOM])
{
	int len = browser_crypto.encode_block((unsigned char *)out, in, (int)n);

	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (int i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return (size_t)len;
}

static int browser_random(unsigned char *buf, size_t n, char *err, size_t errlen)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int browser_pkce_challenge(const char *verifier, size_t len, char out[BROWSER_CHALLENGE_LEN + 1],
			   char *err, size_t errlen)
{
	unsigned char md[BROWSER_SHA256_LEN];
	char enc[BROWSER_B64_ROOM];

	if (browser_crypto_load(err, errlen) < 0)
		return -1;
	browser_crypto.sha256((const unsigned char *)verifier, len, md);
	browser_b64url(md, sizeof(md), enc);
	memcpy(out, enc, BROWSER_CHALLENGE_LEN);
	out[BROWSER_CHALLENGE_LEN] = '\0';
	return 0;
}

int browser_pkce_new(struct browser_pkce *p, char *err, size_t errlen)
{
	unsigned char raw[BROWSER_VERIFIER_BYTES];
	char enc[BROWSER_B64_ROOM];
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (browser_crypto_load(err, errlen) < 0 || browser_random(raw, sizeof(raw), err, errlen) < 0)
		goto out;
	browser_b64url(raw, sizeof(raw), enc);
	if ((p->verifier = sbuf_dup(enc, BROWSER_VERIFIER_LEN)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (browser_pkce_challenge(enc, BROWSER_VERIFIER_LEN, p->challenge, err, errlen) < 0 ||
	    browser_random(raw, BROWSER_STATE_BYTES, err, errlen) < 0)
		goto out;
	browser_b64url(raw, BROWSER_STATE_BYTES, enc);
	memcpy(p->state, enc, BROWSER_STATE_LEN);
	p->state[BROWSER_STATE_LEN] = '\0';
	rc = 0;
out:
	sbuf_wipe(raw, sizeof(raw));
	sbuf_wipe(enc, sizeof(enc));
	if (rc < 0)
		browser_pkce_clear(p);
	return rc;
}

void browser_pkce_clear(struct browser_pkce *p)
{
	sbuf_free(p->verifier);
	memset(p, 0, sizeof(*p));
}

/* --- the listener ---------------------------------------------------------------- */

struct browser_peer {
	int fd;                         /* -1: a free slot */
	size_t len;
	long long deadline;             /* browser_now_ms() by which its head must be in */
	char buf[BROWSER_MAX_HEAD];     /* may hold the code: wiped when let go */
};

struct browser_wait {
	int lfd;
	int port;
	const char *state;
	long long deadline;
	struct browser_peer *peers;     /* BROWSER_MAX_PEERS */
};

static long long browser_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int browser_listen(struct browser_wait *w, int port, char *err, size_t errlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	int one = 1;

	w->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (w->lfd < 0 || setsockopt(w->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(w->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(w->lfd, BROWSER_MAX_PEERS) < 0 ||
	    getsockname(w->lfd, (struct sockaddr *)&sa, &salen) < 0) {
		snprintf(err, errlen, "cannot listen on 127.0.0.1:%d: %s", port, strerror(errno));
		return -1;
	}
	w->port = ntohs(sa.sin_port);
	return 0;
}

static void browser_peer_close(struct browser_peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	sbuf_wipe(p->buf, p->len);
	p->fd = -1;
	p->len = 0;
}

/* Closes the listener and every connection: after the redirect, nothing more is taken. */
static void browser_wait_close(struct browser_wait *w)
{
	if (w->lfd >= 0)
		close(w->lfd);
	w->lfd = -1;
	for (int i = 0; w->peers != NULL && i < BROWSER_MAX_PEERS; i++)
		browser_peer_close(&w->peers[i]);
	free(w->peers);
	w->peers = NULL;
}

static int browser_send_all(int fd, const char *buf, size_t len)
{
	long long deadline = browser_now_ms() + BROWSER_PEER_TIMEOUT_MS;
	size_t off = 0;

	while (off < len) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		long long left = deadline - browser_now_ms();

		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR) && left > 0) {
			poll(&pf, 1, (int)left);
		} else {
			return -1;
		}
	}
	return 0;
}

/* The text as HTML, in out[cap]: it may come from the network. */
static void browser_html(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s != '\0'; s++) {
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" :
				  *s == '"' ? "&quot;" : *s == '\'' ? "&#39;" : NULL;
		size_t n = rep != NULL ? strlen(rep) : 1;

		if (o + n >= cap)
			break;
		memcpy(out + o, rep != NULL ? rep : s, n);
		o += n;
	}
	out[o] = '\0';
}

/* A small page; text is plain text, escaped here. */
static void browser_respond(int fd, int status, const char *title, const char *text)
{
	static const char *const reasons[] = { [0] = "OK", [1] = "Bad Request", [2] = "Not Found" };
	char head[512], body[BROWSER_MAX_PAGE], shown[BROWSER_MAX_SHOWN], esc_title[128];
	int blen, hlen;

	browser_html(title, esc_title, sizeof(esc_title));
	browser_html(text, shown, sizeof(shown));
	blen = snprintf(body, sizeof(body),
			"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>"
			"<body><h1>%s</h1><p>%s</p></body></html>\n", esc_title, esc_title, shown);
	hlen = snprintf(head, sizeof(head),
			"HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
			"Content-Length: %d\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n"
			"Content-Security-Policy: default-src 'none'\r\nX-Content-Type-Options: nosniff\r\n"
			"Connection: close\r\n\r\n", status,
			reasons[status == 200 ? 0 : status == 404 ? 2 : 1], blen);
	if (browser_send_all(fd, head, (size_t)hlen) == 0)
		browser_send_all(fd, body, (size_t)blen);
	shutdown(fd, SHUT_WR);
}

static void browser_accept(struct browser_wait *w, long long now)
{
	int fd = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (int i = 0; i < BROWSER_MAX_PEERS; i++) {
		if (w->peers[i].fd < 0) {
			w->peers[i].fd = fd;
			w->peers[i].len = 0;
			w->peers[i].deadline = now + BROWSER_PEER_TIMEOUT_MS;
			return;
		}
	}
	close(fd);      /* all slots taken: the browser tries again */
}

/* A request head is in: 1 when it is the redirect with our state (r then holds it). */
static int browser_peer_handle(struct browser_wait *w, struct browser_peer *p,
			       struct browser_redirect *r)
{
	enum browser_request kind = browser_parse_request(p->buf, p->len, r);

	if (kind == BROWSER_REQ_NOT_FOUND) {
		browser_respond(p->fd, 404, "Not found",
				"exoctl waits here for the answer of a sign-in only.");
	} else if (kind == BROWSER_REQ_BAD) {
		browser_respond(p->fd, 400, "Bad request",
				"exoctl waits here for the answer of a sign-in only.");
	} else if (!browser_state_equal(w->state, r->state)) {
		fputs("exoctl: refused an answer that is not for this sign-in (its state does not "
		      "match); still waiting\n", stderr);
		browser_respond(p->fd, 400, "Not for this sign-in",
				"This answer does not belong to the sign-in exoctl is waiting for (its "
				"state does not match), so it was refused. exoctl keeps waiting.");
		browser_redirect_clear(r);
	} else {
		return 1;
	}
	browser_peer_close(p);
	return 0;
}

/* Reads what a connection sent; 1 when it brought the redirect. */
static int browser_peer_read(struct browser_wait *w, struct browser_peer *p,
			     struct browser_redirect *r)
{
	ssize_t n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		browser_peer_close(p);
		return 0;
	}
	p->len += (size_t)n;
	if (browser_head_complete(p->buf, p->len))
		return browser_peer_handle(w, p, r);
	if (p->len == sizeof(p->buf)) {
		browser_respond(p->fd, 400, "Bad request", "The request is too large.");
		browser_peer_close(p);
	}
	return 0;
}

/* Milliseconds poll may sleep: until the overall deadline or the first connection's. */
static int browser_poll_ms(const struct browser_wait *w, long long now)
{
	long long until = w->deadline;

	for (int i = 0; i < BROWSER_MAX_PEERS; i++)
		if (w->peers[i].fd >= 0 && w->peers[i].deadline < until)
			until = w->peers[i].deadline;
	return until > now ? (int)(until - now) : 0;
}

/* One turn: poll, then accept, read and expire; 1 with the redirect, -1 on error. */
static int browser_turn(struct browser_wait *w, struct browser_redirect *r, int *fd_out)
{
	struct pollfd pf[BROWSER_MAX_PEERS + 1] = { { .fd = w->lfd, .events = POLLIN } };
	long long now = browser_now_ms();

	for (int i = 0; i < BROWSER_MAX_PEERS; i++)
		pf[i + 1] = (struct pollfd){ .fd = w->peers[i].fd, .events = POLLIN };
	if (poll(pf, BROWSER_MAX_PEERS + 1, browser_poll_ms(w, now)) < 0)
		return errno == EINTR ? 0 : -1;
	now = browser_now_ms();
	for (int i = 0; i < BROWSER_MAX_PEERS; i++) {
		struct browser_peer *p = &w->peers[i];

		if (p->fd < 0)
			continue;
		if (pf[i + 1].revents != 0 && pf[i + 1].fd == p->fd && browser_peer_read(w, p, r)) {
			*fd_out = p->fd;
			p->fd = -1;     /* taken: browser_wait_close leaves it open */
			browser_peer_close(p);
			return 1;
		}
		if (p->fd >= 0 && now >= p->deadline)
			browser_peer_close(p);
	}
	if (pf[0].revents & POLLIN)
		browser_accept(w, now);
	return 0;
}

/* 1 with the redirect (its connection in *fd_out), 0 when the time ran out, -1 on error. */
static int browser_wait_redirect(struct browser_wait *w, struct browser_redirect *r, int *fd_out)
{
	while (browser_now_ms() < w->deadline) {
		int rc = browser_turn(w, r, fd_out);

		if (rc != 0)
			return rc;
	}
	return 0;
}

/* --- the sign-in ------------------------------------------------------------------ */

static int browser_url_ok(const char *url)
{
	size_t len = strnlen(url, BROWSER_MAX_URL + 1);

	return len <= BROWSER_MAX_URL && strncmp(url, "https://", 8) == 0 &&
	       browser_token_text(url, len);
}

/* The authorize URL with exoctl's part: redirect_uri, state, the challenge. */
static char *browser_full_url(const char *base, const char *redirect_uri,
			      const struct browser_pkce *p)
{
	char enc[3 * 64 + 1];
	size_t o = 0;
	char *url;

	for (const char *c = redirect_uri; *c != '\0' && o + 4 < sizeof(enc); c++)
		o += (size_t)(strchr(BROWSER_URL_UNRESERVED, *c) != NULL ?
			      snprintf(enc + o, sizeof(enc) - o, "%c", *c) :
			      snprintf(enc + o, sizeof(enc) - o, "%%%02X", (unsigned char)*c));
	enc[o] = '\0';
	if (asprintf(&url, "%s%sredirect_uri=%s&state=%s&code_challenge=%s"
		     "&code_challenge_method=S256", base, strchr(base, '?') != NULL ? "&" : "?",
		     enc, p->state, p->challenge) < 0)
		return NULL;
	return url;
}

/* s when it is plain enough to paste into a shell command, else fallback. */
static const char *browser_plain(const char *s, const char *allowed, const char *fallback)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= BROWSER_MAX_NAME &&
	       s[strspn(s, allowed)] == '\0' ? s : fallback;
}

/* Over SSH the browser may be on another machine: how to bring the port there. */
static void browser_ssh_hint(int port)
{
	const char *conn = getenv("SSH_CONNECTION");
	const struct passwd *pw = getpwuid(getuid());
	char host[BROWSER_MAX_NAME + 1] = "";

	if (conn == NULL || conn[0] == '\0')
		return;
	/* "client_ip client_port server_ip server_port": this machine as the client reached it. */
	if (sscanf(conn, "%*s %*s %45s", host) != 1)
		host[0] = '\0';
	fprintf(stderr, "This is an SSH session: if the browser runs on your own machine, forward "
		"the port first, from there:\n  ssh -L %d:localhost:%d %s@%s\n", port, port,
		browser_plain(pw != NULL ? pw->pw_name : NULL,
			      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			      "USER"),
		browser_plain(host, "0123456789abcdefABCDEF.:", "HOST"));
}

/* xdg-open, when a desktop is there to show a browser; the child's pid, or -1. */
static pid_t browser_open(const char *url, const struct browser_options *o)
{
	const char *x11 = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
	char *argv[] = { "xdg-open", (char *)url, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;
	int rc;

	if (o->no_open || ((x11 == NULL || x11[0] == '\0') && (wl == NULL || wl[0] == '\0')))
		return -1;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	/* Its chatter (and a browser's) stays off the terminal exoctl writes to. */
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	for (int out = 1; rc == 0 && out <= 2; out++)
		rc = posix_spawn_file_actions_addopen(&fa, out, "/dev/null", O_WRONLY, 0);
	if (rc == 0)
		rc = posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;      /* no xdg-open: the address above is there to open by hand */
	fputs("Opening it in your browser (xdg-open).\n", stderr);
	return pid;
}

static void browser_instructions(const char *url, const char *redirect_uri, int port, long secs)
{
	fprintf(stderr, "To sign in, open this address in a browser; exoctl waits %ld s for the "
		"answer at %s:\n", secs, redirect_uri);
	output_put_text(stderr, url);
	fputc('\n', stderr);
	browser_ssh_hint(port);
	fflush(stderr);
}

/* The sign-in's error, as the redirect said it: on the terminal and in the browser. */
static int browser_refused(int fd, const struct browser_redirect *r)
{
	char text[BROWSER_MAX_ERROR + BROWSER_MAX_DESCRIPTION + 64];

	snprintf(text, sizeof(text), "%s%s%s", r->error, r->description[0] != '\0' ? ": " : "",
		 r->description);
	fputs("exoctl: the sign-in failed: ", stderr);
	output_put_text(stderr, text);
	fputc('\n', stderr);
	browser_respond(fd, 200, "Sign-in failed", text);
	return wire_error_exit_status(wire_error_code(WIRE_E_AUTH_FAILED));
}

static int browser_redeem(int fd, const struct browser_redirect *r, const struct browser_pkce *p,
			  const char *redirect_uri, browser_redeem_fn redeem, void *arg)
{
	char who[256] = "", why[512] = "", text[1024];
	int rc = redeem(arg, r->code, p->verifier, redirect_uri, who, sizeof(who), why, sizeof(why));

	if (rc == 0) {
		snprintf(text, sizeof(text), "exoctl signed you in%s%s. You can close this window.",
			 who[0] != '\0' ? " as " : "", who);
		browser_respond(fd, 200, "Signed in", text);
	} else {
		snprintf(text, sizeof(text), "%s. The terminal where exoctl runs says more.",
			 why[0] != '\0' ? why : "exod did not take the sign-in");
		browser_respond(fd, 200, "Sign-in failed", text);
	}
	return rc;
}

/* After the listener is up: instructions, the wait, and what the redirect brought. */
static int browser_run(struct browser_wait *w, const char *authorize_url,
		       const struct browser_options *o, const struct browser_pkce *p,
		       browser_redeem_fn redeem, void *arg)
{
	struct browser_redirect r = { 0 };
	char redirect_uri[64];
	char *url;
	pid_t opener;
	int fd = -1, got, rc;

	snprintf(redirect_uri, sizeof(redirect_uri), "http://localhost:%d", w->port);
	if ((url = browser_full_url(authorize_url, redirect_uri, p)) == NULL) {
		fputs("exoctl: out of memory\n", stderr);
		return EXIT_FAILURE;
	}
	browser_instructions(url, redirect_uri, w->port, o->timeout_s);
	opener = browser_open(url, o);
	free(url);
	got = browser_wait_redirect(w, &r, &fd);
	browser_wait_close(w);
	if (got == 0) {
		fprintf(stderr, "exoctl: no sign-in answer came within %ld s; run exoctl login "
			"again\n", o->timeout_s);
		rc = wire_error_exit_status(wire_error_code(WIRE_E_AUTH_FAILED));
	} else if (got < 0) {
		fprintf(stderr, "exoctl: waiting for the sign-in: %s\n", strerror(errno));
		rc = EXIT_FAILURE;
	} else if (r.error[0] != '\0' || r.code == NULL) {
		rc = browser_refused(fd, &r);
	} else {
		rc = browser_redeem(fd, &r, p, redirect_uri, redeem, arg);
	}
	if (fd >= 0)
		close(fd);
	browser_redirect_clear(&r);
	if (opener > 0)
		waitpid(opener, NULL, WNOHANG);
	return rc;
}

int browser_sign_in(const char *authorize_url, const struct browser_options *o,
		    browser_redeem_fn redeem, void *arg)
{
	struct browser_wait w = { .lfd = -1 };
	struct browser_pkce p;
	char err[256];
	int rc = EXIT_FAILURE;

	if (!browser_url_ok(authorize_url)) {
		fputs("exoctl: exod's authorize URL is not an https URL\n", stderr);
		return EXIT_FAILURE;
	}
	if (browser_pkce_new(&p, err, sizeof(err)) < 0) {
		fprintf(stderr, "exoctl: %s\n", err);
		return EXIT_FAILURE;
	}
	w.state = p.state;
	w.deadline = browser_now_ms() + o->timeout_s * 1000LL;
	if ((w.peers = calloc(BROWSER_MAX_PEERS, sizeof(*w.peers))) == NULL) {
		fputs("exoctl: out of memory\n", stderr);
		goto out;
	}
	for (int i = 0; i < BROWSER_MAX_PEERS; i++)
		w.peers[i].fd = -1;
	if (browser_listen(&w, o->port, err, sizeof(err)) < 0) {
		fprintf(stderr, "exoctl: %s\n", err);
		goto out;
	}
	rc = browser_run(&w, authorize_url, o, &p, redeem, arg);
out:
	browser_wait_close(&w);
	browser_pkce_clear(&p);
	return rc;
}
