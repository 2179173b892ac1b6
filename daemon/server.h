/*
 * The Unix socket: accepts local clients, limits them per user, frames
 * their request lines, checks who they are, dispatches ops, and writes
 * answers back with backpressure.  Knows nothing of curl.
 */
#ifndef EXOD_SERVER_H
#define EXOD_SERVER_H

#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct conf;
struct profile;
struct http;
struct server;
struct conn;

#define SERVER_HIGH_WATER (256 * 1024)  /* bytes of answers queued before a client is not served */
#define SERVER_LOW_WATER (64 * 1024)    /* ... and served again */
#define SERVER_MAX_PENDING (4 * 65536)  /* bytes of unread requests held per client */
#define SERVER_LINES_PER_TURN 16        /* request lines of one client per event-loop turn */
#define SERVER_LINGER_S 5               /* how long a refused client may take to close */
#define SERVER_ACCEPT_PAUSE_MS 250      /* out of descriptors: not accepting for this long */
#define SERVER_LOG_EVERY_S 10           /* repeated refusals are logged at most this often */
#define SERVER_PROGRESS_INTERVAL_MS 250 /* a running request's progress lines, at most this often */

struct server *server_new(struct event_base *base, const struct conf *conf,
			  struct profile *profiles, struct http *http);
void server_free(struct server *s);
/* Binds conf->socket (refusing to replace anything but a stale socket). */
int server_listen(struct server *s, char *err, size_t errlen);
/* Serves an inherited listening socket (systemd socket activation). */
int server_adopt(struct server *s, int fd, char *err, size_t errlen);
/* Reload: serve these profiles and limits from now on (the socket stays as it is). */
void server_set_conf(struct server *s, const struct conf *conf, struct profile *profiles);
/* Stops accepting; requests still running go on, new ones get ShuttingDown. */
void server_drain(struct server *s);
/* Requests still running. */
int server_busy(const struct server *s);
/* The Prometheus text with every profile in it (for metrics_listen); malloc'd, or NULL. */
char *server_prometheus(struct server *s);

/*
 * Serves a client that reads from rfd and writes to wfd (the same
 * accepted socket, or in tests two pipes), with these credentials, as if
 * accepted, limits included: NULL when refused (the fds are then closed).
 */
struct conn *server_conn_open(struct server *s, int rfd, int wfd, uid_t uid, gid_t gid,
			      pid_t pid);
/* The state of a connection, for tests: "idle", "busy", "closing" or "lingering". */
const char *server_conn_state(const struct conn *c);

#endif
