/* Per-profile concurrency cap with a bounded FIFO queue. */
#include "daemon/pool.h"

#include <event2/event.h>
#include <stdlib.h>
#include <sys/queue.h>

struct pool_job {
	struct pool *p;
	pool_run_cb run;
	pool_expire_cb expire;
	void *arg;
	int running;
	struct event *timeout;
	TAILQ_ENTRY(pool_job) entry;
};

struct pool {
	struct event_base *base;
	int max_running;
	int queue_limit;
	int queue_timeout_s;
	int running;
	int queued;
	TAILQ_HEAD(, pool_job) queue;
};

struct pool *pool_new(struct event_base *base, int max_running, int queue_limit,
		      int queue_timeout_s)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->base = base;
	TAILQ_INIT(&p->queue);
	pool_set_limits(p, max_running, queue_limit, queue_timeout_s);
	return p;
}

void pool_free(struct pool *p)
{
	struct pool_job *j;

	if (p == NULL)
		return;
	while ((j = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, j, entry);
		event_free(j->timeout);
		free(j);
	}
	free(p);
}

void pool_set_limits(struct pool *p, int max_running, int queue_limit, int queue_timeout_s)
{
	p->max_running = max_running;
	p->queue_limit = queue_limit;
	p->queue_timeout_s = queue_timeout_s;
}

static void pool_expire_cb_ev(evutil_socket_t fd, short what, void *arg)
{
	struct pool_job *j = arg;
	pool_expire_cb expire = j->expire;
	void *cb_arg = j->arg;

	(void)fd;
	(void)what;
	pool_leave(j);
	expire(cb_arg);
}

struct pool_job *pool_submit(struct pool *p, pool_run_cb run, pool_expire_cb expire,
			     void *arg, int *running)
{
	struct pool_job *j;
	struct timeval tv = { .tv_sec = p->queue_timeout_s };

	*running = 0;
	if (p->running >= p->max_running && p->queued >= p->queue_limit)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->p = p;
	j->run = run;
	j->expire = expire;
	j->arg = arg;
	/* Nobody may overtake those already waiting. */
	if (p->running < p->max_running && TAILQ_EMPTY(&p->queue)) {
		j->running = 1;
		p->running++;
		*running = 1;
		return j;
	}
	j->timeout = evtimer_new(p->base, pool_expire_cb_ev, j);
	if (j->timeout == NULL || evtimer_add(j->timeout, &tv) < 0) {
		if (j->timeout != NULL)
			event_free(j->timeout);
		free(j);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&p->queue, j, entry);
	p->queued++;
	return j;
}

static void pool_run_next(struct pool *p)
{
	struct pool_job *j;

	while (p->running < p->max_running && (j = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, j, entry);
		p->queued--;
		event_free(j->timeout);
		j->timeout = NULL;
		j->running = 1;
		p->running++;
		j->run(j->arg);
	}
}

void pool_leave(struct pool_job *j)
{
	struct pool *p;

	if (j == NULL)
		return;
	p = j->p;
	if (j->running) {
		p->running--;
	} else {
		TAILQ_REMOVE(&p->queue, j, entry);
		p->queued--;
		event_free(j->timeout);
	}
	free(j);
	pool_run_next(p);
}

int pool_running(const struct pool *p) { return p->running; }
int pool_queued(const struct pool *p) { return p->queued; }
int pool_max_running(const struct pool *p) { return p->max_running; }
