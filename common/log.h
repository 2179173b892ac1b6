/*
 * Logging to stderr, one line per message.  When stderr is the journal,
 * lines carry sd-daemon priority prefixes ("<3>"), so that journald files
 * each under its priority; on a terminal, in a file or a pipe they are
 * plain.  Never pass a secret to these.
 */
#ifndef EXOD_LOG_H
#define EXOD_LOG_H

#include <stddef.h>
#include <syslog.h>

void log_set_level(int priority);       /* LOG_ERR .. LOG_DEBUG */
int log_get_level(void);
int log_parse_level(const char *name);  /* "error", "warning", "info", "debug"; -1 if unknown */
const char *log_level_name(int priority);
void log_set_prefix(int on);            /* sd-daemon "<N>" prefixes; by default log_to_journal() */
int log_to_journal(void);               /* 1 when $JOURNAL_STREAM names stderr's device:inode */

/*
 * From now on info and debug lines wait in a batch of at most PIPE_BUF
 * bytes: kick(arg) is called when the first line of a batch arrives, and
 * the caller runs log_flush() soon (exod: once the event loop's pass is
 * over).  Warnings and errors are written at once, after the batch.
 * log_batch_to(NULL, NULL) flushes and writes each line again.
 */
void log_batch_to(void (*kick)(void *arg), void *arg);
void log_flush(void);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line already written (text[0..len), cut at 2047 bytes), for a caller that builds its own. */
void log_text(int priority, const char *text, size_t len);

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
