/* exoctl cmdlets, exoctl help and the candidates for shell completion, from the catalogue. */
#include "client/discover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/args.h"
#include "common/catalogue.h"

#define DISCOVER_LINE 4096              /* bytes of one wrapped help line */
#define DISCOVER_SERVICES 128           /* bytes of a list of service names */
#define DISCOVER_OPTION 64              /* bytes of "--" and a long option's name */

/* The commands exoctl has, for completion; keep in step with exoctl.c. */
static const char *const discover_commands[] = {
	"run", "status", "ping", "check", "login", "logout", "refresh", "metrics", "cmdlets", "help",
	"shell", NULL,
};
static const char *const discover_formats[] = {
	"table", "list", "json", "ndjson", "csv", "tsv", "yaml", NULL,
};
/* PowerShell's common parameters, which every cmdlet takes (the binder handles them). */
static const char *const discover_common[] = {
	"-ErrorAction", "-WarningAction", "-InformationAction", "-Verbose", "-Debug",
	"-ErrorVariable", "-WarningVariable", "-InformationVariable", "-OutVariable",
	"-PipelineVariable", "-OutBuffer", NULL,
};
static const char *const discover_actions[] = {
	"Continue", "SilentlyContinue", "Stop", "Ignore", NULL,
};

/* ---- exoctl cmdlets ---- */

int discover_cmdlets(FILE *out, const char *pattern, unsigned services, char *err,
		     size_t errlen)
{
	const struct catalogue_cmdlet *c;
	size_t cursor = 0, plen = pattern != NULL ? strlen(pattern) : 0;
	int found = 0;

	if (plen > CATALOGUE_MAX_PATTERN) {
		snprintf(err, errlen, "cmdlets: a pattern is at most %d bytes", CATALOGUE_MAX_PATTERN);
		return -1;
	}
	while ((c = catalogue_next(pattern, plen, &cursor)) != NULL) {
		if (!(catalogue_cmdlet_services(c) & services))
			continue;
		fprintf(out, "%s\n", catalogue_cmdlet_name(c));
		found = 1;
	}
	if (!found) {
		snprintf(err, errlen, "cmdlets: no cmdlet matches '%.64s'", pattern != NULL ? pattern : "");
		return -1;
	}
	return 0;
}

/* ---- exoctl help ---- */

/* Words appended to a line, wrapped at a width with an indent. */
struct wrap {
	FILE *out;
	int width, indent, col;
};

static void wrap_word(struct wrap *w, const char *word)
{
	int len = (int)strlen(word);

	if (w->col > w->indent && w->col + 1 + len > w->width) {
		fprintf(w->out, "\n%*s", w->indent, "");
		w->col = w->indent;
	} else if (w->col > w->indent) {
		fputc(' ', w->out);
		w->col++;
	}
	fputs(word, w->out);
	w->col += len;
}

/* One member as Get-Command -Syntax writes it: [[-Name] <Type>], [-Switch], -Name <Type>. */
static void discover_member(char *buf, size_t cap, const struct catalogue_param *p,
			    const struct catalogue_member *m)
{
	const char *name = catalogue_param_name(p);
	const char *type = catalogue_param_type(p);
	char head[CATALOGUE_MAX_NAME + 8];

	if (catalogue_param_kind(p) == CATALOGUE_SWITCH) {
		snprintf(buf, cap, m->required ? "-%s" : "[-%s]", name);
		return;
	}
	snprintf(head, sizeof(head), m->position >= 0 ? "[-%s]" : "-%s", name);
	snprintf(buf, cap, m->required ? "%s <%s>" : "[%s <%s>]", head, type);
}

/* A parameter shown for a profile of these services (0: any). */
static int discover_param_shown(const struct catalogue_param *p, unsigned services)
{
	return services == 0 || (catalogue_param_services(p) & services);
}

static void discover_syntax(FILE *out, const struct catalogue_cmdlet *c,
			    const struct catalogue_set *s, int width, unsigned services)
{
	struct wrap w = { out, width, 6, 0 };
	struct catalogue_member m;
	char buf[DISCOVER_LINE];

	fprintf(out, "  %s%s:\n    ", catalogue_set_name(s),
		catalogue_set_is_default(s) ? " (default)" : "");
	w.col = 4;
	wrap_word(&w, catalogue_cmdlet_name(c));
	/* Positional members first, in position order, as PowerShell lists them. */
	for (int pos = 0; pos < 64; pos++)
		for (size_t i = 0; catalogue_set_member(s, i, &m) == 0; i++)
			if (m.position == pos &&
			    discover_param_shown(catalogue_param_at(c, m.param), services)) {
				discover_member(buf, sizeof(buf), catalogue_param_at(c, m.param), &m);
				wrap_word(&w, buf);
			}
	for (size_t i = 0; catalogue_set_member(s, i, &m) == 0; i++)
		if (m.position < 0 && discover_param_shown(catalogue_param_at(c, m.param), services)) {
			discover_member(buf, sizeof(buf), catalogue_param_at(c, m.param), &m);
			wrap_word(&w, buf);
		}
	wrap_word(&w, "[<CommonParameters>]");
	fputs("\n", out);
}

static void discover_param(FILE *out, const struct catalogue_param *p, int pad)
{
	enum catalogue_kind k = catalogue_param_kind(p);
	size_t na = catalogue_param_alias_count(p);

	fprintf(out, "  -%-*s  %s", pad, catalogue_param_name(p), catalogue_param_type(p));
	if (k == CATALOGUE_SECURE)
		fputs("  (not sent: the module's encryption key is not public)", out);
	else if (catalogue_param_flags(p) & CATALOGUE_MULTI)
		fputs("  (a list: a,b,c)", out);
	for (size_t i = 0; i < na; i++)
		fprintf(out, "%s-%s", i == 0 ? "  aliases: " : ", ", catalogue_param_alias(p, i));
	fputs("\n", out);
}

int discover_help(FILE *out, const char *cmdlet, int width, unsigned services, char *err,
		  size_t errlen)
{
	const struct catalogue_cmdlet *c = catalogue_find(cmdlet, strlen(cmdlet));
	char names[DISCOVER_SERVICES], want[DISCOVER_SERVICES];
	int pad = 0;

	if (c == NULL) {
		snprintf(err, errlen, "help: '%.128s' is not in the catalogue (exoctl cmdlets lists "
			 "it; exoctl run still sends a cmdlet it does not know)", cmdlet);
		return -1;
	}
	if (width <= 0)
		width = DISCOVER_WRAP;
	fprintf(out, "%s (%s)\n", catalogue_cmdlet_name(c),
		catalogue_services_text(catalogue_cmdlet_services(c), names, sizeof(names)));
	/* Not the profile's service: all of it is shown, with what exod will say. */
	if (services != 0 && !(catalogue_cmdlet_services(c) & services)) {
		fprintf(out, "The profile speaks to %s: exod refuses this cmdlet there.\n",
			catalogue_services_text(services, want, sizeof(want)));
		services = 0;
	}
	fputs("\nSyntax:\n", out);
	for (size_t i = 0; i < catalogue_set_count(c); i++)
		discover_syntax(out, c, catalogue_set_at(c, i), width, services);
	fputs("\nParameters:\n", out);
	for (size_t i = 0; i < catalogue_param_count(c); i++) {
		size_t len = strlen(catalogue_param_name(catalogue_param_at(c, i)));

		if ((int)len > pad)
			pad = (int)len;
	}
	for (size_t i = 0; i < catalogue_param_count(c); i++)
		if (discover_param_shown(catalogue_param_at(c, i), services))
			discover_param(out, catalogue_param_at(c, i), pad);
	fprintf(out, "\nFrom %s.\n", catalogue_source());
	return 0;
}

/* ---- __complete ---- */

static int discover_prefix(const char *word, const char *prefix)
{
	return strncasecmp(word, prefix, strlen(prefix)) == 0;
}

static void discover_list(FILE *out, const char *const *names, const char *prefix)
{
	for (; *names != NULL; names++)
		if (discover_prefix(*names, prefix))
			fprintf(out, "%s\n", *names);
}

/* A completion's context: the hooks, and the services of the line's profile once asked. */
struct discover_line {
	const struct discover_hooks *h;
	const char *profile;            /* named on the line, or NULL */
	unsigned services;
	int asked;
};

static unsigned discover_line_services(struct discover_line *l)
{
	if (!l->asked && l->h != NULL && l->h->services != NULL)
		l->services = l->h->services(l->h->arg, l->profile);
	l->asked = 1;
	return l->services;
}

static void discover_cmdlet_names(FILE *out, const char *prefix, unsigned services)
{
	const struct catalogue_cmdlet *c;
	size_t cursor = 0;

	while ((c = catalogue_next(NULL, 0, &cursor)) != NULL)
		if ((services == 0 || (catalogue_cmdlet_services(c) & services)) &&
		    discover_prefix(catalogue_cmdlet_name(c), prefix))
			fprintf(out, "%s\n", catalogue_cmdlet_name(c));
}

static void discover_param_names(FILE *out, const char *cmdlet, const char *prefix,
				 unsigned services)
{
	const struct catalogue_cmdlet *c = catalogue_find(cmdlet, strlen(cmdlet));
	const char *bare = prefix[0] == '-' ? prefix + 1 : prefix;

	if (c != NULL)
		for (size_t i = 0; i < catalogue_param_count(c); i++) {
			const struct catalogue_param *p = catalogue_param_at(c, i);

			if (discover_param_shown(p, services) &&
			    discover_prefix(catalogue_param_name(p), bare))
				fprintf(out, "-%s\n", catalogue_param_name(p));
		}
	discover_list(out, discover_common, prefix);
	if (discover_prefix("--params", prefix))
		fputs("--params\n", out);
}

/* Values for the parameter before the word: what a Boolean or an action takes. */
static int discover_param_values(FILE *out, const char *cmdlet, const char *param,
				 const char *prefix)
{
	const struct catalogue_cmdlet *c = catalogue_find(cmdlet, strlen(cmdlet));
	const struct catalogue_param *p;

	if (param[0] != '-' || param[1] == '-')
		return 0;
	param++;
	if (strcasecmp(param, "ErrorAction") == 0 || strcasecmp(param, "WarningAction") == 0 ||
	    strcasecmp(param, "InformationAction") == 0) {
		discover_list(out, discover_actions, prefix);
		return 1;
	}
	p = c != NULL ? catalogue_param_find(c, param, strlen(param)) : NULL;
	if (p != NULL && catalogue_param_kind(p) == CATALOGUE_BOOLEAN) {
		/* Words the shell leaves alone: $true unquoted would expand to nothing. */
		static const char *const booleans[] = { "true", "false", NULL };

		discover_list(out, booleans, prefix);
		return 1;
	}
	return 0;
}

/* exoctl's long options (client/args.c has them) that start with prefix. */
static void discover_options(FILE *out, const char *prefix)
{
	char option[DISCOVER_OPTION];
	const char *name;

	for (size_t i = 0; (name = args_long_option(i)) != NULL; i++)
		if ((size_t)snprintf(option, sizeof(option), "--%s", name) < sizeof(option) &&
		    discover_prefix(option, prefix))
			fprintf(out, "%s\n", option);
}

static void discover_option_value(FILE *out, const char *opt, const char *cur,
				  const struct discover_hooks *h);

/* The words of the command itself: cmdlets, parameters, the command's own options. */
static void discover_command_words(FILE *out, int n, char *const words[], int cmd,
				   struct discover_line *l)
{
	const char *cur = words[n - 1];
	const char *command = words[cmd];
	int argi = n - 1 - cmd;         /* the word's place after the command, from 1 */

	if (strcmp(command, "run") == 0 || strcmp(command, "help") == 0) {
		if (argi == 1)
			discover_cmdlet_names(out, cur, discover_line_services(l));
		else if (strcmp(command, "run") == 0 &&
			 !discover_param_values(out, words[cmd + 1], words[n - 2], cur) &&
			 cur[0] == '-')
			discover_param_names(out, words[cmd + 1], cur, discover_line_services(l));
	} else if (strcmp(command, "login") == 0) {
		static const char *const opts[] = { "--browser", "--device", "--password",
						    "--timeout", "--port", "--no-open", NULL };

		discover_list(out, opts, cur);
	} else if (strcmp(command, "metrics") == 0) {
		static const char *const opts[] = { "--prometheus", NULL };

		discover_list(out, opts, cur);
	} else if (strcmp(command, "check") == 0) {
		static const char *const opts[] = { "--token-warning", "--token-critical", NULL };

		discover_list(out, opts, cur);
	}
}

/*
 * exoctl's long options are valid after the command too, values and all;
 * they are offered when none of the command's own words fits.
 */
static void discover_after_command(FILE *out, int n, char *const words[], int cmd,
				   struct discover_line *l)
{
	const char *cur = words[n - 1];
	char *own = NULL;
	size_t len = 0;
	FILE *mem;

	if (n - 1 - cmd > 1 && strncmp(words[n - 2], "--", 2) == 0 &&
	    args_takes_value(words[n - 2])) {
		discover_option_value(out, words[n - 2], cur, l->h);
		return;
	}
	if ((mem = open_memstream(&own, &len)) == NULL)
		return;
	discover_command_words(mem, n, words, cmd, l);
	fclose(mem);
	if (len == 0 && strncmp(cur, "--", 2) == 0)
		discover_options(out, cur);
	else if (own != NULL)
		fwrite(own, 1, len, out);
	free(own);
}

static void discover_option_value(FILE *out, const char *opt, const char *cur,
				  const struct discover_hooks *h)
{
	if (strcmp(opt, "-o") == 0 || strcmp(opt, "--output") == 0)
		discover_list(out, discover_formats, cur);
	else if ((strcmp(opt, "-p") == 0 || strcmp(opt, "--profile") == 0) && h != NULL &&
		 h->profiles != NULL)
		h->profiles(h->arg, out, cur);
}

/*
 * The profile the line names before the word being completed: -p NAME
 * among the options before the command, --profile NAME or --profile=NAME
 * anywhere (the last one wins, as for exoctl's options).
 */
static const char *discover_line_profile(int n, char *const words[], int cmd)
{
	const char *found = NULL;

	for (int i = 0; i + 1 < n; i++) {
		if (strncmp(words[i], "--profile=", 10) == 0)
			found = words[i] + 10;
		else if (i + 2 < n && (strcmp(words[i], "--profile") == 0 ||
				       (i < cmd && strcmp(words[i], "-p") == 0)))
			found = words[++i];
	}
	return found;
}

void discover_complete(FILE *out, int n, char *const words[], const struct discover_hooks *h)
{
	struct discover_line l = { h, NULL, 0, 0 };
	const char *cur;
	int i;

	if (n <= 0 || n > DISCOVER_MAX_WORDS)
		return;
	cur = words[n - 1];
	/* Global options come first; the first other word is the command. */
	for (i = 0; i < n - 1; i++) {
		if (args_takes_value(words[i]) && i + 1 == n - 1) {
			discover_option_value(out, words[i], cur, h);
			return;
		}
		if (args_takes_value(words[i]))
			i++;
		else if (words[i][0] != '-')
			break;
	}
	if (i == n - 1) {
		if (cur[0] == '-')
			discover_options(out, cur);
		else
			discover_list(out, discover_commands, cur);
		return;
	}
	l.profile = discover_line_profile(n, words, i);
	discover_after_command(out, n, words, i, &l);
}
