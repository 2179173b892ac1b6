/* Nagios/Icinga plugin output for exod's profiles. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

static const char *const check_names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

static const char *check_str(yajl_val v, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val s = yajl_tree_get(v, path, yajl_t_string);

	return s != NULL ? s->u.string : NULL;
}

/* -1 when missing or null. */
static long long check_int(yajl_val v, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val n = yajl_tree_get(v, path, yajl_t_number);

	return n != NULL && YAJL_IS_INTEGER(n) ? YAJL_GET_INTEGER(n) : -1;
}

/* Text for the plugin line: '|' starts performance data and a newline ends the line. */
static void check_put(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		fputc(c == '|' ? '/' : (c < ' ' || c == 0x7f) ? ' ' : c, fp);
	}
}

static enum check_status check_worse(enum check_status a, enum check_status b)
{
	/* UNKNOWN ranks below CRITICAL: a known failure says more */
	static const int rank[] = { 0, 1, 3, 2 };

	return rank[b] > rank[a] ? b : a;
}

/* One profile's status, and its words written to fp. */
static enum check_status check_profile(FILE *fp, yajl_val p, const struct check_limits *l)
{
	const char *name = check_str(p, "name"), *state = check_str(p, "state");
	const char *err = check_str(p, "last_error");
	long long left = check_int(p, "token_expires_in"), held = check_int(p, "throttled_for");
	enum check_status st = CHECK_OK;

	check_put(fp, name != NULL ? name : "?");
	fputs(": ", fp);
	if (state == NULL) {
		fputs("no state", fp);
		return CHECK_UNKNOWN;
	}
	if (strcmp(state, "needs_login") == 0) {
		fputs("needs a sign-in (exoctl login -p ", fp);
		check_put(fp, name != NULL ? name : "?");
		fputc(')', fp);
		return CHECK_CRITICAL;
	}
	if (strcmp(state, "error") == 0) {
		fputs("cannot sign in", fp);
		st = CHECK_CRITICAL;
	} else if (strcmp(state, "connected") == 0 && left >= 0) {
		fprintf(fp, "token valid %lld s", left);
		if (left <= l->token_critical)
			st = CHECK_CRITICAL;
		else if (left <= l->token_warning)
			st = CHECK_WARNING;
	} else {
		check_put(fp, state);
	}
	if (held > 0) {
		fprintf(fp, ", throttled for %lld s", held);
		st = check_worse(st, CHECK_WARNING);
	}
	if (err != NULL) {
		fputs(", last error: ", fp);
		check_put(fp, err);
		st = check_worse(st, CHECK_WARNING);
	}
	return st;
}

/* Performance data of one profile; prefix names it when there are several. */
static void check_perfdata(FILE *fp, yajl_val p, const char *prefix, const struct check_limits *l)
{
	long long left = check_int(p, "token_expires_in");

	/* "N:" is Nagios's range for "alert when below N" */
	if (left >= 0)
		fprintf(fp, " '%stoken_seconds'=%llds;%ld:;%ld:;0", prefix, left, l->token_warning,
			l->token_critical);
	fprintf(fp, " '%sin_flight'=%lld;;;0;%lld", prefix, check_int(p, "in_flight"),
		check_int(p, "max_connections"));
	fprintf(fp, " '%squeued'=%lld;;;0", prefix, check_int(p, "queued"));
	fprintf(fp, " '%srequests'=%lldc", prefix, check_int(p, "requests"));
	fprintf(fp, " '%sfailures'=%lldc", prefix, check_int(p, "failures"));
}

static int check_valid_name(const char *s)
{
	return s != NULL && s[0] != '\0' && strcspn(s, "'=| \t\n") == strlen(s) && strlen(s) <= 64;
}

enum check_status check_report(FILE *fp, yajl_val profiles, const struct check_limits *l)
{
	enum check_status st = CHECK_OK;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	size_t n = profiles != NULL && YAJL_IS_ARRAY(profiles) ? profiles->u.array.len : 0;

	if (n == 0) {
		check_fail(fp, CHECK_UNKNOWN, "exod shows this user no profile");
		return CHECK_UNKNOWN;
	}
	if ((mem = open_memstream(&text, &len)) == NULL) {
		check_fail(fp, CHECK_UNKNOWN, "out of memory");
		return CHECK_UNKNOWN;
	}
	for (size_t i = 0; i < n; i++) {
		fputs(i > 0 ? "; " : "", mem);
		st = check_worse(st, check_profile(mem, profiles->u.array.values[i], l));
	}
	fputs(" |", mem);
	for (size_t i = 0; i < n; i++) {
		yajl_val p = profiles->u.array.values[i];
		const char *name = check_str(p, "name");
		char prefix[80] = "";

		if (n > 1 && check_valid_name(name))
			snprintf(prefix, sizeof(prefix), "%s_", name);
		else if (n > 1)
			snprintf(prefix, sizeof(prefix), "profile%zu_", i + 1);
		check_perfdata(mem, p, prefix, l);
	}
	fclose(mem);
	fprintf(fp, "EXOD %s - %s\n", check_names[st], text != NULL ? text : "");
	free(text);
	return st;
}

void check_fail(FILE *fp, enum check_status st, const char *text)
{
	fprintf(fp, "EXOD %s - ", check_names[st]);
	check_put(fp, text);
	fputc('\n', fp);
}
