/*
 * What exoctl knows without exod: the cmdlet catalogue, shown as
 * `exoctl cmdlets [PATTERN]` and `exoctl help CMDLET`, and the candidates
 * that the bash and zsh completion scripts ask for with
 * `exoctl __complete WORD...`.
 */
#ifndef EXOCTL_DISCOVER_H
#define EXOCTL_DISCOVER_H

#include <stddef.h>
#include <stdio.h>

#define DISCOVER_MAX_WORDS 4096         /* words of a command line to complete */
#define DISCOVER_WRAP 80                /* help's width when the terminal does not say */

/*
 * Prints, one a line, the cmdlets of the services (a mask of
 * enum catalogue_service) whose names match the glob pattern (NULL: all).
 * 0, or -1 when nothing matches (with a message in err).
 */
int discover_cmdlets(FILE *out, const char *pattern, unsigned services, char *err,
		     size_t errlen);

/*
 * Prints the cmdlet's syntax, one line a parameter set as Get-Command
 * -Syntax writes it, then its parameters with their types and aliases,
 * wrapped at width columns (0: DISCOVER_WRAP).  services (a mask of
 * enum catalogue_service, 0: any) leaves out the parameters of other
 * services, and a cmdlet of none of them gets a note that the profile
 * cannot run it.  -1 with a message in err for a cmdlet the catalogue
 * does not have.
 */
int discover_help(FILE *out, const char *cmdlet, int width, unsigned services, char *err,
		  size_t errlen);

/* What completion asks exoctl (which asks exod); either may be NULL. */
struct discover_hooks {
	/* Lists the profiles whose names start with prefix. */
	void (*profiles)(void *arg, FILE *out, const char *prefix);
	/* The catalogue services of profile (NULL: none named on the line); 0: every service. */
	unsigned (*services)(void *arg, const char *profile);
	void *arg;
};

/*
 * words[0..n) are the words after "exoctl" up to the one being completed,
 * which is last (possibly ""); prints the candidates for it, one a line.
 * Cmdlets and parameters are those of the services of the profile the
 * line names (-p, --profile), asked of h only when they are completed.
 */
void discover_complete(FILE *out, int n, char *const words[], const struct discover_hooks *h);

#endif
