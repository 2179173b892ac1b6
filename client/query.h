/*
 * exoctl's --query: a jq program (libjq, Debian's libjq1) applied to
 * each record as it streams, as az's --query applies JMESPath, or with
 * --slurp once to the whole result as an array, as jq -s does.  Every
 * value the program outputs is a record for the renderer.
 */
#ifndef EXOCTL_QUERY_H
#define EXOCTL_QUERY_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "client/output.h"

#define QUERY_SLURP_MAX_BYTES (64u * 1024 * 1024)  /* records --slurp holds, as JSON text */
#define QUERY_MSG_MAX 512                           /* bytes of a message kept from jq */

enum {
	QUERY_OK = 0,
	QUERY_FAILED = -1,              /* jq failed, or --slurp's bound: a usage error */
	QUERY_OUTPUT_FAILED = -2,       /* the renderer failed (err says why; errno for a write) */
};

struct query;

/*
 * Compiles expr, loading libjq at first use.  NULL with jq's message in
 * err when it does not compile or libjq is missing: exoctl says so
 * before it sends anything.
 */
struct query *query_new(const char *expr, int slurp, char *err, size_t errlen);
/*
 * Feeds one record: without --slurp the program runs on it now and
 * each output goes to out; with --slurp it is held.  QUERY_OK, or one
 * of the failures above with a message in err; after a failure the
 * output should be finished and exoctl should stop.
 */
int query_record(struct query *q, yajl_val rec, struct output *out, char *err, size_t errlen);
/* --slurp: runs the program on the records held.  Nothing to do otherwise. */
int query_finish(struct query *q, struct output *out, char *err, size_t errlen);
void query_free(struct query *q);

#endif
