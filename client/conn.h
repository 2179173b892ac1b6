/*
 * exoctl's connection to exod: one request line out, answer lines in,
 * each bounded and parsed with yajl.
 */
#ifndef EXOCTL_CONN_H
#define EXOCTL_CONN_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#define CONN_MAX_LINE (16u * 1024 * 1024)      /* bytes in one answer line, newline included */
#define CONN_READ_CHUNK 65536                   /* bytes asked of read() at once */
#define CONN_MAX_DEPTH 512                      /* nesting in one answer line */

struct conn;

/* Connects to the Unix socket at path; NULL with a message naming it in err. */
struct conn *conn_open(const char *path, char *err, size_t errlen);
/* Sends req[0..len) followed by a newline. */
int conn_send(struct conn *c, const char *req, size_t len, char *err, size_t errlen);
/*
 * One answer line, read and checked once: either a tree (a JSON object
 * with a string "type", freed by the caller with yajl_tree_free), or,
 * for a record the caller takes as bytes, the record's JSON as exod sent
 * it (valid until the next read) and tree NULL.
 */
struct conn_answer {
	yajl_val tree;
	const char *record;
	size_t record_len;
};

/*
 * Reads the next non-empty line into *a.  raw_records: record lines are
 * validated without building a tree and handed over as bytes.  -1 on end
 * of stream, a read error, or a line that is too long, too deeply nested
 * or not such an object.
 */
int conn_read_answer(struct conn *c, int raw_records, struct conn_answer *a, char *err,
		     size_t errlen);
/* 1 when a whole line is already buffered, so reading will not block. */
int conn_pending(const struct conn *c);
/* 1 when an answer can be read without blocking, 0 when timeout_ms passed first. */
int conn_wait(const struct conn *c, int timeout_ms);
void conn_close(struct conn *c);

#endif
