/*
 * The Unix socket: accepts local clients, frames their request lines,
 * checks who they are, dispatches ops, and writes answers back with
 * backpressure.  Knows nothing of curl.
 */
#ifndef EXOD_SERVER_H
#define EXOD_SERVER_H

#include <stddef.h>

struct event_base;
struct conf;
struct profile;
struct http;
struct server;

#define SERVER_HIGH_WATER (256 * 1024)  /* bytes queued to a client before its upstream pauses */
#define SERVER_LOW_WATER (64 * 1024)    /* ... and resumes */
#define SERVER_MAX_PENDING (4 * 65536)  /* bytes of unread requests held per client */

struct server *server_new(struct event_base *base, const struct conf *conf,
			  struct profile *profiles, struct http *http);
void server_free(struct server *s);
/* Binds conf->socket (refusing to replace anything but a stale socket). */
int server_listen(struct server *s, char *err, size_t errlen);
/* Serves an inherited listening socket (systemd socket activation). */
int server_adopt(struct server *s, int fd, char *err, size_t errlen);
/* Reload: serve these profiles from now on (the socket stays as it is). */
void server_set_conf(struct server *s, const struct conf *conf, struct profile *profiles);
/* Stops accepting; requests still running go on, new ones get ShuttingDown. */
void server_drain(struct server *s);
/* Requests still running. */
int server_busy(const struct server *s);

#endif
