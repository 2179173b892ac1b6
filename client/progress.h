/*
 * The live line exoctl keeps on a terminal's stderr while a run goes on:
 * records, pages, rate and time, or why exod waits (queued, signing in,
 * throttled, retrying), from exod's progress events (doc/PROTOCOL.md).
 * The line is erased before anything else is written to the terminal and
 * when the run ends.
 */
#ifndef EXOCTL_PROGRESS_H
#define EXOCTL_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

#include <yajl/yajl_tree.h>

#define PROGRESS_DELAY_MS 200           /* a run this quick shows no line at all */
#define PROGRESS_REDRAW_MS 100          /* at most one redraw per this */
#define PROGRESS_MAX_LINE 256           /* bytes of the line */

/* What the line says; the clock is the caller's, in milliseconds. */
struct progress_state {
	char what[24];                  /* queued, signing_in, throttled, retrying, running */
	long long records;
	long long pages;
	long long ahead;                /* queued: requests ahead */
	long long retry_at_ms;          /* throttled, retrying: when the retry goes */
	long long attempt;              /* 0 when not a retry of this call */
	long long attempts;
	long long started_ms;
};

struct progress;

/* Draws on fp (a terminal) at most width columns; label names the run. */
struct progress *progress_new(FILE *fp, const char *label, int width);
/* A progress event from exod, received at now_ms. */
void progress_event(struct progress *p, yajl_val ev, long long now_ms);
/* One record arrived. */
void progress_record(struct progress *p);
/* Redraws when the line is due at now_ms. */
void progress_draw(struct progress *p, long long now_ms);
/* Erases the line (it comes back at the next draw). */
void progress_clear(struct progress *p);
/* Milliseconds the caller may wait for input before the line needs a redraw; -1: no limit. */
int progress_wait_ms(const struct progress *p, long long now_ms);
/* Erases the line and frees p. */
void progress_free(struct progress *p);

/* The line's text for st at now_ms, without control characters. */
void progress_format(char *buf, size_t len, const char *label, const struct progress_state *st,
		     long long now_ms);

/* The monotonic clock in milliseconds. */
long long progress_now_ms(void);

#endif
