/*
 * Logging to stderr with sd-daemon priority prefixes, so that journald
 * files each line under its priority.  Never pass a secret to these.
 */
#ifndef EXOD_LOG_H
#define EXOD_LOG_H

#include <syslog.h>

void log_set_level(int priority);       /* LOG_ERR .. LOG_DEBUG */
int log_get_level(void);
int log_parse_level(const char *name);  /* "error", "warning", "info", "debug"; -1 if unknown */
const char *log_level_name(int priority);
void log_set_prefix(int on);            /* sd-daemon "<N>" prefixes; on by default */

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
