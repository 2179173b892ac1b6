/* Access lists of a profile, its roles and cmdlet globs, and the check of a peer against them. */
#include "daemon/access.h"

#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/readonly.h"

/* Grown as names come: most lists are empty, and a profile's lists are kept for its life. */
struct id_list {
	int n;
	unsigned *ids;
};

/* Cmdlet globs, each NUL-terminated, matched without regard to case (PowerShell's way). */
struct glob_list {
	int n;
	char **globs;
};

struct access_role {
	char *name;
	struct id_list users, groups;
	struct glob_list cmdlets;
};

struct access {
	char *profile;
	struct id_list users, groups, ro_users, ro_groups;
	struct glob_list cmdlets;       /* the profile's own; n == 0: every cmdlet */
	int nroles;
	struct access_role *roles;
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

struct ids_parse {
	const char *key;
	int group;
	struct id_list *out;
	char *err;
	size_t errlen;
};

static int access_add_id(void *arg, const char *item, size_t len)
{
	struct ids_parse *ip = arg;
	char name[256];
	unsigned *grown;

	if (ip->out->n >= ACCESS_MAX_IDS) {
		snprintf(ip->err, ip->errlen, "%s: more than %d names", ip->key, ACCESS_MAX_IDS);
		return -1;
	}
	snprintf(name, sizeof(name), "%.*s", (int)len, item);
	grown = realloc(ip->out->ids, (size_t)(ip->out->n + 1) * sizeof(*grown));
	if (grown == NULL) {
		snprintf(ip->err, ip->errlen, "out of memory");
		return -1;
	}
	ip->out->ids = grown;
	if (access_resolve(name, ip->group, &ip->out->ids[ip->out->n]) < 0) {
		snprintf(ip->err, ip->errlen, "%s: no %s named \"%.64s\"", ip->key,
			 ip->group ? "group" : "user", name);
		return -1;
	}
	ip->out->n++;
	return 0;
}

static int access_parse(const char *key, const char *value, int group, struct id_list *out,
			char *err, size_t errlen)
{
	struct ids_parse ip = { key, group, out, err, errlen };

	return conf_list_each(value, access_add_id, &ip) != 0 ? -1 : 0;
}

static int access_add_glob(void *arg, const char *item, size_t len)
{
	struct glob_list *gl = arg;
	char **g = realloc(gl->globs, (size_t)(gl->n + 1) * sizeof(*g));

	if (g == NULL)
		return -1;
	gl->globs = g;
	if ((g[gl->n] = strndup(item, len)) == NULL)
		return -1;
	gl->n++;
	return 0;
}

static int access_parse_globs(const char *value, struct glob_list *out, char *err, size_t errlen)
{
	if (conf_list_each(value, access_add_glob, out) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void access_free_globs(struct glob_list *gl)
{
	for (int i = 0; i < gl->n; i++)
		free(gl->globs[i]);
	free(gl->globs);
}

static int access_add_roles(struct access *a, const struct conf_profile *conf,
			    const struct conf_role *roles, char *err, size_t errlen)
{
	int n = 0;

	for (const struct conf_role *r = roles; r != NULL; r = r->next)
		n += conf_role_applies(r, conf->name);
	if (n == 0)
		return 0;
	if ((a->roles = calloc((size_t)n, sizeof(*a->roles))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (const struct conf_role *r = roles; r != NULL; r = r->next) {
		struct access_role *ar = &a->roles[a->nroles];
		char msg[256];

		if (!conf_role_applies(r, conf->name))
			continue;
		a->nroles++;
		if ((ar->name = strdup(r->name)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (access_parse("users", r->users, 0, &ar->users, msg, sizeof(msg)) < 0 ||
		    access_parse("groups", r->groups, 1, &ar->groups, msg, sizeof(msg)) < 0 ||
		    access_parse_globs(r->cmdlets, &ar->cmdlets, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "role %s: %s", r->name, msg);
			return -1;
		}
	}
	return 0;
}

int access_new(const struct conf_profile *conf, const struct conf_role *roles,
	       struct access **out, char *err, size_t errlen)
{
	struct access *a = calloc(1, sizeof(*a));
	char msg[256];

	*out = NULL;
	if (a == NULL || (a->profile = strdup(conf->name)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (access_parse("allow_users", conf->allow_users, 0, &a->users, msg, sizeof(msg)) < 0 ||
	    access_parse("allow_groups", conf->allow_groups, 1, &a->groups, msg, sizeof(msg)) < 0 ||
	    access_parse("read_only_users", conf->read_only_users, 0, &a->ro_users, msg, sizeof(msg)) < 0 ||
	    access_parse("read_only_groups", conf->read_only_groups, 1, &a->ro_groups, msg, sizeof(msg)) < 0 ||
	    access_parse_globs(conf->cmdlets, &a->cmdlets, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "profile %s: %s", conf->name, msg);
		goto fail;
	}
	if (access_add_roles(a, conf, roles, err, errlen) < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	access_free(a);
	return -1;
}

void access_free(struct access *a)
{
	if (a == NULL)
		return;
	for (int i = 0; i < a->nroles; i++) {
		free(a->roles[i].name);
		free(a->roles[i].users.ids);
		free(a->roles[i].groups.ids);
		access_free_globs(&a->roles[i].cmdlets);
	}
	free(a->users.ids);
	free(a->groups.ids);
	free(a->ro_users.ids);
	free(a->ro_groups.ids);
	free(a->roles);
	access_free_globs(&a->cmdlets);
	free(a->profile);
	free(a);
}

int access_open(const struct access *a)
{
	return a->users.n == 0 && a->groups.n == 0 && a->ro_users.n == 0 && a->ro_groups.n == 0 &&
	       a->nroles == 0;
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

static int access_member(const struct id_list *users, const struct id_list *groups, uid_t uid,
			 const gid_t *gids, int ngroups)
{
	return access_in(users, (unsigned)uid) || access_any_group(groups, gids, ngroups);
}

static int access_glob_match(const struct glob_list *gl, const char *cmdlet)
{
	for (int i = 0; i < gl->n; i++)
		if (fnmatch(gl->globs[i], cmdlet, FNM_CASEFOLD) == 0)
			return 1;
	return 0;
}

static int access_full(const struct access *a, uid_t uid, const gid_t *groups, int ngroups)
{
	return uid == 0 || uid == geteuid() || access_open(a) ||
	       access_member(&a->users, &a->groups, uid, groups, ngroups);
}

/* The role of the peer's that allows cmdlet, or NULL. */
static const struct access_role *access_role_for(const struct access *a, uid_t uid,
						 const gid_t *groups, int ngroups,
						 const char *cmdlet)
{
	for (int i = 0; i < a->nroles; i++) {
		const struct access_role *r = &a->roles[i];

		if (access_member(&r->users, &r->groups, uid, groups, ngroups) &&
		    (cmdlet == NULL || access_glob_match(&r->cmdlets, cmdlet)))
			return r;
	}
	return NULL;
}

enum access_level access_check(const struct access *a, uid_t uid, const gid_t *groups,
			       int ngroups)
{
	if (access_full(a, uid, groups, ngroups))
		return ACCESS_FULL;
	if (access_member(&a->ro_users, &a->ro_groups, uid, groups, ngroups) ||
	    access_role_for(a, uid, groups, ngroups, NULL) != NULL)
		return ACCESS_SOME;
	return ACCESS_NONE;
}

int access_may_run(const struct access *a, uid_t uid, const gid_t *groups, int ngroups,
		   const char *cmdlet, char *why, size_t whylen)
{
	if (a->cmdlets.n > 0 && !access_glob_match(&a->cmdlets, cmdlet)) {
		snprintf(why, whylen, "profile %s does not run %s (not in its cmdlets list)",
			 a->profile, cmdlet);
		return 0;
	}
	if (access_full(a, uid, groups, ngroups))
		return 1;
	if (access_member(&a->ro_users, &a->ro_groups, uid, groups, ngroups) &&
	    readonly_cmdlet(cmdlet, strlen(cmdlet)))
		return 1;
	if (access_role_for(a, uid, groups, ngroups, cmdlet) != NULL)
		return 1;
	snprintf(why, whylen, "uid %u may not run %s on profile %s", (unsigned)uid, cmdlet,
		 a->profile);
	return 0;
}
