/* Logging: one line per call to stderr, with an sd-daemon priority prefix for journald. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_JOURNAL_ENV "JOURNAL_STREAM"

static int log_level = LOG_INFO;
static int log_prefix = -1;             /* -1: not decided yet (log_to_journal) */

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

/*
 * systemd.exec(5): a service whose stderr is connected to the journal gets
 * $JOURNAL_STREAM = "DEVICE:INODE" of that stream.  Children inherit the
 * variable with other descriptors, so only a match with fd 2 counts.
 */
int log_to_journal(void)
{
	const char *env = getenv(LOG_JOURNAL_ENV);
	unsigned long long dev, ino;
	struct stat st;
	int used = 0;

	/* Digits, a colon, digits: sscanf alone would take blanks and signs. */
	if (env == NULL || env[strspn(env, "0123456789:")] != '\0' ||
	    sscanf(env, "%llu:%llu%n", &dev, &ino, &used) != 2 || env[used] != '\0' ||
	    fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

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
	if (log_prefix < 0)
		log_prefix = log_to_journal();
	/* One write per line keeps lines whole when several processes share stderr. */
	if (log_prefix)
		fprintf(stderr, "<%d>%s\n", priority, line);
	else
		fprintf(stderr, "%s\n", line);
	fflush(stderr);
}
