/*
 * exoctl check: exod's status as a Nagios/Icinga plugin line, with
 * performance data, and the plugin's exit status.
 */
#ifndef EXOCTL_CHECK_H
#define EXOCTL_CHECK_H

#include <stdio.h>

#include <yajl/yajl_tree.h>

#define CHECK_TOKEN_WARNING 300         /* seconds of token left that warn */
#define CHECK_TOKEN_CRITICAL 60         /* seconds of token left that are critical */
#define CHECK_MAX_TEXT 512              /* bytes of one profile's part of the line */

/* The plugin exit statuses, as the Monitoring Plugins guidelines define them. */
enum check_status {
	CHECK_OK = 0,
	CHECK_WARNING = 1,
	CHECK_CRITICAL = 2,
	CHECK_UNKNOWN = 3,
};

struct check_limits {
	long token_warning;
	long token_critical;
};

/*
 * Writes one plugin line for the profiles (the array of status's done
 * line) to fp and returns the worst status among them.
 */
enum check_status check_report(FILE *fp, yajl_val profiles, const struct check_limits *l);

/* Writes "EXOD <STATUS> - text" for a check that could not look at exod. */
void check_fail(FILE *fp, enum check_status st, const char *text);

#endif
