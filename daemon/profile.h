/*
 * One configured Exchange Online connection: its settings, access lists,
 * token, pool and InvokeCommand target, behind one facade.  The server
 * asks a profile to run, sign in, sign out or refresh; it never reaches
 * into the parts.
 */
#ifndef EXOD_PROFILE_H
#define EXOD_PROFILE_H

#include <stddef.h>
#include <sys/types.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/conf.h"
#include "daemon/access.h"
#include "daemon/auth.h"
#include "daemon/exo.h"
#include "daemon/token.h"

struct event_base;
struct cluster;
struct http;
struct metrics_profile;
struct profile;

/* roles: the [role NAME] sections of the configuration (those for other profiles are skipped). */
struct profile *profile_new(struct event_base *base, struct http *http,
			    const struct conf_profile *conf, const struct conf_role *roles,
			    const char *state_dir, char *err, size_t errlen);
void profile_free(struct profile *p);
/*
 * Whether every file and directory the settings name (for their auth
 * method) opens: else -1, with an error naming the file, line and key of
 * exod.conf, as any other error in it would.  What is in the files is for
 * the loaders to judge.  profile_new does this first.
 */
int profile_check_paths(const struct conf_profile *conf, char *err, size_t errlen);
/* Profiles form a list in file order. */
struct profile *profile_next(const struct profile *p);
void profile_set_next(struct profile *p, struct profile *next);
const struct conf_profile *profile_conf(const struct profile *p);
const char *profile_name(const struct profile *p);
/* What the profile speaks to: Exchange Online, or Security & Compliance (its cmdlets). */
enum conf_service profile_service(const struct profile *p);
/* Reload: an unchanged profile takes its settings from the new struct conf. */
void profile_set_conf(struct profile *p, const struct conf_profile *conf, const char *state_dir);
/*
 * Shares the profile's budget (slots, throttling) and, for a delegated
 * sign-in, the sign-in itself with the other hosts of the cluster; before
 * profile_start.  -1 when out of memory.
 */
int profile_join(struct profile *p, struct cluster *cluster, char *err, size_t errlen);
/* Starts signing in, for methods that need no person (at start and after reload). */
void profile_start(struct profile *p);
/* 1 while anything still runs for the profile: it may not be freed yet. */
int profile_busy(const struct profile *p);
/* A client request names the profile: it is not freed before profile_release. */
void profile_hold(struct profile *p);
void profile_release(struct profile *p);

/* 1 when the profile names no user or group, so a peer's groups need not be looked up. */
int profile_open(const struct profile *p);
enum access_level profile_access(const struct profile *p, uid_t uid, const gid_t *groups,
				 int ngroups);
/* See access_may_run. */
int profile_may_run(const struct profile *p, uid_t uid, const gid_t *groups, int ngroups,
		    const char *cmdlet, char *why, size_t whylen);

int profile_run(struct profile *p, const struct exo_request *rq, const struct exo_sink *sink,
		void *arg, struct exo_call **out, struct exo_end *end);
void profile_observe(struct profile *p, double ms);

/*
 * exoctl login as req says: refused when it cannot sign the profile in
 * (auth_login_check), else see token_login.
 */
int profile_login(struct profile *p, const struct auth_login_req *req, auth_progress_cb progress,
		  void *progress_arg, char *err, size_t errlen);
/* 1 when a login with method (NULL: the profile's own) is a browser sign-in. */
int profile_login_is_browser(const struct profile *p, const char *method);
/*
 * The first step of a browser sign-in: the authorize URL for the client
 * to complete and open (auth_authorize_url), malloc'd; NULL with a
 * message when the profile does not sign in with the browser.
 */
char *profile_authorize_url(const struct profile *p, char *err, size_t errlen);
void profile_login_detach(struct profile *p);
/* exoctl logout (token_forget); msg says what that did and what comes next. */
void profile_logout(struct profile *p, char *msg, size_t msglen);
void profile_refresh(struct profile *p);
/* cb once a token is held or getting one failed (from the event loop). */
struct token_wait *profile_wait(struct profile *p, token_cb cb, void *arg);
void profile_wait_cancel(struct token_wait *w);
const char *profile_identity(const struct profile *p);

void profile_status(const struct profile *p, yajl_gen g);
void profile_metrics(const struct profile *p, struct metrics_profile *m);

#endif
