/*
 * Who may use a profile: the allow_users / allow_groups and
 * read_only_users / read_only_groups lists of exod.conf, resolved to ids
 * at start, checked against each peer's SO_PEERCRED credentials.
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
	ACCESS_READ,                    /* read cmdlets only (Get-, Test-, ...) */
	ACCESS_FULL,
};

struct access;

/* Resolves the profile's lists; names that do not exist are errors naming the key. */
int access_new(const struct conf_profile *conf, struct access **out, char *err, size_t errlen);
void access_free(struct access *a);
/* 1 when the profile names no user or group: the socket's permissions are the only gate. */
int access_open(const struct access *a);
/*
 * The level of a peer.  root and exod's own user always have full access;
 * with no lists configured everyone who can reach the socket has.
 */
enum access_level access_check(const struct access *a, uid_t uid, const gid_t *groups,
			       int ngroups);

#endif
