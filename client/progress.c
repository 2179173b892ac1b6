/* The live progress line of a run on a terminal. */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct progress {
	FILE *fp;
	char label[64];
	int width;
	struct progress_state st;
	int shown;                      /* the line is on the terminal */
	long long drawn_ms;             /* when it was drawn last */
};

long long progress_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct progress *progress_new(FILE *fp, const char *label, int width)
{
	struct progress *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->fp = fp;
	p->width = width;
	snprintf(p->label, sizeof(p->label), "%s", label);
	snprintf(p->st.what, sizeof(p->st.what), "running");
	p->st.started_ms = progress_now_ms();
	return p;
}

static long long progress_int(yajl_val ev, const char *key, long long dflt)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(ev, path, yajl_t_number);

	return v != NULL && YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) >= 0 ? YAJL_GET_INTEGER(v) : dflt;
}

void progress_event(struct progress *p, yajl_val ev, long long now_ms)
{
	static const char *state_path[] = { "state", NULL };
	yajl_val state = yajl_tree_get(ev, state_path, yajl_t_string);

	if (p == NULL || state == NULL)
		return;
	snprintf(p->st.what, sizeof(p->st.what), "%s", state->u.string);
	p->st.pages = progress_int(ev, "pages", p->st.pages);
	p->st.ahead = progress_int(ev, "ahead", 0);
	p->st.retry_at_ms = now_ms + progress_int(ev, "retry_in_ms", 0);
	p->st.attempt = progress_int(ev, "attempt", 0);
	p->st.attempts = progress_int(ev, "attempts", 0);
	/* exod's count may run ahead of the records read: the larger is the truth so far */
	if (progress_int(ev, "records", 0) > p->st.records)
		p->st.records = progress_int(ev, "records", 0);
}

void progress_record(struct progress *p)
{
	if (p == NULL)
		return;
	p->st.records++;
	if (strcmp(p->st.what, "running") != 0)
		snprintf(p->st.what, sizeof(p->st.what), "running");
}

/* 1234567 as "1,234,567". */
static void progress_count(char *buf, size_t len, long long n)
{
	char digits[24];
	size_t nd, o = 0;

	snprintf(digits, sizeof(digits), "%lld", n < 0 ? 0 : n);
	nd = strlen(digits);
	for (size_t i = 0; i < nd && o + 2 < len; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

static double progress_seconds(long long ms)
{
	return (double)(ms < 0 ? 0 : ms) / 1000.0;
}

static void progress_attempt(char *buf, size_t len, const struct progress_state *st)
{
	buf[0] = '\0';
	if (st->attempt > 0 && st->attempts > 0)
		snprintf(buf, len, " (%lld of %lld)", st->attempt, st->attempts);
	else if (st->attempt > 0)
		snprintf(buf, len, " (%lld)", st->attempt);
}

static void progress_running(char *buf, size_t len, const char *label,
			     const struct progress_state *st, long long now_ms)
{
	char records[32], pages[32], rate[32];
	double secs = progress_seconds(now_ms - st->started_ms);

	progress_count(records, sizeof(records), st->records);
	progress_count(pages, sizeof(pages), st->pages);
	progress_count(rate, sizeof(rate), secs > 0 ? (long long)((double)st->records / secs) : 0);
	snprintf(buf, len, "%s: %s record%s, %s page%s, %s/s, %.1f s", label, records,
		 st->records == 1 ? "" : "s", pages, st->pages == 1 ? "" : "s", rate, secs);
}

void progress_format(char *buf, size_t len, const char *label, const struct progress_state *st,
		     long long now_ms)
{
	double secs = progress_seconds(now_ms - st->started_ms);
	double wait = progress_seconds(st->retry_at_ms - now_ms);
	char attempt[48];

	progress_attempt(attempt, sizeof(attempt), st);
	if (strcmp(st->what, "queued") == 0)
		snprintf(buf, len, "%s: queued behind %lld request%s, %.1f s", label, st->ahead,
			 st->ahead == 1 ? "" : "s", secs);
	else if (strcmp(st->what, "signing_in") == 0)
		snprintf(buf, len, "%s: signing in, %.1f s", label, secs);
	else if (strcmp(st->what, "throttled") == 0)
		snprintf(buf, len, "%s: throttled by the service, retrying in %.1f s%s", label, wait,
			 attempt);
	else if (strcmp(st->what, "retrying") == 0)
		snprintf(buf, len, "%s: the service failed, retrying in %.1f s%s", label, wait,
			 attempt);
	else
		progress_running(buf, len, label, st, now_ms);
}

void progress_draw(struct progress *p, long long now_ms)
{
	char line[PROGRESS_MAX_LINE];
	size_t n;

	if (p == NULL || now_ms - p->st.started_ms < PROGRESS_DELAY_MS ||
	    (p->shown && now_ms - p->drawn_ms < PROGRESS_REDRAW_MS))
		return;
	progress_format(line, sizeof(line), p->label, &p->st, now_ms);
	n = strlen(line);
	/* the cursor stays in the last column: one column short, so the line never wraps */
	if (p->width > 1 && n > (size_t)p->width - 1)
		n = (size_t)p->width - 1;
	fprintf(p->fp, "\r%.*s\033[K", (int)n, line);
	fflush(p->fp);
	p->shown = 1;
	p->drawn_ms = now_ms;
}

void progress_clear(struct progress *p)
{
	if (p == NULL || !p->shown)
		return;
	fputs("\r\033[K", p->fp);
	fflush(p->fp);
	p->shown = 0;
}

int progress_wait_ms(const struct progress *p, long long now_ms)
{
	long long due;

	if (p == NULL)
		return -1;
	due = p->shown ? p->drawn_ms + PROGRESS_REDRAW_MS : p->st.started_ms + PROGRESS_DELAY_MS;
	return due <= now_ms ? 0 : (int)(due - now_ms);
}

void progress_free(struct progress *p)
{
	progress_clear(p);
	free(p);
}
