/* Access lists of a profile, and the check of a peer against them. */
#include "daemon/access.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct id_list {
	int n;
	unsigned ids[ACCESS_MAX_IDS];
};

struct access {
	struct id_list users, groups, ro_users, ro_groups;
};

/* A name or a number; names are looked up once, here. */
static int access_resolve(const char *name, int group, unsigned *id)
{
	char *end;
	unsigned long n = strtoul(name, &end, 10);

	if (*name != '\0' && *end == '\0' && n <= 0xFFFFFFFEUL) {
		*id = (unsigned)n;
		return 0;
	}
	if (group) {
		const struct group *g = getgrnam(name);

		if (g == NULL)
			return -1;
		*id = (unsigned)g->gr_gid;
	} else {
		const struct passwd *p = getpwnam(name);

		if (p == NULL)
			return -1;
		*id = (unsigned)p->pw_uid;
	}
	return 0;
}

static int access_parse(const char *key, const char *value, int group, struct id_list *out,
			char *err, size_t errlen)
{
	char *copy, *save = NULL;
	int rc = 0;

	if (value == NULL)
		return 0;
	copy = strdup(value);
	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (char *tok = strtok_r(copy, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
		if (out->n >= ACCESS_MAX_IDS) {
			snprintf(err, errlen, "%s: more than %d names", key, ACCESS_MAX_IDS);
			rc = -1;
			break;
		}
		if (access_resolve(tok, group, &out->ids[out->n]) < 0) {
			snprintf(err, errlen, "%s: no %s named \"%.64s\"", key, group ? "group" : "user", tok);
			rc = -1;
			break;
		}
		out->n++;
	}
	free(copy);
	return rc;
}

int access_new(const struct conf_profile *conf, struct access **out, char *err, size_t errlen)
{
	struct access *a = calloc(1, sizeof(*a));
	char msg[256];

	*out = NULL;
	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (access_parse("allow_users", conf->allow_users, 0, &a->users, msg, sizeof(msg)) < 0 ||
	    access_parse("allow_groups", conf->allow_groups, 1, &a->groups, msg, sizeof(msg)) < 0 ||
	    access_parse("read_only_users", conf->read_only_users, 0, &a->ro_users, msg, sizeof(msg)) < 0 ||
	    access_parse("read_only_groups", conf->read_only_groups, 1, &a->ro_groups, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "profile %s: %s", conf->name, msg);
		free(a);
		return -1;
	}
	*out = a;
	return 0;
}

void access_free(struct access *a)
{
	free(a);
}

int access_open(const struct access *a)
{
	return a->users.n == 0 && a->groups.n == 0 && a->ro_users.n == 0 && a->ro_groups.n == 0;
}

static int access_in(const struct id_list *l, unsigned id)
{
	for (int i = 0; i < l->n; i++)
		if (l->ids[i] == id)
			return 1;
	return 0;
}

static int access_any_group(const struct id_list *l, const gid_t *groups, int ngroups)
{
	for (int i = 0; i < ngroups; i++)
		if (access_in(l, (unsigned)groups[i]))
			return 1;
	return 0;
}

enum access_level access_check(const struct access *a, uid_t uid, const gid_t *groups,
			       int ngroups)
{
	if (uid == 0 || uid == geteuid() || access_open(a))
		return ACCESS_FULL;
	if (access_in(&a->users, (unsigned)uid) || access_any_group(&a->groups, groups, ngroups))
		return ACCESS_FULL;
	if (access_in(&a->ro_users, (unsigned)uid) || access_any_group(&a->ro_groups, groups, ngroups))
		return ACCESS_READ;
	return ACCESS_NONE;
}
