/*
 * The exoctl commands exod's messages tell people to run, written so that
 * pasting them works: 'exoctl login -p contoso', with --password for a
 * password profile, and -s SOCKET when exod does not listen on exoctl's
 * default socket.
 */
#ifndef EXOD_HINT_H
#define EXOD_HINT_H

#include <stddef.h>

#include "common/conf.h"

#define HINT_MAX 512                    /* bytes of one command, quotes included */

/* 'exoctl COMMAND -p NAME [-s SOCKET]' for the profile, in buf; returns buf. */
const char *hint_exoctl(const struct conf_profile *p, const char *command, char *buf, size_t len);
/* The login that signs the profile in: 'exoctl login [--password] -p NAME [-s SOCKET]'. */
const char *hint_login(const struct conf_profile *p, char *buf, size_t len);

#endif
