/* exoctl's options, anywhere on the line, and the user's config file. */
#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "client/dl.h"

/* libinih is loaded only when there is a user config to read: linked, it costs every run ~40k. */
#define ARGS_INIH_SONAME "libinih.so.1"
#define ARGS_INIH_PACKAGE "libinih1"

static __typeof__(ini_parse_file) *args_ini_parse_file;
static const struct dl_sym args_ini_syms[] = { { "ini_parse_file", &args_ini_parse_file } };

enum args_field {
	ARGS_SOCKET,
	ARGS_PROFILE,
	ARGS_OUTPUT,
	ARGS_QUERY,
	ARGS_SELECT,
	ARGS_SLURP,
	ARGS_QUIET,
	ARGS_NO_PROGRESS,
	ARGS_HELP,
	ARGS_VERSION,
};

struct args_option {
	const char *name;       /* the long form, without "--" */
	char letter;            /* the short form, or 0 */
	int takes_value;
	enum args_field field;
};

static const struct args_option args_options[] = {
	{ "socket", 's', 1, ARGS_SOCKET },
	{ "profile", 'p', 1, ARGS_PROFILE },
	{ "output", 'o', 1, ARGS_OUTPUT },
	{ "query", 0, 1, ARGS_QUERY },
	{ "select", 0, 1, ARGS_SELECT },
	{ "slurp", 0, 0, ARGS_SLURP },
	{ "quiet", 'q', 0, ARGS_QUIET },
	{ "no-progress", 0, 0, ARGS_NO_PROGRESS },
	{ "help", 'h', 0, ARGS_HELP },
	{ "version", 'V', 0, ARGS_VERSION },
};

#define ARGS_NOPTIONS (sizeof(args_options) / sizeof(args_options[0]))

/* Where the words of one command line are being sorted. */
struct args_scan {
	const char *command;
	int cmdlet_seen;        /* run: the cmdlet's name went by */
	int ended;              /* after "--" */
	int opaque;             /* __complete: its words are data, not options */
};

static const struct args_option *args_find_long(const char *w, const char **value)
{
	const char *eq = strchr(w, '=');
	size_t len = eq != NULL ? (size_t)(eq - w) : strlen(w);

	*value = eq != NULL ? eq + 1 : NULL;
	for (size_t i = 0; i < ARGS_NOPTIONS; i++)
		if (strlen(args_options[i].name) == len && strncmp(args_options[i].name, w, len) == 0)
			return &args_options[i];
	return NULL;
}

static const struct args_option *args_find_short(const char *w, const char **value)
{
	*value = NULL;
	for (size_t i = 0; i < ARGS_NOPTIONS; i++) {
		const struct args_option *o = &args_options[i];

		if (o->letter == 0 || w[0] != o->letter)
			continue;
		if (w[1] == '\0')
			return o;
		if (o->takes_value) {   /* -pcontoso */
			*value = w + 1;
			return o;
		}
	}
	return NULL;
}

static void args_set(struct args *a, const struct args_option *o, const char *v)
{
	switch (o->field) {
	case ARGS_SOCKET: a->socket = v; break;
	case ARGS_PROFILE: a->profile = v; break;
	case ARGS_OUTPUT: a->output = v; break;
	case ARGS_QUERY: a->query = v; break;
	case ARGS_SELECT: a->select = v; break;
	case ARGS_SLURP: a->slurp = 1; break;
	case ARGS_QUIET: a->quiet = 1; break;
	case ARGS_NO_PROGRESS: a->no_progress = 1; break;
	case ARGS_HELP: a->help = 1; break;
	case ARGS_VERSION: a->version = 1; break;
	}
}

/* Short options are exoctl's except among a cmdlet's parameters. */
static int args_short_ours(const struct args_scan *s)
{
	return s->command == NULL || strcmp(s->command, "run") != 0 || !s->cmdlet_seen;
}

/*
 * Takes the option at words[*i] when it is exoctl's (advancing *i past its
 * value); 1 taken, 0 not an option of ours, -1 a usage error.
 */
static int args_take(struct args *a, const struct args_scan *s, int n, char **words, int *i,
		     char *err, size_t errlen)
{
	const char *w = words[*i], *value = NULL;
	const struct args_option *o = NULL;

	if (w[0] == '-' && w[1] == '-' && w[2] != '\0')
		o = args_find_long(w + 2, &value);
	else if (w[0] == '-' && w[1] != '\0' && w[1] != '-' && args_short_ours(s))
		o = args_find_short(w + 1, &value);
	if (o == NULL) {
		if (s->command != NULL || w[0] != '-' || w[1] == '\0')
			return 0;
		snprintf(err, errlen, "unknown option '%.64s'", w);
		return -1;
	}
	if (!o->takes_value && value != NULL) {
		snprintf(err, errlen, "--%s takes no value", o->name);
		return -1;
	}
	if (o->takes_value && value == NULL) {
		if (*i + 1 >= n) {
			snprintf(err, errlen, "--%s needs a value", o->name);
			return -1;
		}
		value = words[++*i];
	}
	if (o->takes_value && value[0] == '\0') {
		snprintf(err, errlen, "--%s needs a value", o->name);
		return -1;
	}
	args_set(a, o, value);
	return 1;
}

static void args_note_word(struct args_scan *s, const char *w)
{
	if (s->command == NULL) {
		s->command = w;
		s->opaque = strcmp(w, "__complete") == 0;
	} else if (strcmp(s->command, "run") == 0) {
		s->cmdlet_seen = 1;
	}
}

static int args_check(const struct args *a, char *err, size_t errlen)
{
	if (a->profile != NULL && (a->profile[0] == '\0' || strlen(a->profile) > ARGS_MAX_PROFILE)) {
		snprintf(err, errlen, "a profile name is 1 to %d bytes", ARGS_MAX_PROFILE);
		return -1;
	}
	if (a->slurp && a->query == NULL) {
		snprintf(err, errlen, "--slurp goes with --query");
		return -1;
	}
	return 0;
}

int args_parse_command(struct args *a, int n, char **words, char *err, size_t errlen)
{
	struct args_scan s = { 0 };
	int kept = 0;

	free(a->argv);
	a->argc = 0;
	if ((a->argv = calloc((size_t)n + 1, sizeof(*a->argv))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *w = words[i];
		int rc = 0;

		if (!s.ended && !s.opaque && strcmp(w, "--") == 0) {
			s.ended = 1;
			continue;
		}
		if (!s.ended && !s.opaque &&
		    (rc = args_take(a, &s, n, words, &i, err, errlen)) != 0) {
			if (rc < 0)
				return -1;
			continue;
		}
		args_note_word(&s, w);
		a->argv[kept++] = words[i];
	}
	a->argc = kept;
	return args_check(a, err, errlen);
}

struct args_config {
	struct args *a;
	char why[160];          /* what was wrong with the line inih stopped at */
};

/* inih's handler: 1 on success, 0 stops with the line number. */
static int args_config_key(void *arg, const char *section, const char *name, const char *value)
{
	static const char *const keys[] = { "socket", "profile", "output" };
	struct args_config *c = arg;
	struct args *a = c->a;

	if (section[0] != '\0' && strcmp(section, "exoctl") != 0) {
		snprintf(c->why, sizeof(c->why), "[%.64s]: the only section is [exoctl]", section);
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(name, keys[i]) != 0)
			continue;
		if (value[0] == '\0' || strlen(value) > ARGS_MAX_CONFIG_VALUE) {
			snprintf(c->why, sizeof(c->why), "%s: needs a value", name);
			return 0;
		}
		free(a->store[i]);
		if ((a->store[i] = strdup(value)) == NULL) {
			snprintf(c->why, sizeof(c->why), "out of memory");
			return 0;
		}
		return 1;
	}
	snprintf(c->why, sizeof(c->why), "%.64s: unknown key (socket, profile and output are)", name);
	return 0;
}

static char *args_config_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *path = NULL;
	int n;

	/* The XDG spec: a relative $XDG_CONFIG_HOME is invalid and ignored. */
	if (xdg != NULL && xdg[0] == '/')
		n = asprintf(&path, "%s/%s", xdg, ARGS_CONFIG_NAME);
	else if (home != NULL && home[0] == '/')
		n = asprintf(&path, "%s/.config/%s", home, ARGS_CONFIG_NAME);
	else
		return NULL;
	return n < 0 ? NULL : path;
}

static int args_read_config(struct args *a, char *err, size_t errlen)
{
	struct args_config c = { .a = a, .why = "not a key = value line" };
	FILE *fp;
	int line;

	if ((a->config_path = args_config_path()) == NULL)
		return 0;
	if ((fp = fopen(a->config_path, "re")) == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		/* su without -: $HOME is still another user's; only our own file is worth a word */
		if (errno == EACCES) {
			struct stat st;

			if (stat(a->config_path, &st) == 0 && st.st_uid == geteuid())
				fprintf(stderr, "exoctl: %s: %s (ignored)\n", a->config_path,
					strerror(EACCES));
			return 0;
		}
		snprintf(err, errlen, "%s: %s", a->config_path, strerror(errno));
		return -1;
	}
	if (args_ini_parse_file == NULL &&
	    dl_load(ARGS_INIH_SONAME, ARGS_INIH_PACKAGE, args_ini_syms, 1, err, errlen) < 0) {
		fclose(fp);
		return -1;
	}
	line = args_ini_parse_file(fp, args_config_key, &c);
	fclose(fp);
	if (line != 0) {
		snprintf(err, errlen, "%s:%d: %s", a->config_path, line, c.why);
		return -1;
	}
	a->socket = a->store[0];
	a->profile = a->store[1];
	a->output = a->store[2];
	return 0;
}

static const char *args_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

int args_parse(struct args *a, int argc, char **argv, char *err, size_t errlen)
{
	if (args_read_config(a, err, errlen) < 0)
		return -1;
	if (args_env("EXOD_SOCKET") != NULL)
		a->socket = args_env("EXOD_SOCKET");
	if (args_env("EXOD_PROFILE") != NULL)
		a->profile = args_env("EXOD_PROFILE");
	return args_parse_command(a, argc - 1, argv + 1, err, errlen);
}

void args_free(struct args *a)
{
	free(a->argv);
	a->argv = NULL;
	free(a->config_path);
	a->config_path = NULL;
	for (size_t i = 0; i < sizeof(a->store) / sizeof(a->store[0]); i++) {
		free(a->store[i]);
		a->store[i] = NULL;
	}
	memset(a, 0, sizeof(*a));
}

const char *args_long_option(size_t i)
{
	return i < ARGS_NOPTIONS ? args_options[i].name : NULL;
}

int args_takes_value(const char *w)
{
	const struct args_option *o = NULL;
	const char *value = NULL;

	if (w[0] == '-' && w[1] == '-' && w[2] != '\0')
		o = args_find_long(w + 2, &value);
	else if (w[0] == '-' && w[1] != '\0' && w[2] == '\0')
		o = args_find_short(w + 1, &value);
	return o != NULL && o->takes_value && value == NULL;
}
