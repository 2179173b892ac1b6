/* exod: arguments, configuration, the event loop, signals, systemd, shutdown. */
#include <event2/event.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "daemon/cache.h"
#include "daemon/cluster.h"
#include "daemon/http.h"
#include "daemon/metrics_http.h"
#include "daemon/profile.h"
#include "daemon/server.h"

#define MAIN_DRAIN_TIMEOUT_S 30         /* SIGTERM: how long running requests may finish */
#define MAIN_DRAIN_POLL_MS 50

/* Profiles a reload removed while they still had work, with the settings they use. */
struct retired {
	struct conf *conf;
	struct profile *profiles;
	struct retired *next;
};

struct daemon {
	const char *conf_path;
	struct retired *retired;
	struct event *reaper;
	struct conf *conf;
	struct event_base *base;
	struct http *http;
	struct cluster *cluster;        /* [cluster], or NULL */
	struct profile *profiles;
	struct server *server;
	struct metrics_http *metrics;   /* GET /metrics (metrics_listen), or NULL */
	struct event *sigterm, *sigint, *sighup;
	struct event *drain_timer, *watchdog;
	struct event *log_flush;        /* writes the info lines of one loop pass */
	int draining_ticks;
	char listen_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1]; /* "": exod.conf's */
};

static unsigned long long main_monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

static void main_usage(void)
{
	printf("usage: exod [-c FILE] [-t] [-d]\n"
	       "Keeps signed-in Exchange Online sessions and serves them on a Unix socket.\n"
	       "\n"
	       "  -c, --config FILE  the configuration (default %s)\n"
	       "  -t, --check        check the configuration and load the credentials, then exit\n"
	       "  -d, --debug        log at debug level, whatever log_level says\n"
	       "  -h, --help         print this help and exit\n"
	       "  -V, --version      print the version and exit\n"
	       "\n"
	       "Signals: SIGHUP reloads the configuration, SIGTERM drains and stops.\n"
	       "See exod(8) and exod.conf(5).\n",
	       CONF_DEFAULT_PATH);
}

/* What was wrong has been said (by getopt, or the caller); the exit status of a usage error. */
static int main_usage_error(void)
{
	fputs("Try 'exod --help'.\n", stderr);
	return 2;
}

/* Leaves the options in *path, *check_only and *debug; -1 to go on, else the exit status. */
static int main_options(int argc, char **argv, const char **path, int *check_only, int *debug)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	opterr = 0;     /* said here, as "exod:" rather than as argv[0] */
	while ((opt = getopt_long(argc, argv, ":c:tdhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			*path = optarg;
			break;
		case 't':
			*check_only = 1;
			break;
		case 'd':
			*debug = 1;
			break;
		case 'h':
			main_usage();
			return fflush(stdout) == 0 ? 0 : 1;
		case 'V':
			printf("exod %s\n", EXOD_VERSION);
			return fflush(stdout) == 0 ? 0 : 1;
		case ':':
			fprintf(stderr, "exod: %s needs an argument\n", argv[optind - 1]);
			return main_usage_error();
		default:
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				fprintf(stderr, "exod: bad option '%s'\n", argv[optind - 1]);
			else
				fprintf(stderr, "exod: unknown option '-%c'\n", optopt);
			return main_usage_error();
		}
	}
	if (optind != argc) {
		fprintf(stderr, "exod: unexpected argument '%s'\n", argv[optind]);
		return main_usage_error();
	}
	return -1;
}

static void main_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { 0, MAIN_DRAIN_POLL_MS * 1000 };

	(void)fd;
	(void)what;
	if (server_busy(d->server) == 0 ||
	    ++d->draining_ticks * MAIN_DRAIN_POLL_MS >= MAIN_DRAIN_TIMEOUT_S * 1000) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	evtimer_add(d->drain_timer, &tv);
}

static void main_on_term(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	if (d->drain_timer != NULL)
		return;
	log_info("signal %d: draining %d running requests", (int)sig, server_busy(d->server));
	sd_notify(0, "STOPPING=1\nSTATUS=draining");
	server_drain(d->server);
	d->drain_timer = evtimer_new(d->base, main_drain_tick, d);
	if (d->drain_timer == NULL)
		event_base_loopexit(d->base, NULL);
	else
		main_drain_tick(-1, 0, d);
}

static void main_free_profiles(struct profile *p)
{
	while (p != NULL) {
		struct profile *next = profile_next(p);

		profile_free(p);
		p = next;
	}
}

/* Frees what a reload retired once nothing runs for it any more. */
static void main_reap(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct retired **rp = &d->retired;

	(void)fd;
	(void)what;
	while (*rp != NULL) {
		struct retired *r = *rp;
		int busy = 0;

		for (struct profile *p = r->profiles; p != NULL; p = profile_next(p))
			busy |= profile_busy(p);
		if (busy) {
			rp = &r->next;
			continue;
		}
		*rp = r->next;
		main_free_profiles(r->profiles);
		conf_free(r->conf);
		free(r);
	}
	if (d->retired == NULL)
		event_del(d->reaper);
}

static struct profile *main_take_profile(struct profile **list, const char *name)
{
	struct profile *prev = NULL;

	for (struct profile *p = *list; p != NULL; prev = p, p = profile_next(p)) {
		if (strcmp(profile_name(p), name) != 0)
			continue;
		if (prev == NULL)
			*list = profile_next(p);
		else
			profile_set_next(prev, profile_next(p));
		profile_set_next(p, NULL);
		return p;
	}
	return NULL;
}

/* Every profile's messages name the socket exod listens on. */
static void main_tell_profiles(const struct daemon *d, struct conf *c)
{
	if (d->listen_path[0] == '\0')
		return;
	for (struct conf_profile *cp = c->profiles; cp != NULL; cp = cp->next)
		cp->socket = d->listen_path;
}

/* A list of profiles being built in file order. */
struct main_list {
	struct profile *first, *last;
};

static void main_append(struct main_list *l, struct profile *p)
{
	if (l->last != NULL)
		profile_set_next(l->last, p);
	else
		l->first = p;
	l->last = p;
}

/*
 * SIGHUP: read the file again.  Unchanged profiles keep their token, pool
 * and connections; changed and new ones start afresh; removed ones finish
 * what they run.  A bad file changes nothing.
 */
/* A profile is kept warm over a reload when neither it nor the roles for it changed. */
static int main_profile_same(const struct daemon *d, const struct conf *nc,
			     const struct profile *p, const struct conf_profile *np)
{
	return conf_profile_equal(profile_conf(p), np) &&
	       conf_roles_equal(d->conf, nc, np->name);
}

static char *main_prometheus(void *server)
{
	return server_prometheus(server);
}

static void main_reload(struct daemon *d)
{
	struct conf *nc = NULL;
	struct main_list fresh = { NULL, NULL };
	struct profile *old = d->profiles;
	struct retired *r = NULL;
	char err[1024];
	int kept = 0, started = 0;

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)main_monotonic_usec());
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto failed;
	}
	if (conf_load(d->conf_path, &nc, err, sizeof(err)) < 0)
		goto failed;
	main_tell_profiles(d, nc);
	if (strcmp(nc->socket, d->conf->socket) != 0 || strcmp(nc->state_dir, d->conf->state_dir) != 0 ||
	    nc->socket_mode != d->conf->socket_mode || !conf_cluster_equal(nc->cluster, d->conf->cluster)) {
		snprintf(err, sizeof(err), "socket, socket_mode, state_dir and [cluster] take a restart "
			 "to change");
		goto failed;
	}
	/* New profiles first, so that a failure leaves everything as it was. */
	for (const struct conf_profile *np = nc->profiles; np != NULL; np = np->next) {
		const struct profile *same = NULL;
		struct profile *p;

		for (const struct profile *q = old; q != NULL; q = profile_next(q))
			if (strcmp(profile_name(q), np->name) == 0 && main_profile_same(d, nc, q, np))
				same = q;
		/* Kept warm or not, the file must pass what exod -t would check. */
		if (same != NULL) {
			if (profile_check_paths(np, err, sizeof(err)) < 0)
				goto failed;
			continue;
		}
		p = profile_new(d->base, d->http, np, nc->roles, nc->state_dir, err, sizeof(err));
		if (p == NULL)
			goto failed;
		main_append(&fresh, p);
		if (d->cluster != NULL && profile_join(p, d->cluster, err, sizeof(err)) < 0)
			goto failed;
	}
	if (metrics_http_set(&d->metrics, d->base, nc->metrics_listen, main_prometheus, d->server,
			     err, sizeof(err)) < 0)
		goto failed;
	/* Now the new list, in file order: kept profiles move over, the rest retire. */
	{
		struct main_list list = { NULL, NULL };

		for (const struct conf_profile *np = nc->profiles; np != NULL; np = np->next) {
			struct profile *p = main_take_profile(&old, np->name);

			if (p != NULL && main_profile_same(d, nc, p, np)) {
				profile_set_conf(p, np, nc->state_dir);
				kept++;
			} else {
				if (p != NULL) {
					profile_set_next(p, old);
					old = p;
				}
				p = main_take_profile(&fresh.first, np->name);
				profile_start(p);
				started++;
			}
			main_append(&list, p);
		}
		d->profiles = list.first;
	}
	log_set_level(nc->log_level);
	server_set_conf(d->server, nc, d->profiles);
	{
		struct timeval tv = { 1, 0 };

		r->conf = d->conf;
		r->profiles = old;
		r->next = d->retired;
		d->retired = r;
		event_add(d->reaper, &tv);
	}
	d->conf = nc;
	log_info("reloaded %s: %d profiles kept warm, %d (re)started", d->conf_path, kept, started);
	sd_notifyf(0, "READY=1\nSTATUS=serving %d profiles on %s", nc->nprofiles, nc->socket);
	main_reap(-1, 0, d);
	return;
failed:
	log_err("reload failed, keeping the running configuration: %s", err);
	main_free_profiles(fresh.first);
	conf_free(nc);
	free(r);
	sd_notify(0, "READY=1");
}

static void main_on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	main_reload(arg);
}

static void main_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

/*
 * Every client holds a descriptor: take the hard limit the service manager
 * gives (LimitNOFILE=), not the 1024 soft limit select() once needed.
 */
static void main_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open files limit: %s", strerror(errno));
	}
}

/* libevent's own warnings go through our log, at a priority, instead of raw to stderr. */
static void main_libevent_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_ERR)
		log_err("libevent: %s", msg);
	else if (severity >= EVENT_LOG_WARN)
		log_warn("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

static int main_signals(struct daemon *d)
{
	uint64_t usec = 0;

	signal(SIGPIPE, SIG_IGN);
	d->sigterm = evsignal_new(d->base, SIGTERM, main_on_term, d);
	d->sigint = evsignal_new(d->base, SIGINT, main_on_term, d);
	d->sighup = evsignal_new(d->base, SIGHUP, main_on_hup, d);
	d->reaper = event_new(d->base, -1, EV_PERSIST, main_reap, d);
	if (d->reaper == NULL)
		return -1;
	if (d->sigterm == NULL || d->sigint == NULL || d->sighup == NULL ||
	    evsignal_add(d->sigterm, NULL) < 0 || evsignal_add(d->sigint, NULL) < 0 ||
	    evsignal_add(d->sighup, NULL) < 0)
		return -1;
	if (sd_watchdog_enabled(0, &usec) > 0) {
		/* sd_watchdog_enabled(3): ping at half the interval. */
		struct timeval tv = { (time_t)(usec / 2000000), (suseconds_t)((usec / 2) % 1000000) };

		d->watchdog = event_new(d->base, -1, EV_PERSIST, main_watchdog, d);
		if (d->watchdog == NULL || event_add(d->watchdog, &tv) < 0)
			return -1;
	}
	return 0;
}

static int main_profiles(struct daemon *d, char *err, size_t errlen)
{
	struct main_list list = { NULL, NULL };

	/* Delegated sign-ins persist their refresh token: state_dir must be sound before anything. */
	for (const struct conf_profile *cp = d->conf->profiles; cp != NULL; cp = cp->next)
		if (conf_auth_delegated(cp->auth) &&
		    cache_check_dir(d->conf->state_dir, err, errlen) < 0)
			return -1;

	for (const struct conf_profile *cp = d->conf->profiles; cp != NULL; cp = cp->next) {
		struct profile *p = profile_new(d->base, d->http, cp, d->conf->roles,
						d->conf->state_dir, err, errlen);

		if (p == NULL)
			return -1;
		main_append(&list, p);
		d->profiles = list.first;
		if (d->cluster != NULL && profile_join(p, d->cluster, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/*
 * The commands exod suggests name the socket clients reach it on: the one
 * systemd passed (when it has a path), else exod.conf's.
 */
static void main_passed_path(struct daemon *d, int fd)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	size_t n;

	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len) < 0 || sun.sun_family != AF_UNIX ||
	    len <= offsetof(struct sockaddr_un, sun_path) || sun.sun_path[0] == '\0')
		return;         /* no path (abstract, or not a Unix socket): exod.conf's it is */
	n = strnlen(sun.sun_path, sizeof(sun.sun_path));
	memcpy(d->listen_path, sun.sun_path, n);
	d->listen_path[n] = '\0';
	if (strcmp(d->listen_path, d->conf->socket) != 0)
		log_warn("systemd passed the socket %s, but %s has socket = %s", d->listen_path,
			 d->conf_path, d->conf->socket);
}

static int main_listen(struct daemon *d, char *err, size_t errlen)
{
	int n = sd_listen_fds(1);

	if (n > 1) {
		snprintf(err, errlen, "systemd passed %d sockets; exod takes one", n);
		return -1;
	}
	if (n == 1) {
		log_info("serving the socket systemd passed");
		main_passed_path(d, SD_LISTEN_FDS_START);
		main_tell_profiles(d, d->conf);
		return server_adopt(d->server, SD_LISTEN_FDS_START, err, errlen);
	}
	if (server_listen(d->server, err, errlen) < 0)
		return -1;
	log_info("listening on %s", d->conf->socket);
	return 0;
}

/* metrics_listen: a port that cannot be had is a start-up error, as the socket is. */
static int main_metrics(struct daemon *d, char *err, size_t errlen)
{
	if (d->conf->metrics_listen == NULL)
		return 0;
	d->metrics = metrics_http_new(d->base, d->conf->metrics_listen, main_prometheus, d->server,
				      err, errlen);
	if (d->metrics == NULL)
		return -1;
	log_info("serving metrics on http://%s%s", d->conf->metrics_listen, METRICS_HTTP_PATH);
	return 0;
}

static void main_cleanup(struct daemon *d)
{
	struct profile *p;

	log_batch_to(NULL, NULL);
	metrics_http_free(d->metrics);
	server_free(d->server);
	while ((p = d->profiles) != NULL) {
		d->profiles = profile_next(p);
		profile_free(p);
	}
	while (d->retired != NULL) {
		struct retired *r = d->retired;

		d->retired = r->next;
		main_free_profiles(r->profiles);
		conf_free(r->conf);
		free(r);
	}
	cluster_free(d->cluster);
	if (d->reaper != NULL)
		event_free(d->reaper);
	http_free(d->http);
	if (d->sigterm != NULL)
		event_free(d->sigterm);
	if (d->sigint != NULL)
		event_free(d->sigint);
	if (d->sighup != NULL)
		event_free(d->sighup);
	if (d->drain_timer != NULL)
		event_free(d->drain_timer);
	if (d->watchdog != NULL)
		event_free(d->watchdog);
	if (d->log_flush != NULL)
		event_free(d->log_flush);
	if (d->base != NULL)
		event_base_free(d->base);
	conf_free(d->conf);
}

static void main_log_kick(void *arg)
{
	/* Run after the callbacks already due in this pass, whose lines join the batch. */
	event_active(arg, EV_TIMEOUT, 1);
}

static void main_log_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_flush();
}

/*
 * The event loop.  libcurl stops watching a kept-alive connection after
 * each transfer and watches it again for the next, for reading once the
 * request is out: epoll's change list folds those into one epoll_ctl, or
 * none, per loop turn instead of three a request.  (Its caveat, a file
 * descriptor dup'ed under epoll, does not apply: exod never dups one it
 * watches.)
 */
static struct event_base *main_event_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	const char *path = CONF_DEFAULT_PATH;
	char err[1024];
	int check_only = 0, debug = 0, rc;

	if ((rc = main_options(argc, argv, &path, &check_only, &debug)) >= 0)
		return rc;
	rc = 1;
	/* Tokens and keys live in this process: keep them out of core dumps and ptrace. */
	prctl(PR_SET_DUMPABLE, 0);
	d.conf_path = path;
	if (conf_load(path, &d.conf, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return 1;
	}
	log_set_level(debug ? LOG_DEBUG : d.conf->log_level);
	main_raise_nofile();
	event_set_log_callback(main_libevent_log);
	if (http_global_init() < 0) {
		log_err("cannot initialise libcurl");
		goto out;
	}
	d.base = main_event_base();
	d.http = d.base != NULL ? http_new(d.base) : NULL;
	d.log_flush = d.base != NULL ? event_new(d.base, -1, 0, main_log_flush_cb, NULL) : NULL;
	if (d.http == NULL || d.log_flush == NULL) {
		log_err("cannot set up the event loop");
		goto out;
	}
	if (d.conf->cluster != NULL &&
	    (d.cluster = cluster_new(d.base, d.conf->cluster, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		goto out;
	}
	if (main_profiles(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	if (check_only) {
		printf("%s: configuration and credentials OK (%d profiles)\n", path, d.conf->nprofiles);
		rc = 0;
		goto out;
	}
	d.server = server_new(d.base, d.conf, d.profiles, d.http);
	if (d.server == NULL || main_signals(&d) < 0) {
		log_err("cannot set up the server");
		goto out;
	}
	if (main_listen(&d, err, sizeof(err)) < 0 || main_metrics(&d, err, sizeof(err)) < 0) {
		log_err("%s", err);
		goto out;
	}
	if (d.cluster != NULL)
		cluster_start(d.cluster);
	for (struct profile *p = d.profiles; p != NULL; p = profile_next(p))
		profile_start(p);
	/* One write for the log lines of a loop pass, not one a request. */
	log_batch_to(main_log_kick, d.log_flush);
	sd_notifyf(0, "READY=1\nSTATUS=serving %d profiles on %s", d.conf->nprofiles, d.conf->socket);
	log_info("exod %s ready: %d profiles", EXOD_VERSION, d.conf->nprofiles);
	event_base_dispatch(d.base);
	log_info("exod stopped");
	rc = 0;
out:
	main_cleanup(&d);
	http_global_cleanup();
	return rc;
}
