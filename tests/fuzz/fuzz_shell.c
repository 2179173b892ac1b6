/*
 * fuzz_shell: what a person types at `exoctl shell` (client/shell.c:
 * shell_split, and shell_split_partial for completion) and then exoctl's
 * option parsing of those words (client/args.c: args_parse_command).
 * Input: one line.  A split succeeds with at most SHELL_MAX_WORDS words,
 * each a C string, or fails with a message; the partial split's last word
 * starts inside the line; the options taken leave the command's words in
 * order, no more than were given.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/args.h"
#include "client/shell.h"
#include "tests/fuzz/fuzz_util.h"

static void fuzz_options(int argc, char **argv)
{
	struct args a = { 0 };
	char err[512];

	err[0] = '\0';
	if (args_parse_command(&a, argc, argv, err, sizeof(err)) == 0) {
		int j = 0;

		FUZZ_CHECK(a.argc <= argc && a.argv[a.argc] == NULL);
		/* what is kept is a subsequence of the words, in order */
		for (int i = 0; i < a.argc; i++) {
			while (j < argc && argv[j] != a.argv[i])
				j++;
			FUZZ_CHECK(j < argc);
			j++;
		}
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
	args_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_strndup(data, size), **argv = NULL, err[512];
	size_t last = 0;
	int argc = 0;

	FUZZ_SETUP(line != NULL);
	err[0] = '\0';
	if (shell_split(line, &argc, &argv, err, sizeof(err)) == 0) {
		FUZZ_CHECK(argc >= 0 && argc <= SHELL_MAX_WORDS && argv != NULL);
		for (int i = 0; i < argc; i++)
			FUZZ_CHECK(argv[i] != NULL);
		FUZZ_CHECK(argv[argc] == NULL);
		fuzz_options(argc, argv);
		shell_split_free(argv);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
	argv = NULL;
	err[0] = '\0';
	if (shell_split_partial(line, &argc, &argv, &last, err, sizeof(err)) == 0) {
		FUZZ_CHECK(last <= strlen(line));
		shell_split_free(argv);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
	free(line);
	return 0;
}
