/*
 * exoctl shell.  libedit's own API (histedit.h) rather than its readline
 * emulation: completion and Ctrl-C are our own key functions with the
 * shell's state at hand (EL_CLIENTDATA, no globals), the history object
 * has the size bound and the no-adjacent-duplicates rule built in, and
 * the history file stays plain lines we write ourselves (the emulation's
 * write_history writes libedit's vis(3)-encoded format).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <limits.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

#include "client/dl.h"
#include "client/shell.h"
#include "common/wire.h"

#define SHELL_EDIT_SONAME "libedit.so.2"
#define SHELL_EDIT_PACKAGE "libedit2"

/* libedit, loaded when a shell starts on a terminal (client/dl.h says why). */
static struct {
	EditLine *(*el_init)(const char *, FILE *, FILE *, FILE *);
	void (*el_end)(EditLine *);
	const char *(*el_gets)(EditLine *, int *);
	int (*el_set)(EditLine *, int, ...);
	int (*el_get)(EditLine *, int, ...);
	int (*el_wset)(EditLine *, int, ...);
	int (*el_source)(EditLine *, const char *);
	const LineInfo *(*el_line)(EditLine *);
	int (*el_insertstr)(EditLine *, const char *);
	void (*el_deletestr)(EditLine *, int);
	int (*el_cursor)(EditLine *, int);
	void (*el_push)(EditLine *, const char *);
	History *(*history_init)(void);
	void (*history_end)(History *);
	int (*history)(History *, HistEvent *, int, ...);
} shell_ed;

static const struct dl_sym shell_ed_syms[] = {
	{ "el_init", &shell_ed.el_init },
	{ "el_end", &shell_ed.el_end },
	{ "el_gets", &shell_ed.el_gets },
	{ "el_set", &shell_ed.el_set },
	{ "el_get", &shell_ed.el_get },
	{ "el_wset", &shell_ed.el_wset },
	{ "el_source", &shell_ed.el_source },
	{ "el_line", &shell_ed.el_line },
	{ "el_insertstr", &shell_ed.el_insertstr },
	{ "el_deletestr", &shell_ed.el_deletestr },
	{ "el_cursor", &shell_ed.el_cursor },
	{ "el_push", &shell_ed.el_push },
	{ "history_init", &shell_ed.history_init },
	{ "history_end", &shell_ed.history_end },
	{ "history", &shell_ed.history },
};

#define SHELL_GO_ON (-1)                /* shell_line: read the next line */
#define SHELL_EXIT_SIGNAL 128           /* a command killed by signal N ends with 128 + N */
#define SHELL_HISTORY_FILE "exoctl/history"
#define SHELL_MAX_HISTORY_FILE ((off_t)SHELL_HISTORY_MAX * (SHELL_MAX_LINE + 1))
#define SHELL_LIST_GAP 2                /* spaces between listed candidates */
#define SHELL_TTY_COLUMNS 80            /* a terminal that does not say its width */
#define SHELL_STR2(x) #x
#define SHELL_STR(x) SHELL_STR2(x)

struct shell {
	const struct shell_options *o;
	EditLine *el;
	History *hist;
	int interactive;
	int cancelled;                  /* Ctrl-C discarded the line being read */
	int history_failed;             /* said once; the shell goes on without saving */
	char prompt[SHELL_MAX_PROMPT];
	char history[PATH_MAX];         /* "": no history file */
};

/* ---- splitting ---- */

struct shell_lex {
	const char *s;
	size_t len, i;
	size_t start;                   /* where the current word began */
	char *out;                      /* where its next byte goes */
	char **words;
	int n, cap;
	int in_word;
	int partial;
	char *err;
	size_t errlen;
};

static int shell_lex_fail(struct shell_lex *lx, const char *msg)
{
	snprintf(lx->err, lx->errlen, "%s", msg);
	return -1;
}

static int shell_lex_begin(struct shell_lex *lx, size_t at)
{
	if (lx->in_word)
		return 0;
	/* cap counts the NULL after the last word */
	if (lx->n >= SHELL_MAX_WORDS || lx->n + 1 >= lx->cap)
		return shell_lex_fail(lx, "more than " SHELL_STR(SHELL_MAX_WORDS) " words on the line");
	lx->words[lx->n++] = lx->out;
	lx->start = at;
	lx->in_word = 1;
	return 0;
}

static void shell_lex_end(struct shell_lex *lx)
{
	if (lx->in_word)
		*lx->out++ = '\0';
	lx->in_word = 0;
}

static void shell_lex_utf8(struct shell_lex *lx, uint32_t cp)
{
	if (cp < 0x80) {
		*lx->out++ = (char)cp;
	} else if (cp < 0x800) {
		*lx->out++ = (char)(0xC0 | cp >> 6);
		*lx->out++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*lx->out++ = (char)(0xE0 | cp >> 12);
		*lx->out++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*lx->out++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*lx->out++ = (char)(0xF0 | cp >> 18);
		*lx->out++ = (char)(0x80 | (cp >> 12 & 0x3F));
		*lx->out++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*lx->out++ = (char)(0x80 | (cp & 0x3F));
	}
}

/* `u{hex}, PowerShell's code point escape; i is just past the u.  Never longer out than in. */
static int shell_lex_unicode(struct shell_lex *lx)
{
	uint32_t cp = 0;
	size_t digits = 0;

	if (lx->i >= lx->len || lx->s[lx->i] != '{') {
		*lx->out++ = 'u';       /* `u alone is an ordinary u, as for any other letter */
		return 0;
	}
	for (lx->i++; lx->i < lx->len && isxdigit((unsigned char)lx->s[lx->i]) && digits < 6;
	     lx->i++, digits++) {
		char c = lx->s[lx->i];

		cp = cp << 4 | (uint32_t)(isdigit((unsigned char)c) ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	if (digits == 0 || lx->i >= lx->len || lx->s[lx->i] != '}' || cp == 0 || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return shell_lex_fail(lx, "`u{...} takes 1 to 6 hex digits of a Unicode character "
				      "(not 0, not a surrogate)");
	lx->i++;
	shell_lex_utf8(lx, cp);
	return 0;
}

/* A backtick escape in double quotes; i is at the character after the backtick. */
static int shell_lex_escape(struct shell_lex *lx)
{
	static const char from[] = "abefnrtv";
	static const char to[] = "\a\b\033\f\n\r\t\v";
	char c = lx->s[lx->i++];
	const char *p;

	if (c == '0')
		return shell_lex_fail(lx, "`0 is a NUL, which no argument can hold");
	if (c == 'u')
		return shell_lex_unicode(lx);
	p = c != '\0' ? strchr(from, c) : NULL;
	*lx->out++ = p != NULL ? to[p - from] : c;
	return 0;
}

/* '...': i is just past the opening quote. */
static int shell_lex_single(struct shell_lex *lx)
{
	while (lx->i < lx->len) {
		char c = lx->s[lx->i++];

		if (c != '\'') {
			*lx->out++ = c;
			continue;
		}
		if (lx->i < lx->len && lx->s[lx->i] == '\'') {
			*lx->out++ = '\'';
			lx->i++;
			continue;
		}
		return 0;
	}
	return lx->partial ? 0 : shell_lex_fail(lx, "a ' quote is not closed");
}

/* "...": i is just past the opening quote. */
static int shell_lex_double(struct shell_lex *lx)
{
	while (lx->i < lx->len) {
		char c = lx->s[lx->i++];

		if (c == '`' && lx->i < lx->len) {
			if (shell_lex_escape(lx) < 0)
				return -1;
		} else if (c == '`') {
			break;
		} else if (c != '"') {
			*lx->out++ = c;
		} else if (lx->i < lx->len && lx->s[lx->i] == '"') {
			*lx->out++ = '"';
			lx->i++;
		} else {
			return 0;
		}
	}
	return lx->partial ? 0 : shell_lex_fail(lx, "a \" quote is not closed");
}

/* One character outside quotes, which begins or continues a word. */
static int shell_lex_char(struct shell_lex *lx, char c)
{
	switch (c) {
	case '\'':
		return shell_lex_single(lx);
	case '"':
		return shell_lex_double(lx);
	case '`':
		if (lx->i < lx->len)
			*lx->out++ = lx->s[lx->i++];
		else if (!lx->partial)
			return shell_lex_fail(lx, "a ` at the end of the line escapes nothing");
		return 0;
	case '|':
		return shell_lex_fail(lx, "an unquoted | : the shell has no pipelines (quote it, "
				      "or filter the output with --query)");
	default:
		*lx->out++ = c;
		return 0;
	}
}

static int shell_lex_run(struct shell_lex *lx)
{
	while (lx->i < lx->len) {
		size_t at = lx->i;
		char c = lx->s[lx->i++];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			shell_lex_end(lx);
			continue;
		}
		if (shell_lex_begin(lx, at) < 0 || shell_lex_char(lx, c) < 0)
			return -1;
	}
	/* the word being typed after a separator is an empty one */
	if (lx->partial && !lx->in_word && shell_lex_begin(lx, lx->len) < 0)
		return -1;
	shell_lex_end(lx);
	lx->words[lx->n] = NULL;
	return 0;
}

static int shell_split_line(const char *line, int partial, int *argc, char ***argv,
			    size_t *last, char *err, size_t errlen)
{
	size_t len = strnlen(line, SHELL_MAX_LINE + 1);
	struct shell_lex lx = { .s = line, .len = len, .partial = partial, .err = err,
				.errlen = errlen };
	size_t slots;

	*argc = 0;
	*argv = NULL;
	if (len > SHELL_MAX_LINE) {
		snprintf(err, errlen, "the line is longer than %d bytes", SHELL_MAX_LINE);
		return -1;
	}
	/*
	 * Every word but the last takes a separator, so there are at most
	 * len / 2 + 1 of them (one more, empty, when partial), and words
	 * never take more bytes than they were typed in: escapes only shrink.
	 * Pointers and bytes share one block, which shell_split_free frees.
	 */
	slots = len / 2 + 3;
	if (slots > SHELL_MAX_WORDS + 2)
		slots = SHELL_MAX_WORDS + 2;
	lx.cap = (int)slots;
	lx.words = malloc(slots * sizeof(char *) + len + 2);
	if (lx.words == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	lx.out = (char *)(lx.words + slots);
	if (shell_lex_run(&lx) < 0) {
		free(lx.words);
		return -1;
	}
	*argc = lx.n;
	*argv = lx.words;
	if (last != NULL)
		*last = lx.start;
	return 0;
}

int shell_split(const char *line, int *argc, char ***argv, char *err, size_t errlen)
{
	return shell_split_line(line, 0, argc, argv, NULL, err, errlen);
}

int shell_split_partial(const char *line, int *argc, char ***argv, size_t *last, char *err,
			size_t errlen)
{
	return shell_split_line(line, 1, argc, argv, last, err, errlen);
}

void shell_split_free(char **argv)
{
	free(argv);
}

/* ---- history ---- */

/* Says once why the history is not kept (errnum 0: what says it all); no saving after it. */
static void shell_history_warn(struct shell *sh, const char *what, int errnum)
{
	if (sh->history_failed)
		return;
	sh->history_failed = 1;
	fprintf(stderr, "exoctl: history %s: %s%s%s; lines are not kept\n", sh->history, what,
		errnum != 0 ? ": " : "", errnum != 0 ? strerror(errnum) : "");
}

/* The history file's place, from the options or the XDG base directory rules. */
static int shell_history_path(struct shell *sh)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	const struct passwd *pw;
	int n;

	if (sh->o->history_file != NULL) {
		n = snprintf(sh->history, sizeof(sh->history), "%s", sh->o->history_file);
	} else if (state != NULL && state[0] == '/') {
		/* the XDG rules ignore a relative $XDG_STATE_HOME */
		n = snprintf(sh->history, sizeof(sh->history), "%s/" SHELL_HISTORY_FILE, state);
	} else {
		if ((home == NULL || home[0] != '/') && (pw = getpwuid(getuid())) != NULL)
			home = pw->pw_dir;
		if (home == NULL || home[0] != '/') {
			fputs("exoctl: history: no home directory; lines are not kept\n", stderr);
			return -1;
		}
		n = snprintf(sh->history, sizeof(sh->history), "%s/.local/state/" SHELL_HISTORY_FILE,
			     home);
	}
	if (n <= 0 || (size_t)n >= sizeof(sh->history)) {
		fputs("exoctl: history: the file's path is too long; lines are not kept\n", stderr);
		return -1;
	}
	return 0;
}

/* Creates the directories above the history file that are missing, private (0700). */
static int shell_history_dirs(struct shell *sh)
{
	char path[PATH_MAX];

	memcpy(path, sh->history, sizeof(path));
	for (char *p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			shell_history_warn(sh, "cannot create its directory", errno);
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/* Reads lines of at most SHELL_MAX_LINE bytes from fp into the history; longer ones are skipped. */
static void shell_history_read(struct shell *sh, FILE *fp, char *buf)
{
	HistEvent ev;
	int skipping = 0;

	while (fgets(buf, SHELL_MAX_LINE + 2, fp) != NULL) {
		size_t len = strlen(buf);
		int whole = len > 0 && buf[len - 1] == '\n';

		if (skipping || (!whole && !feof(fp))) {
			skipping = !whole;
			continue;
		}
		if (whole)
			buf[--len] = '\0';
		if (len > 0)
			shell_ed.history(sh->hist, &ev, H_ENTER, buf);
	}
}

static void shell_history_load(struct shell *sh)
{
	int fd = open(sh->history, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	FILE *fp = NULL;

	if (fd < 0) {
		if (errno != ENOENT)
			shell_history_warn(sh, "cannot read it", errno);
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SHELL_MAX_HISTORY_FILE) {
		shell_history_warn(sh, "not a regular file of a sane size", 0);
		goto out;
	}
	if ((buf = malloc(SHELL_MAX_LINE + 2)) == NULL || (fp = fdopen(fd, "r")) == NULL) {
		shell_history_warn(sh, "cannot read it", errno);
		goto out;
	}
	fd = -1;
	shell_history_read(sh, fp, buf);
out:
	free(buf);
	if (fp != NULL)
		fclose(fp);
	if (fd >= 0)
		close(fd);
}

/* Writes the history, oldest first, to a new private file that then replaces the old one. */
static void shell_history_save(struct shell *sh)
{
	char tmp[PATH_MAX + 8];
	HistEvent ev;
	FILE *fp = NULL;
	int fd, rc;

	if (sh->history[0] == '\0' || sh->history_failed)
		return;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", sh->history);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0 || (fp = fdopen(fd, "w")) == NULL) {
		shell_history_warn(sh, "cannot write it", errno);
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return;
	}
	for (rc = shell_ed.history(sh->hist, &ev, H_LAST); rc != -1; rc = shell_ed.history(sh->hist, &ev, H_PREV))
		fprintf(fp, "%s\n", ev.str);
	rc = ferror(fp);
	if (fclose(fp) != 0 || rc != 0 || rename(tmp, sh->history) < 0) {
		shell_history_warn(sh, "cannot write it", errno);
		unlink(tmp);
	}
}

static int shell_history_open(struct shell *sh)
{
	HistEvent ev;

	if ((sh->hist = shell_ed.history_init()) == NULL)
		return -1;
	shell_ed.history(sh->hist, &ev, H_SETSIZE, SHELL_HISTORY_MAX);
	shell_ed.history(sh->hist, &ev, H_SETUNIQUE, 1);
	if (shell_history_path(sh) < 0 || shell_history_dirs(sh) < 0) {
		sh->history[0] = '\0';
		return 0;
	}
	shell_history_load(sh);
	return 0;
}

/* Keeps the line unless it starts with a space (it may hold a secret), is blank or too long. */
static void shell_history_add(struct shell *sh, const char *line)
{
	HistEvent ev;

	if (line[0] == ' ' || line[strspn(line, " \t")] == '\0' ||
	    strnlen(line, SHELL_MAX_LINE + 1) > SHELL_MAX_LINE)
		return;
	shell_ed.history(sh->hist, &ev, H_ENTER, line);
	/* at once, so a closed terminal loses nothing */
	shell_history_save(sh);
}

/* ---- completion ---- */

struct shell_cands {
	char *buf;                      /* the lines complete() printed */
	char **v;
	size_t n;
};

static int shell_cand_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int c = strcasecmp(x, y);

	return c != 0 ? c : strcmp(x, y);
}

/* A command of exoctl's that makes no sense typed in the shell. */
static int shell_cand_hidden(const char *s, int first)
{
	return first && (strcmp(s, "shell") == 0 || strncmp(s, "__", 2) == 0);
}

/* Splits buf into candidate lines, sorted, without duplicates or empty ones. */
static int shell_cands_parse(struct shell_cands *c, size_t size, int first)
{
	size_t lines = 0, k = 0;

	for (size_t i = 0; i < size; i++)
		lines += c->buf[i] == '\n';
	if (lines > SHELL_MAX_CANDIDATES)
		lines = SHELL_MAX_CANDIDATES;
	if ((c->v = calloc(lines + 1, sizeof(char *))) == NULL)
		return -1;
	for (char *p = c->buf, *nl; k < lines && (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if (p[0] != '\0' && !shell_cand_hidden(p, first))
			c->v[k++] = p;
	}
	qsort(c->v, k, sizeof(char *), shell_cand_cmp);
	for (size_t i = 0; i < k; i++)
		if (c->n == 0 || strcmp(c->v[c->n - 1], c->v[i]) != 0)
			c->v[c->n++] = c->v[i];
	return 0;
}

static int shell_is_cmdlet(const char *w)
{
	return isalpha((unsigned char)w[0]) && wire_cmdlet_valid(w);
}

/* The words handed to complete(): a cmdlet's line is completed as "run CMDLET ...". */
static void shell_cands_ask(const struct shell *sh, FILE *fp, int argc, char **argv)
{
	static const char *const builtins[] = { "exit", "quit", NULL };
	char **words;

	if (argc == 1) {
		/* The first word is a command of the shell's, of exoctl's, or a cmdlet. */
		for (const char *const *b = builtins; *b != NULL; b++)
			if (strncasecmp(*b, argv[0], strlen(argv[0])) == 0)
				fprintf(fp, "%s\n", *b);
		sh->o->complete(sh->o->arg, fp, 1, argv);
		if (argv[0][0] != '-')
			sh->o->complete(sh->o->arg, fp, 2, (char *const[]){ "run", argv[0], NULL });
		return;
	}
	if (!shell_is_cmdlet(argv[0])) {
		sh->o->complete(sh->o->arg, fp, argc, argv);
		return;
	}
	if ((words = malloc(((size_t)argc + 2) * sizeof(char *))) == NULL)
		return;
	words[0] = "run";
	memcpy(words + 1, argv, ((size_t)argc + 1) * sizeof(char *));
	sh->o->complete(sh->o->arg, fp, argc + 1, words);
	free(words);
}

/*
 * complete() may ask exod (for profiles), and say on standard error that
 * it cannot: words that would land in the middle of the line being edited.
 */
static void shell_cands_ask_quietly(const struct shell *sh, FILE *fp, int argc, char **argv)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
	int quiet;

	fflush(stderr);
	quiet = null >= 0 && saved >= 0 && dup2(null, STDERR_FILENO) >= 0;
	shell_cands_ask(sh, fp, argc, argv);
	fflush(stderr);
	if (quiet)
		dup2(saved, STDERR_FILENO);
	if (saved >= 0)
		close(saved);
	if (null >= 0)
		close(null);
}

static int shell_cands_get(const struct shell *sh, int argc, char **argv, struct shell_cands *c)
{
	size_t size = 0;
	FILE *fp;

	memset(c, 0, sizeof(*c));
	if (sh->o->complete == NULL || (fp = open_memstream(&c->buf, &size)) == NULL)
		return -1;
	shell_cands_ask_quietly(sh, fp, argc, argv);
	if (fclose(fp) != 0)
		return -1;
	return shell_cands_parse(c, size, argc == 1);
}

static void shell_cands_free(struct shell_cands *c)
{
	free(c->v);
	free(c->buf);
}

/* Characters that would split or change a word typed back in. */
static int shell_needs_quotes(const char *s)
{
	return s[0] == '\0' || s[0] == '#' || s[strcspn(s, " \t\r\n'\"`|")] != '\0';
}

/* The characters (not bytes) of s, as libedit counts them when it deletes. */
static int shell_chars(const char *s)
{
	mbstate_t st;
	size_t len = strlen(s), k;
	int n = 0;

	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < len; i += k, n++) {
		k = mbrlen(s + i, len - i, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			k = 1;
			memset(&st, 0, sizeof(st));
		}
	}
	return n;
}

/* Replaces the word typed (raw, as on the line) with text, quoted if it must be. */
static void shell_replace(EditLine *el, const char *raw, const char *text, size_t len,
			  int space)
{
	char *buf = malloc(2 * len + 4), *p = buf;

	if (buf == NULL)
		return;
	if (shell_needs_quotes(text)) {
		*p++ = '\'';
		for (size_t i = 0; i < len; i++) {
			if (text[i] == '\'')
				*p++ = '\'';
			*p++ = text[i];
		}
		*p++ = '\'';
	} else {
		memcpy(p, text, len);
		p += len;
	}
	if (space)
		*p++ = ' ';
	*p = '\0';
	shell_ed.el_deletestr(el, shell_chars(raw));
	shell_ed.el_insertstr(el, buf);
	free(buf);
}

/* How many leading bytes all candidates share, letters' case aside; 0 unless all begin with word. */
static size_t shell_common(const struct shell_cands *c, const char *word)
{
	size_t common = strlen(c->v[0]), wlen = strlen(word);

	for (size_t i = 0; i < c->n; i++) {
		size_t k = 0;

		if (strncasecmp(c->v[i], word, wlen) != 0)
			return 0;
		while (k < common && c->v[i][k] != '\0' &&
		       tolower((unsigned char)c->v[i][k]) == tolower((unsigned char)c->v[0][k]))
			k++;
		common = k;
	}
	/* never cut a UTF-8 character in two */
	while (common > 0 && ((unsigned char)c->v[0][common] & 0xC0) == 0x80)
		common--;
	return common;
}

/* Lists the candidates in columns, as ls does, below the line. */
static void shell_list(EditLine *el, const struct shell_cands *c)
{
	FILE *fp = stdout;
	int cols = 0;
	size_t width = 0, per, rows;

	shell_ed.el_get(el, EL_GETFP, 1, &fp);
	if (shell_ed.el_get(el, EL_GETTC, "co", &cols) != 0 || cols <= 0)
		cols = SHELL_TTY_COLUMNS;
	fputc('\n', fp);
	if (c->n > SHELL_LIST_MAX) {
		fprintf(fp, "%zu candidates; type more of the word\n", c->n);
		return;
	}
	for (size_t i = 0; i < c->n; i++)
		if (strlen(c->v[i]) > width)
			width = strlen(c->v[i]);
	width += SHELL_LIST_GAP;
	per = (size_t)cols / width > 0 ? (size_t)cols / width : 1;
	rows = (c->n + per - 1) / per;
	for (size_t r = 0; r < rows; r++) {
		for (size_t k = r; k < c->n; k += rows) {
			int last = k + rows >= c->n;

			fprintf(fp, "%-*s", last ? 0 : (int)width, c->v[k]);
		}
		fputc('\n', fp);
	}
}

/* One candidate: in place; several: their common beginning, then (next TAB) the list. */
static unsigned char shell_offer(EditLine *el, const char *raw, const char *word,
				 const struct shell_cands *c)
{
	size_t common;

	if (c->n == 0)
		return CC_ERROR;
	if (c->n == 1) {
		shell_replace(el, raw, c->v[0], strlen(c->v[0]), 1);
		return CC_REFRESH;
	}
	common = shell_common(c, word);
	if (common > strlen(word)) {
		char *prefix = strndup(c->v[0], common);

		if (prefix != NULL && !shell_needs_quotes(prefix)) {
			shell_replace(el, raw, prefix, common, 0);
			free(prefix);
			return CC_REFRESH;
		}
		free(prefix);
	}
	shell_list(el, c);
	return CC_REDISPLAY;
}

static struct shell *shell_of(EditLine *el)
{
	struct shell *sh = NULL;

	shell_ed.el_get(el, EL_CLIENTDATA, &sh);
	return sh;
}

/* TAB: the words up to the cursor, as they will be split, and what complete() offers. */
static unsigned char shell_el_complete(EditLine *el, int ch)
{
	const struct shell *sh = shell_of(el);
	const LineInfo *li = shell_ed.el_line(el);
	char err[SHELL_ERR_LEN];
	struct shell_cands c;
	unsigned char rc = CC_ERROR;
	char *text, **argv = NULL;
	size_t last;
	int argc;

	(void)ch;
	if ((text = strndup(li->buffer, (size_t)(li->cursor - li->buffer))) == NULL)
		return CC_ERROR;
	if (shell_split_partial(text, &argc, &argv, &last, err, sizeof(err)) == 0) {
		if (shell_cands_get(sh, argc, argv, &c) == 0)
			rc = shell_offer(el, text + last, argv[argc - 1], &c);
		shell_cands_free(&c);
	}
	shell_split_free(argv);
	free(text);
	return rc;
}

/*
 * Ctrl-C: the line is dropped and a new prompt shown.  The terminal sends
 * no SIGINT while libedit reads (-isig in its edit mode), so this is a
 * key like any other: it marks the line, shows ^C at its end, and ends it
 * as Enter would, which moves below a line that wrapped.
 */
static unsigned char shell_el_cancel(EditLine *el, int ch)
{
	struct shell *sh = shell_of(el);
	const LineInfo *li = shell_ed.el_line(el);
	char *after = strndup(li->cursor, (size_t)(li->lastchar - li->cursor));

	(void)ch;
	sh->cancelled = 1;
	if (after != NULL)
		shell_ed.el_cursor(el, shell_chars(after));
	free(after);
	shell_ed.el_insertstr(el, "^C");
	shell_ed.el_push(el, "\n");
	return CC_REFRESH;
}

/* Ctrl-Z: with -isig the terminal does not stop the shell itself. */
static unsigned char shell_el_suspend(EditLine *el, int ch)
{
	(void)el;
	(void)ch;
	raise(SIGTSTP);
	return CC_REDISPLAY;
}

static char *shell_el_prompt(EditLine *el)
{
	return shell_of(el)->prompt;
}

/* "exo:PROFILE> ", with what the terminal should not interpret made harmless. */
static void shell_make_prompt(struct shell *sh)
{
	const char *p = sh->o->profile;
	size_t n;

	if (p == NULL || p[0] == '\0') {
		snprintf(sh->prompt, sizeof(sh->prompt), "exo> ");
		return;
	}
	snprintf(sh->prompt, sizeof(sh->prompt), "exo:%.*s", SHELL_MAX_PROMPT - 8, p);
	for (char *q = sh->prompt; *q != '\0'; q++)
		if (iscntrl((unsigned char)*q))
			*q = '?';
	n = strlen(sh->prompt);
	snprintf(sh->prompt + n, sizeof(sh->prompt) - n, "> ");
}

static int shell_el_open(struct shell *sh)
{
	EditLine *el = shell_ed.el_init("exoctl", stdin, stdout, stderr);

	if (el == NULL)
		return -1;
	sh->el = el;
	shell_ed.el_set(el, EL_CLIENTDATA, sh);
	shell_ed.el_set(el, EL_PROMPT, shell_el_prompt);
	shell_ed.el_set(el, EL_EDITOR, "emacs");
	shell_ed.el_set(el, EL_SIGNAL, 1);
	shell_ed.el_set(el, EL_HIST, shell_ed.history, sh->hist);
	/* el_wset: el_set keeps wide copies of these strings that el_end never frees */
	shell_ed.el_wset(el, EL_SETTY, L"-d", L"-isig", NULL);
	shell_ed.el_wset(el, EL_ADDFN, L"exoctl-complete", L"Complete the word before the cursor",
		shell_el_complete);
	shell_ed.el_wset(el, EL_ADDFN, L"exoctl-cancel", L"Drop the line", shell_el_cancel);
	shell_ed.el_wset(el, EL_ADDFN, L"exoctl-suspend", L"Suspend exoctl", shell_el_suspend);
	shell_ed.el_set(el, EL_BIND, "^I", "exoctl-complete", NULL);
	shell_ed.el_set(el, EL_BIND, "^C", "exoctl-cancel", NULL);
	shell_ed.el_set(el, EL_BIND, "^Z", "exoctl-suspend", NULL);
	/* ~/.editrc (or $EDITRC) last, so that the user's bindings win */
	shell_ed.el_source(el, NULL);
	return 0;
}

/* ---- running lines ---- */

static void shell_help(const struct shell *sh)
{
	printf("Type a cmdlet as in PowerShell, or an exoctl command:\n"
	       "  Get-Mailbox -ResultSize 5    runs the cmdlet on exod's warm session\n"
	       "  status, ping, check, login, logout, refresh, metrics, cmdlets [PATTERN]\n"
	       "  help CMDLET                  the cmdlet's parameters\n"
	       "  exit [N], quit, Ctrl-D       leave the shell\n"
	       "Quoting as in PowerShell: 'as is', \"with `t escapes\", ` before one character.\n"
	       "TAB completes; Up and Down recall lines; Ctrl-C drops the line, or stops the\n"
	       "command that runs.  A line that starts with a space is not kept in the history");
	if (sh->history[0] != '\0')
		printf(" (%s)", sh->history);
	printf(".\n");
}

/*
 * A command run from a script reads nothing of it: the script's next lines
 * are not its input, and the file offset the shell reads at is not moved
 * (glibc moves it back to what stdio has consumed when it cleans up).
 */
static void shell_detach_stdin(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && fd != STDIN_FILENO) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	/* and what the shell's stdio had read ahead is not the command's */
	__fpurge(stdin);
}

/*
 * Runs a command in a child: Ctrl-C then ends the child (its connection
 * closes, and exod cancels the request) while the shell, ignoring SIGINT
 * meanwhile, goes on.
 */
static int shell_execute(const struct shell *sh, int argc, char **argv)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, oldint, oldquit;
	int status = 0, rc;
	pid_t pid;

	sigemptyset(&ign.sa_mask);
	fflush(NULL);           /* nothing buffered is written twice */
	sigaction(SIGINT, &ign, &oldint);
	sigaction(SIGQUIT, &ign, &oldquit);
	if ((pid = fork()) == 0) {
		sigaction(SIGINT, &oldint, NULL);
		sigaction(SIGQUIT, &oldquit, NULL);
		if (!sh->interactive)
			shell_detach_stdin();
		rc = sh->o->run(sh->o->arg, argc, argv);
		fflush(NULL);
		_exit(rc & 0xFF);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &oldint, NULL);
	sigaction(SIGQUIT, &oldquit, NULL);
	if (pid < 0) {
		fprintf(stderr, "exoctl: cannot start the command: %s\n", strerror(errno));
		return 1;
	}
	if (WIFSIGNALED(status)) {
		/* below the ^C the terminal echoed */
		if (WTERMSIG(status) == SIGINT && sh->interactive)
			fputc('\n', stdout);
		return SHELL_EXIT_SIGNAL + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}

/* exit [N]: the status, or -1 (said) when N is not 0 to 255. */
static int shell_exit_status(int argc, char **argv)
{
	char *end;
	long n;

	if (argc == 1)
		return 0;
	errno = 0;
	n = argc == 2 ? strtol(argv[1], &end, 10) : -1;
	if (argc > 2 || errno != 0 || end == argv[1] || *end != '\0' || n < 0 || n > 255) {
		fprintf(stderr, "exoctl: %s takes one status, 0 to 255\n", argv[0]);
		return -1;
	}
	return (int)n;
}

/* What the words ask; SHELL_GO_ON, or the status the shell ends with. */
static int shell_words(const struct shell *sh, int argc, char **argv)
{
	char **run;
	int rc;

	if (strcmp(argv[0], "exit") == 0 || strcmp(argv[0], "quit") == 0) {
		rc = shell_exit_status(argc, argv);
		return rc >= 0 ? rc : SHELL_GO_ON;
	}
	if (strcmp(argv[0], "help") == 0 && argc == 1) {
		shell_help(sh);
		return SHELL_GO_ON;
	}
	if (strcmp(argv[0], "shell") == 0) {
		fputs("exoctl: this is the shell already\n", stderr);
		return SHELL_GO_ON;
	}
	if (!shell_is_cmdlet(argv[0])) {
		rc = shell_execute(sh, argc, argv);
	} else if ((run = malloc(((size_t)argc + 2) * sizeof(char *))) != NULL) {
		run[0] = "run";
		memcpy(run + 1, argv, ((size_t)argc + 1) * sizeof(char *));
		rc = shell_execute(sh, argc + 1, run);
		free(run);
	} else {
		fputs("exoctl: out of memory\n", stderr);
		rc = 1;
	}
	/* a script stops at Ctrl-C, as a shell script does; at the prompt, the shell goes on */
	if (rc == SHELL_EXIT_SIGNAL + SIGINT && !sh->interactive)
		return rc;
	return SHELL_GO_ON;
}

static int shell_line(const struct shell *sh, const char *line)
{
	char err[SHELL_ERR_LEN], **argv;
	int argc, rc = SHELL_GO_ON;

	if (line[strspn(line, " \t")] == '#')
		return SHELL_GO_ON;     /* a comment, for scripts */
	if (shell_split(line, &argc, &argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "exoctl: %s\n", err);
		return SHELL_GO_ON;
	}
	if (argc > 0)
		rc = shell_words(sh, argc, argv);
	shell_split_free(argv);
	return rc;
}

/* Standard input that is not a terminal: a script, one line at a time, without prompt. */
static int shell_script(struct shell *sh)
{
	char *buf = malloc(SHELL_MAX_LINE + 2);
	int rc = SHELL_GO_ON, skipping = 0;
	unsigned long lineno = 0;

	if (buf == NULL) {
		fputs("exoctl: out of memory\n", stderr);
		return 1;
	}
	while (rc == SHELL_GO_ON && fgets(buf, SHELL_MAX_LINE + 2, stdin) != NULL) {
		size_t len = strlen(buf);
		int whole = len > 0 && buf[len - 1] == '\n';

		lineno += !skipping;
		if (skipping || (!whole && !feof(stdin))) {
			if (!skipping)
				fprintf(stderr, "exoctl: line %lu is longer than %d bytes; skipped\n",
					lineno, SHELL_MAX_LINE);
			skipping = !whole;
			continue;
		}
		if (whole)
			buf[len - 1] = '\0';
		rc = shell_line(sh, buf);
	}
	free(buf);
	return rc == SHELL_GO_ON ? 0 : rc;
}

/* The prompt: a line at a time from libedit, kept in the history, then run. */
static int shell_prompt_loop(struct shell *sh)
{
	int rc = SHELL_GO_ON;

	while (rc == SHELL_GO_ON) {
		const char *got;
		char *line;
		int n = 0;

		sh->cancelled = 0;
		if ((got = shell_ed.el_gets(sh->el, &n)) == NULL || n <= 0) {
			/* Ctrl-D: end the prompt's line, as the shell ends */
			fputc('\n', stdout);
			return n < 0 ? 1 : 0;
		}
		if (sh->cancelled)
			continue;
		if ((line = strndup(got, (size_t)n)) == NULL)
			return 1;
		line[strcspn(line, "\n")] = '\0';
		shell_history_add(sh, line);
		rc = shell_line(sh, line);
		free(line);
	}
	return rc;
}

static int shell_interactive(struct shell *sh)
{
	const char *was = setlocale(LC_CTYPE, NULL);
	char *saved = was != NULL ? strdup(was) : NULL;
	char err[SHELL_ERR_LEN];
	int rc = 1;

	if (dl_load(SHELL_EDIT_SONAME, SHELL_EDIT_PACKAGE, shell_ed_syms,
		    sizeof(shell_ed_syms) / sizeof(shell_ed_syms[0]), err, sizeof(err)) < 0) {
		fprintf(stderr, "exoctl: %s\n", err);
		free(saved);
		return 1;
	}
	/* libedit reads characters, not bytes: the terminal's encoding must be known */
	setlocale(LC_CTYPE, "");
	if (shell_history_open(sh) < 0 || shell_el_open(sh) < 0)
		fputs("exoctl: cannot set up line editing\n", stderr);
	else
		rc = shell_prompt_loop(sh);
	if (sh->el != NULL)
		shell_ed.el_end(sh->el);
	if (sh->hist != NULL)
		shell_ed.history_end(sh->hist);
	if (saved != NULL)
		setlocale(LC_CTYPE, saved);
	free(saved);
	return rc;
}

int shell_main(const struct shell_options *o)
{
	struct shell sh = { .o = o, .interactive = isatty(STDIN_FILENO) };

	shell_make_prompt(&sh);
	return sh.interactive ? shell_interactive(&sh) : shell_script(&sh);
}
