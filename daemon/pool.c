/* Per-profile concurrency cap with a bounded FIFO queue. */
#include "daemon/pool.h"

#include <assert.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "daemon/clock.h"

enum pool_state {
	POOL_QUEUED,                    /* waiting for a slot, on p->queue */
	POOL_GRANTED,                   /* holds a slot; run not yet called, on p->granted */
	POOL_RUNNING,                   /* holds a slot; run was called */
};

struct pool_job {
	struct pool *p;
	enum pool_state state;
	pool_run_cb run;
	pool_expire_cb expire;
	pool_ahead_cb ahead;            /* watches its place in the queue; NULL: nobody */
	void *arg;
	int told;                       /* the jobs ahead last told to ahead; -1: none yet */
	int gated;                      /* holds a slot the gate opened: done when it leaves */
	long long deadline;             /* clock_ms() when a queued job gives up */
	TAILQ_ENTRY(pool_job) entry;
};

TAILQ_HEAD(pool_list, pool_job);

struct pool {
	struct event_base *base;
	int max_running;
	int queue_limit;
	int queue_timeout_s;
	int running;                    /* slots held: granted + running */
	int queued;
	struct pool_list queue;
	struct pool_list granted;
	struct event *handover;         /* calls run for granted jobs */
	struct event *timer;            /* the earliest queue deadline */
	struct event *moved;            /* tells watched jobs their new place in the queue */
	unsigned long changes;          /* bumps when a job leaves the queue or is watched */
	int watched;                    /* queued jobs with a watcher */
	struct pool_gate gate;          /* gate.want NULL: no gate */
	int gate_open;                  /* slots the gate opened that no job has taken yet */
	int gate_asked;                 /* a want is unanswered */
};

/* The queue changed: watched jobs hear their new place from the loop (if there are any). */
static void pool_moved(struct pool *p)
{
	p->changes++;
	if (p->watched > 0)
		event_active(p->moved, EV_TIMEOUT, 0);
}

/* Takes a job out of the queue; those behind it move up. */
static void pool_dequeue(struct pool *p, struct pool_job *j)
{
	TAILQ_REMOVE(&p->queue, j, entry);
	p->queued--;
	if (j->ahead != NULL)
		p->watched--;
	pool_moved(p);
}

static void pool_set_state(struct pool_job *j, enum pool_state to)
{
	struct pool *p = j->p;

	/* A job moves forward only: queued, granted, running. */
	assert(to == (enum pool_state)(j->state + 1));
	if (j->state == POOL_QUEUED) {
		pool_dequeue(p, j);
		p->running++;
		TAILQ_INSERT_TAIL(&p->granted, j, entry);
	} else {
		TAILQ_REMOVE(&p->granted, j, entry);
	}
	j->state = to;
	assert(p->running <= p->max_running || to == POOL_RUNNING);
}

static void pool_arm(struct pool *p)
{
	struct pool_job *j;
	long long first = -1;
	struct timeval tv;

	TAILQ_FOREACH(j, &p->queue, entry)
		if (first < 0 || j->deadline < first)
			first = j->deadline;
	if (first < 0) {
		evtimer_del(p->timer);
		return;
	}
	tv = clock_tv(first - clock_ms());
	evtimer_add(p->timer, &tv);
}

/* 1 when the gate lets one more job run (or there is none); else it is asked, once. */
static int pool_gate_take(struct pool *p)
{
	if (p->gate.want == NULL)
		return 1;
	if (p->gate_open > 0) {
		p->gate_open--;
		return 1;
	}
	if (!p->gate_asked) {
		p->gate_asked = 1;
		p->gate.want(p->gate.arg);
	}
	return 0;
}

/* Grants free slots to the jobs at the head of the queue; they run from the loop. */
static void pool_grant(struct pool *p)
{
	struct pool_job *j;
	int granted = 0;

	while (p->running < p->max_running && (j = TAILQ_FIRST(&p->queue)) != NULL &&
	       pool_gate_take(p)) {
		j->gated = p->gate.want != NULL;
		pool_set_state(j, POOL_GRANTED);
		granted = 1;
	}
	/* A shared slot nobody here can use goes back at once, for the other hosts. */
	while (p->gate_open > 0 && (TAILQ_EMPTY(&p->queue) || p->running >= p->max_running)) {
		p->gate_open--;
		p->gate.done(p->gate.arg);
	}
	if (granted) {
		event_active(p->handover, EV_TIMEOUT, 0);
		pool_arm(p);
	}
}

static void pool_handover(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	struct pool_job *j;

	(void)fd;
	(void)what;
	/* One at a time: a run may leave the pool again, which grants the next. */
	while ((j = TAILQ_FIRST(&p->granted)) != NULL) {
		pool_set_state(j, POOL_RUNNING);
		j->run(j->arg);
	}
}

/*
 * Tells each watched job in the queue how many are ahead of it, if that
 * changed; 1 when a callback changed the queue, so that the walk must
 * start over (jobs already told are not told again).
 */
static int pool_tell_walk(struct pool *p)
{
	unsigned long changes = p->changes;
	struct pool_job *j;
	int ahead = 0;

	TAILQ_FOREACH(j, &p->queue, entry) {
		if (j->ahead != NULL && j->told != ahead) {
			j->told = ahead;
			j->ahead(j->arg, ahead);
			if (p->changes != changes)
				return 1;
		}
		ahead++;
	}
	return 0;
}

static void pool_tell(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	while (pool_tell_walk(arg))
		;
}

static void pool_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pool_tick(arg);
}

struct pool *pool_new(struct event_base *base, int max_running, int queue_limit,
		      int queue_timeout_s)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->base = base;
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->granted);
	p->handover = event_new(base, -1, 0, pool_handover, p);
	p->timer = evtimer_new(base, pool_timer_cb, p);
	p->moved = event_new(base, -1, 0, pool_tell, p);
	if (p->handover == NULL || p->timer == NULL || p->moved == NULL) {
		pool_free(p);
		return NULL;
	}
	pool_set_limits(p, max_running, queue_limit, queue_timeout_s);
	return p;
}

static void pool_free_list(struct pool_list *l)
{
	struct pool_job *j;

	while ((j = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, j, entry);
		free(j);
	}
}

void pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	pool_free_list(&p->queue);
	pool_free_list(&p->granted);
	if (p->handover != NULL)
		event_free(p->handover);
	if (p->timer != NULL)
		event_free(p->timer);
	if (p->moved != NULL)
		event_free(p->moved);
	free(p);
}

void pool_set_gate(struct pool *p, const struct pool_gate *gate)
{
	if (gate != NULL)
		p->gate = *gate;
	else
		memset(&p->gate, 0, sizeof(p->gate));
}

void pool_gate_open(struct pool *p)
{
	p->gate_asked = 0;
	p->gate_open++;
	pool_grant(p);
}

void pool_set_limits(struct pool *p, int max_running, int queue_limit, int queue_timeout_s)
{
	p->max_running = max_running;
	p->queue_limit = queue_limit;
	p->queue_timeout_s = queue_timeout_s;
	pool_grant(p);
}

struct pool_job *pool_submit(struct pool *p, pool_run_cb run, pool_expire_cb expire, void *arg)
{
	struct pool_job *j;

	/* A job waits only when every slot is taken; then the queue has its limit. */
	if ((p->running >= p->max_running || !TAILQ_EMPTY(&p->queue)) &&
	    p->queued >= p->queue_limit)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->p = p;
	j->state = POOL_QUEUED;
	j->run = run;
	j->expire = expire;
	j->arg = arg;
	j->told = -1;
	j->deadline = clock_ms() + p->queue_timeout_s * 1000LL;
	/* Everyone joins the queue, so nobody overtakes those already waiting. */
	TAILQ_INSERT_TAIL(&p->queue, j, entry);
	p->queued++;
	pool_grant(p);
	if (j->state == POOL_QUEUED)
		pool_arm(p);
	return j;
}

void pool_watch(struct pool_job *j, pool_ahead_cb ahead)
{
	if (j->state != POOL_QUEUED || j->ahead != NULL || ahead == NULL)
		return;         /* only a waiting job has a place, and one watcher */
	j->ahead = ahead;
	j->p->watched++;
	pool_moved(j->p);
}

void pool_leave(struct pool_job *j)
{
	struct pool *p;

	if (j == NULL)
		return;
	p = j->p;
	if (j->state == POOL_QUEUED) {
		pool_dequeue(p, j);
	} else {
		if (j->state == POOL_GRANTED)
			TAILQ_REMOVE(&p->granted, j, entry);
		p->running--;
		if (j->gated)
			p->gate.done(p->gate.arg);
	}
	free(j);
	pool_grant(p);
	pool_arm(p);
}

/* The first queued job whose wait is over, or NULL. */
static struct pool_job *pool_overdue(struct pool *p, long long now)
{
	struct pool_job *j;

	/* pool_tick unlinks a job before freeing it; the analyzer does not follow TAILQ_REMOVE. */
	TAILQ_FOREACH(j, &p->queue, entry)
		if (j->deadline <= now) /* NOLINT(clang-analyzer-unix.Malloc) */
			return j;
	return NULL;
}

void pool_tick(struct pool *p)
{
	long long now = clock_ms();
	struct pool_job *j;

	/* One at a time: the callback may submit or leave other jobs. */
	while ((j = pool_overdue(p, now)) != NULL) {
		pool_expire_cb expire = j->expire;
		void *arg = j->arg;

		pool_dequeue(p, j);
		free(j);
		expire(arg);
	}
	pool_arm(p);
}

int pool_running(const struct pool *p) { return p->running; }
int pool_queued(const struct pool *p) { return p->queued; }
int pool_max_running(const struct pool *p) { return p->max_running; }
