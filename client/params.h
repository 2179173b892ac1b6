/*
 * Cmdlet parameters written as in PowerShell, after the cmdlet name,
 * turned into the JSON object the daemon passes to Exchange.
 */
#ifndef EXOCTL_PARAMS_H
#define EXOCTL_PARAMS_H

#include <stddef.h>

#include <yajl/yajl_gen.h>

#define PARAMS_MAX_NAME 128             /* bytes in a parameter name */
#define PARAMS_MAX_COUNT 256            /* parameters in one command */
#define PARAMS_MAX_VALUE 65536          /* bytes in one value, list parts joined */
#define PARAMS_MAX_JSON 65536           /* bytes of one --params object */

/*
 * Emits argv[0..argc) as one JSON object into g:
 *   -Name value, -Switch, -Name:value, $true/$false/$null, integers,
 *   a,b,c lists ("\," keeps a comma), @{Key=Value;...} hashtables and
 *   --params '{...}' objects merged in order (a later key wins).
 * On failure, -1 with a message in err; g then holds part of a document
 * and must be thrown away.
 */
int params_gen(yajl_gen g, int argc, char *const argv[], char *err, size_t errlen);

/*
 * exoctl run: binds argv[0..argc) for cmdlet on the catalogue
 * (binder_argv: names, positions, types, SecureString refusal, filters)
 * and emits the parameters as one JSON object into g, with the common
 * parameters given (-ErrorAction...) among them for exod to act on.
 * *name is the catalogue's spelling of the cmdlet, or cmdlet when it is
 * not in the catalogue.  Same failure as params_gen.
 */
int params_bind(yajl_gen g, const char *cmdlet, int argc, char *const argv[], const char **name,
		char *err, size_t errlen);

#endif
