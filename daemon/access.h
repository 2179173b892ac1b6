/*
 * Who may use a profile, and which cmdlets: the profile's allow_users /
 * allow_groups (everything), read_only_users / read_only_groups (exod's
 * list of cmdlets that only read), the [role NAME] sections that apply to
 * it (their own cmdlet globs), and its cmdlets list, which binds everyone.
 * Names are resolved to ids at start and checked against each peer's
 * SO_PEERCRED credentials.
 */
#ifndef EXOD_ACCESS_H
#define EXOD_ACCESS_H

#include <stddef.h>
#include <sys/types.h>

#include "common/conf.h"

#define ACCESS_MAX_IDS 256              /* names in one list */
#define ACCESS_MAX_GROUPS 256           /* supplementary groups looked at per peer */

enum access_level {
	ACCESS_NONE,
	ACCESS_SOME,                    /* some cmdlets: the read-only list, a role's globs */
	ACCESS_FULL,
};

struct access;

/*
 * Resolves the profile's lists and those of the roles (a list of
 * conf_role, NULL for none) that apply to it; names that do not exist are
 * errors naming the key.
 */
int access_new(const struct conf_profile *conf, const struct conf_role *roles,
	       struct access **out, char *err, size_t errlen);
void access_free(struct access *a);
/* 1 when the profile and its roles name no user or group: the socket's permissions are the only gate. */
int access_open(const struct access *a);
/*
 * The level of a peer.  root and exod's own user always have full access;
 * with no lists configured everyone who can reach the socket has.
 */
enum access_level access_check(const struct access *a, uid_t uid, const gid_t *groups,
			       int ngroups);
/*
 * 1 when the peer may run cmdlet: the profile's cmdlets list allows it
 * (for everyone, root included), and the peer has full access, or it is on
 * the read-only list and the peer reads, or a role of the peer's matches
 * it.  0 otherwise, with the reason in why.
 */
int access_may_run(const struct access *a, uid_t uid, const gid_t *groups, int ngroups,
		   const char *cmdlet, char *why, size_t whylen);

#endif
