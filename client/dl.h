/*
 * exoctl's optional libraries (libjq for --query, libyaml for -o yaml,
 * libedit for the shell), loaded when first used: linked, each would cost
 * every exoctl run its relocations at start-up.
 */
#ifndef EXOCTL_DL_H
#define EXOCTL_DL_H

#include <stddef.h>

/* A symbol dl_load resolves: its name and where its address goes. */
struct dl_sym {
	const char *name;
	void *slot;             /* a function pointer's address */
};

/*
 * Loads soname and every symbol of syms, or none: -1 with a message
 * naming the Debian package that provides soname.
 */
int dl_load(const char *soname, const char *package, const struct dl_sym *syms, size_t nsyms,
	    char *err, size_t errlen);

#endif
