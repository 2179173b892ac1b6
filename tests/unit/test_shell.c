/* Unit tests of exoctl shell (client/shell.c): word splitting, and lines read as a script. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/shell.h"

#define WORDS(...) ((const char *[]){ __VA_ARGS__, NULL })
#define SPLITS(line, ...) check_split(line, WORDS(__VA_ARGS__))
#define NOTHING(line) check_split(line, (const char *[]){ NULL })
#define FAILS(line, needle) check_fails(line, needle)

static char errbuf[SHELL_ERR_LEN];

static void check_words(const char *line, int argc, char **argv, const char *const *want)
{
	int n = 0;

	while (want[n] != NULL)
		n++;
	if (argc != n)
		fail_msg("\"%s\": %d words, not %d", line, argc, n);
	for (int i = 0; i < n; i++)
		if (strcmp(argv[i], want[i]) != 0)
			fail_msg("\"%s\": word %d is \"%s\", not \"%s\"", line, i, argv[i], want[i]);
	assert_null(argv[argc]);
}

static void check_split(const char *line, const char *const *want)
{
	char **argv = NULL;
	int argc = -1;

	errbuf[0] = '\0';
	if (shell_split(line, &argc, &argv, errbuf, sizeof(errbuf)) < 0)
		fail_msg("\"%s\" was refused: %s", line, errbuf);
	check_words(line, argc, argv, want);
	shell_split_free(argv);
}

static void check_fails(const char *line, const char *needle)
{
	char **argv = NULL;
	int argc = -1;

	errbuf[0] = '\0';
	if (shell_split(line, &argc, &argv, errbuf, sizeof(errbuf)) == 0) {
		shell_split_free(argv);
		fail_msg("\"%s\" was split", line);
	}
	assert_null(argv);
	assert_int_equal(argc, 0);
	if (strstr(errbuf, needle) == NULL)
		fail_msg("the error \"%s\" does not mention \"%s\"", errbuf, needle);
}

static void check_partial(const char *line, size_t last, const char *const *want)
{
	char **argv = NULL;
	size_t got = (size_t)-1;
	int argc = -1;

	if (shell_split_partial(line, &argc, &argv, &got, errbuf, sizeof(errbuf)) < 0)
		fail_msg("\"%s\" was refused: %s", line, errbuf);
	check_words(line, argc, argv, want);
	if (got != last)
		fail_msg("\"%s\": the last word begins at %zu, not %zu", line, got, last);
	shell_split_free(argv);
}

static void test_whitespace_separates(void **state)
{
	(void)state;
	NOTHING("");
	NOTHING(" \t  ");
	SPLITS("Get-Mailbox -ResultSize 5", "Get-Mailbox", "-ResultSize", "5");
	SPLITS("  status\t\t-x  ", "status", "-x");
	SPLITS("a\nb\rc", "a", "b", "c");
	/* the binder's business, not the splitter's */
	SPLITS("-Name:$false a,b,c @{x=1}", "-Name:$false", "a,b,c", "@{x=1}");
	SPLITS("Müller", "Müller");
}

static void test_single_quotes_are_literal(void **state)
{
	(void)state;
	SPLITS("'a b' c", "a b", "c");
	SPLITS("'it''s'", "it's");
	SPLITS("'''x'''", "'x'");
	SPLITS("'a`tb \"c\" $d'", "a`tb \"c\" $d");
	SPLITS("'|'", "|");
	SPLITS("'' x ''", "", "x", "");
	SPLITS("-Identity:'John Smith'", "-Identity:John Smith");
}

static void test_double_quotes_take_backtick_escapes(void **state)
{
	(void)state;
	SPLITS("\"a b\" c", "a b", "c");
	SPLITS("\"a`\"b\"", "a\"b");
	SPLITS("\"a``b\"", "a`b");
	SPLITS("\"a`tb`nc\"", "a\tb\nc");
	SPLITS("\"`a`b`e`f`r`v\"", "\a\b\033\f\r\v");
	SPLITS("\"say \"\"hi\"\"\"", "say \"hi\"");
	SPLITS("\"x`$y $z\"", "x$y $z");
	SPLITS("\"`q`'\"", "q'");
	SPLITS("\"\"", "");
	SPLITS("\"it's | fine\"", "it's | fine");
}

static void test_unicode_escapes(void **state)
{
	(void)state;
	SPLITS("\"`u{e9}\"", "\xc3\xa9");
	SPLITS("\"`u{41}`u{7FF}`u{20AC}`u{1F600}\"", "A\xdf\xbf\xe2\x82\xac\xf0\x9f\x98\x80");
	SPLITS("\"`u{10FFFF}\"", "\xf4\x8f\xbf\xbf");
	SPLITS("\"`u\"", "u");
	FAILS("\"`u{}\"", "`u{");
	FAILS("\"`u{0}\"", "`u{");
	FAILS("\"`u{D800}\"", "surrogate");
	FAILS("\"`u{110000}\"", "`u{");
	FAILS("\"`u{1234567}\"", "`u{");
	FAILS("\"`u{12\"", "`u{");
	FAILS("\"`u{xyz}\"", "`u{");
}

static void test_backtick_outside_quotes(void **state)
{
	(void)state;
	SPLITS("a` b", "a b");
	SPLITS("`'x", "'x");
	SPLITS("`\"x", "\"x");
	SPLITS("a``b", "a`b");
	SPLITS("`|", "|");
	/* outside quotes only the next character, as the brief of exoctl shell says */
	SPLITS("a`tb", "atb");
	FAILS("abc`", "escapes nothing");
}

static void test_words_join_across_quotes(void **state)
{
	(void)state;
	SPLITS("ab'c d'\"e f\"g", "abc de fg");
	SPLITS("-Name:\"a b\",'c d'", "-Name:a b,c d");
}

static void test_refusals(void **state)
{
	(void)state;
	FAILS("Get-Mailbox -Identity 'John", "' quote is not closed");
	FAILS("say \"hi", "\" quote is not closed");
	FAILS("say \"hi`", "\" quote is not closed");
	FAILS("\"a`0b\"", "`0");
	FAILS("Get-Mailbox | Select Name", "pipelines");
	FAILS("a|b", "|");
}

static void test_bounds(void **state)
{
	char *line = malloc(SHELL_MAX_LINE + 2);
	char **argv;
	int argc;

	(void)state;
	assert_non_null(line);
	memset(line, 'a', SHELL_MAX_LINE);
	line[SHELL_MAX_LINE] = '\0';
	assert_int_equal(shell_split(line, &argc, &argv, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(argc, 1);
	assert_int_equal(strlen(argv[0]), SHELL_MAX_LINE);
	shell_split_free(argv);
	strcpy(line + SHELL_MAX_LINE, "a");
	FAILS(line, "longer than");

	/* SHELL_MAX_WORDS words of one letter, then one more */
	for (int i = 0; i < SHELL_MAX_WORDS; i++) {
		line[2 * i] = 'w';
		line[2 * i + 1] = ' ';
	}
	line[2 * SHELL_MAX_WORDS] = '\0';
	assert_int_equal(shell_split(line, &argc, &argv, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(argc, SHELL_MAX_WORDS);
	shell_split_free(argv);
	strcpy(line + 2 * SHELL_MAX_WORDS, "w");
	FAILS(line, "more than");
	free(line);
	shell_split_free(NULL);
}

static void test_partial_lines(void **state)
{
	(void)state;
	check_partial("", 0, WORDS(""));
	check_partial("Get-Mailb", 0, WORDS("Get-Mailb"));
	check_partial("Get-Mailbox -ResultS", 12, WORDS("Get-Mailbox", "-ResultS"));
	check_partial("Get-Mailbox ", 12, WORDS("Get-Mailbox", ""));
	check_partial("Get-Mailbox\t", 12, WORDS("Get-Mailbox", ""));
	check_partial("run 'Get-Mai", 4, WORDS("run", "Get-Mai"));
	check_partial("x \"a b", 2, WORDS("x", "a b"));
	check_partial("x 'it''s", 2, WORDS("x", "it's"));
	check_partial("x a'b c", 2, WORDS("x", "ab c"));
	check_partial("x a`", 2, WORDS("x", "a"));
	check_partial("x \"a`", 2, WORDS("x", "a"));
	check_partial("  -p ", 5, WORDS("-p", ""));
}

static void test_partial_refusals(void **state)
{
	char **argv;
	size_t last;
	int argc;

	(void)state;
	assert_int_equal(shell_split_partial("x \"`0", &argc, &argv, &last, errbuf,
					     sizeof(errbuf)), -1);
	assert_int_equal(shell_split_partial("a | b", &argc, &argv, &last, errbuf,
					     sizeof(errbuf)), -1);
}

/* ---- shell_main on a script ---- */

static char dir[] = "/tmp/exoctl-shell-test-XXXXXX";
static char logpath[sizeof(dir) + 16];

/* run(): in the shell's child, so it leaves its trace in a file. */
static int fake_run(void *arg, int argc, char **argv)
{
	FILE *fp = fopen(logpath, "a");

	(void)arg;
	for (int i = 0; fp != NULL && i < argc; i++)
		fprintf(fp, "%s%s", i > 0 ? "|" : "", argv[i]);
	if (fp != NULL && strcmp(argv[0], "slurp") == 0) {
		char buf[64];

		fprintf(fp, "|read %zu bytes", fread(buf, 1, sizeof(buf), stdin));
	}
	if (fp != NULL) {
		fputc('\n', fp);
		fclose(fp);
	}
	if (strcmp(argv[0], "interrupt") == 0)
		raise(SIGINT);
	return strcmp(argv[0], "fail") == 0 ? 7 : 0;
}

static char *slurp(const char *path)
{
	static char buf[65536];
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	if (fp != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	return buf;
}

/* Runs shell_main with text on standard input; returns its status, the runs in *log. */
static int script(const char *text, const char **log)
{
	const struct shell_options o = { .profile = "contoso", .run = fake_run, .arg = NULL };
	char input[sizeof(dir) + 16];
	FILE *fp;
	int rc;

	snprintf(input, sizeof(input), "%s/input", dir);
	unlink(logpath);
	fp = fopen(input, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_non_null(freopen(input, "r", stdin));
	rc = shell_main(&o);
	assert_non_null(freopen("/dev/null", "r", stdin));
	*log = slurp(logpath);
	return rc;
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	/* a script must not touch the history: were it to, it would be here */
	setenv("XDG_STATE_HOME", dir, 1);
	return 0;
}

static int teardown(void **state)
{
	char path[sizeof(dir) + 16];

	(void)state;
	snprintf(path, sizeof(path), "%s/input", dir);
	unlink(path);
	unlink(logpath);
	return rmdir(dir);
}

static void test_script_dispatch(void **state)
{
	const char *log;

	(void)state;
	assert_int_equal(script("Get-Mailbox -ResultSize 5\n"
				"status\n"
				"  ping  \n"
				"run Get-User 'a b'\n"
				"help Get-Mailbox\n"
				"--output json Get-Mailbox\n"
				"foo- x\n"
				"cmdlets Get-*\n", &log), 0);
	assert_string_equal(log, "run|Get-Mailbox|-ResultSize|5\n"
			    "status\n"
			    "ping\n"
			    "run|Get-User|a b\n"
			    "help|Get-Mailbox\n"
			    "--output|json|Get-Mailbox\n"
			    "foo-|x\n"
			    "cmdlets|Get-*\n");
}

static void test_script_lines_the_shell_keeps(void **state)
{
	char path[sizeof(dir) + 16];
	const char *log;
	struct stat st;

	(void)state;
	/* neither blank lines, comments, help alone nor shell reach run() */
	assert_int_equal(script("\n   \n# Get-Mailbox\n  # x\nhelp\nshell\nping\n", &log), 0);
	assert_string_equal(log, "ping\n");
	snprintf(path, sizeof(path), "%s/exoctl", dir);
	assert_int_equal(stat(path, &st), -1);
}

static void test_script_exit(void **state)
{
	const char *log;

	(void)state;
	assert_int_equal(script("ping\nexit 4\nping\n", &log), 4);
	assert_string_equal(log, "ping\n");
	assert_int_equal(script("quit\nping\n", &log), 0);
	assert_string_equal(log, "");
	assert_int_equal(script("exit\n", &log), 0);
	/* a status that is not one is said, and the shell goes on */
	assert_int_equal(script("exit 256\nexit x\nexit 1 2\nexit -1\nping\n", &log), 0);
	assert_string_equal(log, "ping\n");
	/* the last line needs no newline */
	assert_int_equal(script("ping\nexit 9", &log), 9);
}

static void test_script_goes_on_after_failures(void **state)
{
	const char *log;

	(void)state;
	assert_int_equal(script("'not closed\nfail now\nping\n", &log), 0);
	assert_string_equal(log, "fail|now\nping\n");
}

static void test_script_is_no_command_input(void **state)
{
	const char *log;

	(void)state;
	assert_int_equal(script("slurp\nping\nslurp\nping\n", &log), 0);
	assert_string_equal(log, "slurp|read 0 bytes\nping\nslurp|read 0 bytes\nping\n");
}

/*
 * A test run started in the background of a non-interactive shell inherits SIGINT ignored, and
 * the shell's commands rightly keep it so; Ctrl-C reaching the command is what this test is about.
 */
static void test_script_stops_at_ctrl_c(void **state)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
	const char *log;
	int rc;

	(void)state;
	sigemptyset(&dfl.sa_mask);
	assert_int_equal(sigaction(SIGINT, &dfl, &old), 0);
	rc = script("interrupt\nping\n", &log);
	sigaction(SIGINT, &old, NULL);
	assert_int_equal(rc, 128 + SIGINT);
	assert_string_equal(log, "interrupt\n");
}

static void test_script_skips_a_line_too_long(void **state)
{
	size_t n = SHELL_MAX_LINE + 10;
	char *text = malloc(n + 16);
	const char *log;

	(void)state;
	assert_non_null(text);
	memset(text, 'a', n);
	strcpy(text + n, "\nping\n");
	assert_int_equal(script(text, &log), 0);
	assert_string_equal(log, "ping\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whitespace_separates),
		cmocka_unit_test(test_single_quotes_are_literal),
		cmocka_unit_test(test_double_quotes_take_backtick_escapes),
		cmocka_unit_test(test_unicode_escapes),
		cmocka_unit_test(test_backtick_outside_quotes),
		cmocka_unit_test(test_words_join_across_quotes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_partial_lines),
		cmocka_unit_test(test_partial_refusals),
		cmocka_unit_test(test_script_dispatch),
		cmocka_unit_test(test_script_lines_the_shell_keeps),
		cmocka_unit_test(test_script_exit),
		cmocka_unit_test(test_script_goes_on_after_failures),
		cmocka_unit_test(test_script_is_no_command_input),
		cmocka_unit_test(test_script_stops_at_ctrl_c),
		cmocka_unit_test(test_script_skips_a_line_too_long),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
