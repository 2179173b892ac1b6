/*
 * A profile's cap on requests in flight upstream: at most max run at
 * once; the rest wait in FIFO order, up to a queue limit and a timeout.
 * A slot is always handed over from the event loop, never inside the
 * call that asked for it or gave one back.
 */
#ifndef EXOD_POOL_H
#define EXOD_POOL_H

struct event_base;
struct pool;
struct pool_job;

typedef void (*pool_run_cb)(void *arg);         /* a slot is yours: start */
typedef void (*pool_expire_cb)(void *arg);      /* waited queue_timeout: give up */
typedef void (*pool_ahead_cb)(void *arg, int ahead);    /* jobs ahead of a queued one */

struct pool *pool_new(struct event_base *base, int max_running, int queue_limit,
		      int queue_timeout_s);
void pool_free(struct pool *p);

/*
 * Asks for a slot.  Returns NULL when the queue is full (or memory runs
 * out).  Later, from the event loop, exactly one of run (a slot is
 * yours) or expire (waited queue_timeout; the job is gone) is called,
 * unless the job leaves first.
 */
struct pool_job *pool_submit(struct pool *p, pool_run_cb run, pool_expire_cb expire, void *arg);
/*
 * Watches a job's place in the queue: while it waits, ahead is called
 * from the event loop with the number of jobs ahead of it, first at once
 * (on the next turn) and again whenever that number changes.
 */
void pool_watch(struct pool_job *j, pool_ahead_cb ahead);
/* Gives the slot back, or leaves the queue.  The next waiter runs, from the loop. */
void pool_leave(struct pool_job *j);
/* Expires the jobs that have waited queue_timeout (the pool's timer calls it; so do tests). */
void pool_tick(struct pool *p);

int pool_running(const struct pool *p);
int pool_queued(const struct pool *p);
int pool_max_running(const struct pool *p);
/*
 * A gate to a budget shared with other hosts (cluster.h): with one, a job
 * runs only once the gate has opened a slot for it as well as a local one.
 * want asks for one more slot, one request at a time: the pool waits for
 * pool_gate_open before it asks again.  done gives a slot back: when a job
 * that ran on one leaves, or when one opens for a queue that has emptied.
 * Neither may call back into the pool before returning.
 */
struct pool_gate {
	void (*want)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

/* Puts the pool behind gate (copied; NULL: none), before any job is submitted. */
void pool_set_gate(struct pool *p, const struct pool_gate *gate);
/* The gate opened one slot (the answer to want). */
void pool_gate_open(struct pool *p);

/* Applies new limits (reload); running jobs are not interrupted. */
void pool_set_limits(struct pool *p, int max_running, int queue_limit, int queue_timeout_s);

#endif
