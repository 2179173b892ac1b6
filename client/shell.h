/*
 * exoctl shell: a prompt with history and completion (libedit) that runs
 * cmdlets and exoctl commands, one line at a time, on exod's warm session.
 * A line is split into words as PowerShell splits a command's arguments;
 * what each word means is left to exoctl (and its binder).
 */
#ifndef EXOCTL_SHELL_H
#define EXOCTL_SHELL_H

#include <stddef.h>
#include <stdio.h>

#define SHELL_MAX_LINE 32768            /* bytes in one line */
#define SHELL_MAX_WORDS 1024            /* words in one line */
#define SHELL_HISTORY_MAX 1000          /* lines the history keeps, in memory and on disk */
#define SHELL_MAX_CANDIDATES 20000      /* completion candidates taken from one call */
#define SHELL_LIST_MAX 400              /* candidates listed on TAB; more are only counted */
#define SHELL_MAX_PROMPT 160            /* bytes of the prompt */
#define SHELL_ERR_LEN 256

/* Runs one exoctl command line already split into words; returns its exit status. */
typedef int (*shell_run_fn)(void *arg, int argc, char **argv);

/* Prints completion candidates, one a line, for words[0..n), the last being completed. */
typedef void (*shell_complete_fn)(void *arg, FILE *out, int n, char *const words[]);

struct shell_options {
	const char *profile;            /* shown in the prompt; may be NULL */
	/* NULL: $XDG_STATE_HOME/exoctl/history, or ~/.local/state/exoctl/history */
	const char *history_file;
	shell_run_fn run;
	shell_complete_fn complete;     /* may be NULL: TAB completes nothing */
	void *arg;                      /* passed to run and complete */
};

/*
 * Reads lines from standard input until exit, quit or end of input, and
 * runs each: "Verb-Noun ..." as run(arg, {"run", "Verb-Noun", ...}),
 * anything else as its words.  Each line runs in a child process, so that
 * Ctrl-C stops that command (closing its connection cancels its request)
 * and not the shell.  On a terminal: a prompt, line editing, completion,
 * and a history saved to the history file; otherwise lines are read as a
 * script, without prompt or history, and Ctrl-C ends the script.
 * Returns the shell's exit status: 0, or N for "exit N".
 */
int shell_main(const struct shell_options *o);

/*
 * Splits line into words as PowerShell splits arguments: whitespace
 * separates; '...' is literal ('' in it is one '); "..." groups, with
 * backtick escapes (`" `` `$ `t `n `r `a `b `e `f `v `u{hex}, and ""
 * for one "); outside quotes a backtick makes the next character
 * ordinary.  No variables are expanded: -Name:$false stays as it is.
 * An unquoted | is refused (the shell has no pipelines).  On success
 * *argv holds *argc words and a NULL, in one allocation that
 * shell_split_free releases; -1 with a message in err otherwise.
 */
int shell_split(const char *line, int *argc, char ***argv, char *err, size_t errlen);

/*
 * The words of a line being typed, for completion: as shell_split, but
 * a quote left open at the end closes there, and a line that ends in a
 * separator ends with an empty word.  *last is the byte offset in line
 * where the last word begins (its opening quote included).  There is
 * always at least one word.
 */
int shell_split_partial(const char *line, int *argc, char ***argv, size_t *last, char *err,
			size_t errlen);

void shell_split_free(char **argv);

#endif
