/* Logging: one line per call to stderr, with an sd-daemon priority prefix for journald. */
#include "log.h"

#include <errno.h>
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

/*
 * Lines of one event-loop pass, written together: a batch of whole lines
 * no longer than PIPE_BUF is one atomic write, so lines stay whole when
 * several processes share stderr.
 */
#define LOG_BATCH_MAX 4096
#define LOG_LINE_MAX 2048               /* longer messages are cut */

static char log_batch[LOG_BATCH_MAX];
static size_t log_batched;
static void (*log_kick)(void *arg);
static void *log_kick_arg;

static void log_write(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;         /* nowhere left to say so */
		buf += n;
		len -= (size_t)n;
	}
}

void log_flush(void)
{
	size_t n = log_batched;

	log_batched = 0;
	log_write(log_batch, n);
}

void log_batch_to(void (*kick)(void *arg), void *arg)
{
	log_flush();
	log_kick = kick;
	log_kick_arg = arg;
}

/* Info and debug lines wait for the batch; warnings and errors go at once, after it. */
static void log_out(int priority, const char *line, size_t len)
{
	if (log_kick == NULL || priority < LOG_INFO) {
		log_flush();
		log_write(line, len);
		return;
	}
	if (log_batched + len > sizeof(log_batch))
		log_flush();
	if (log_batched == 0)
		log_kick(log_kick_arg);
	memcpy(log_batch + log_batched, line, len);
	log_batched += len;
}

void log_text(int priority, const char *text, size_t len)
{
	char line[sizeof("<7>") - 1 + LOG_LINE_MAX];
	size_t n = 0;

	if (priority > log_level)
		return;
	if (log_prefix < 0)
		log_prefix = log_to_journal();
	if (log_prefix && priority >= 0 && priority <= LOG_DEBUG) {
		line[n++] = '<';
		line[n++] = (char)('0' + priority);
		line[n++] = '>';
	}
	if (len > LOG_LINE_MAX - 1)
		len = LOG_LINE_MAX - 1;
	memcpy(line + n, text, len);
	n += len;
	line[n++] = '\n';
	log_out(priority, line, n);
}

void log_msg(int priority, const char *fmt, ...)
{
	char text[LOG_LINE_MAX];
	va_list ap;
	int n;

	if (priority > log_level)
		return;
	va_start(ap, fmt);
	/* clang-tidy 14 misreads glibc's va_list after va_start. */
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	log_text(priority, text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}
