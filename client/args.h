/*
 * exoctl's command line: its own options, valid anywhere on the line in
 * their long forms, picked out from the words that belong to the command;
 * and the per-user defaults in $XDG_CONFIG_HOME/exoctl/config.
 *
 * Short options (-s -p -o -q -h -V) are exoctl's before the command word,
 * and anywhere for commands other than run; after `run CMDLET`, a
 * single-dash word is a PowerShell parameter.  A bare `--` ends exoctl's
 * options: every word after it goes to the command as it is.
 */
#ifndef EXOCTL_ARGS_H
#define EXOCTL_ARGS_H

#include <stddef.h>

#define ARGS_MAX_PROFILE 128            /* bytes in a profile name */
#define ARGS_MAX_CONFIG_VALUE 4096      /* bytes of one value in the user's config */
#define ARGS_CONFIG_NAME "exoctl/config"        /* under $XDG_CONFIG_HOME or ~/.config */

struct args {
	const char *socket;
	const char *profile;
	const char *output;             /* a format name; NULL: by the terminal */
	const char *query;              /* jq expression of --query */
	const char *select;             /* --select Name,Alias */
	int slurp;                      /* --slurp: --query over the whole result */
	int quiet;
	int no_progress;
	int help;                       /* -h/--help: help for the command, or exoctl's */
	int version;
	int argc;                       /* the command and its own words */
	char **argv;                    /* NULL-terminated; freed by args_free */
	char *config_path;              /* the user's config file read, if any */
	char *store[3];                 /* values read from the config file */
};

/*
 * Reads the user's config file, then $EXOD_SOCKET and $EXOD_PROFILE, then
 * argv; later sources win.  0, or -1 with a message in err (a usage
 * error, or a bad config file named with its line and key).
 */
int args_parse(struct args *a, int argc, char **argv, char *err, size_t errlen);

/*
 * Picks exoctl's options out of words[0..n) of one command (the first word
 * is the command) on top of what a already holds, as the shell does for
 * each line.  Same result as args_parse.
 */
int args_parse_command(struct args *a, int n, char **words, char *err, size_t errlen);

void args_free(struct args *a);

/* exoctl's long options without their "--", i from 0; NULL past the last (for completion). */
const char *args_long_option(size_t i);
/* 1 when the word is one of exoctl's options whose value is the next word (-s, --output...). */
int args_takes_value(const char *w);

#endif
