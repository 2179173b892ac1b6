/* Logging: one line per call to stderr, with an sd-daemon priority prefix. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int log_level = LOG_INFO;
static int log_prefix = 1;

static const struct {
	const char *name;
	int priority;
} log_levels[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

void log_set_level(int priority) { log_level = priority; }
int log_get_level(void) { return log_level; }
void log_set_prefix(int on) { log_prefix = on; }

int log_parse_level(const char *name)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcasecmp(name, log_levels[i].name) == 0)
			return log_levels[i].priority;
	return -1;
}

const char *log_level_name(int priority)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].priority == priority)
			return log_levels[i].name;
	return "info";
}

void log_msg(int priority, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (priority > log_level)
		return;
	va_start(ap, fmt);
	/* clang-tidy 14 misreads glibc's va_list after va_start. */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* One write per line keeps lines whole when several processes share stderr. */
	if (log_prefix)
		fprintf(stderr, "<%d>%s\n", priority, line);
	else
		fprintf(stderr, "%s\n", line);
	fflush(stderr);
}
