/*
 * fuzz_cluster: what exod accepts from Redis (daemon/cluster.c).  Input:
 * byte 0 picks a split point; the bytes before it are a notification as
 * it arrives on the channel (cluster_parse_note: anyone who may publish
 * there can send one), the rest a stream of RESP replies, read with
 * hiredis's own reader and exod's bounded reply builders, as exod's
 * connections read them.  Every reply
 * goes through each check exod makes of one (cluster_reply_*), with the
 * bounds exod uses and with tight ones; whatever a check accepts must
 * lie within its bounds, and a note must be one of the five kinds, its
 * words non-empty and NUL-terminated, its hold only on throttle.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "daemon/cluster.h"
#include "tests/fuzz/fuzz_util.h"

#define FUZZ_CLUSTER_MAX_REPLIES 64     /* replies read from one input */

static void check_note(const uint8_t *data, size_t len)
{
	static const char *const kinds[] = { "free", "unlock", "throttle", "login", "logout" };
	struct cluster_note n;
	int known = 0;

	if (cluster_parse_note((const char *)data, len, &n) != 0)
		return;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		known |= strcmp(n.kind, kinds[i]) == 0;
	FUZZ_CHECK(known);
	FUZZ_CHECK(fuzz_terminated(n.ticket, sizeof(n.ticket)) && n.ticket[0] != '\0');
	FUZZ_CHECK(fuzz_terminated(n.id, sizeof(n.id)) && n.id[0] != '\0');
	if (strcmp(n.kind, "throttle") == 0)
		FUZZ_CHECK(n.ms >= 1 && n.ms <= CLUSTER_MAX_HOLD_MS);
}

static void check_reply(const redisReply *r, int depth)
{
	const char *s;
	size_t len;
	long long v;
	char name[CONF_NAME_MAX + 1];

	/* The builders' own bounds, whatever the server announced. */
	FUZZ_CHECK(r->type != REDIS_REPLY_ARRAY || r->elements <= CLUSTER_MAX_REPLY_ELEMENTS);
	FUZZ_CHECK(r->type == REDIS_REPLY_ARRAY || r->type == REDIS_REPLY_INTEGER ||
		   r->type == REDIS_REPLY_NIL || r->len <= CLUSTER_MAX_REPLY_BYTES);
	if (cluster_reply_int(r, 0, 16, &v) == 0)
		FUZZ_CHECK(v >= 0 && v <= 16);
	if (cluster_reply_int(r, -1, 1, &v) == 0)
		FUZZ_CHECK(v >= -1 && v <= 1);
	if (cluster_reply_str(r, 8, &s, &len) == 0)
		FUZZ_CHECK(s != NULL && len <= 8);
	if (cluster_reply_digits(r, 1000000, &v) == 0)
		FUZZ_CHECK(v >= 0 && v <= 1000000);
	if (cluster_reply_name(r, name, sizeof(name)) == 0)
		FUZZ_CHECK(name[0] != '\0' && fuzz_terminated(name, sizeof(name)) &&
			   strcspn(name, " \t\r\n") == strlen(name));
	(void)cluster_reply_status(r, "OK");
	if (cluster_reply_array(r, 0, 8) == 0) {
		FUZZ_CHECK(r->elements <= 8);
		for (size_t i = 0; i < r->elements && depth < 4; i++)
			check_reply(r->element[i], depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	redisReader *rd;
	size_t split;

	if (size < 1)
		return 0;
	split = data[0] < size ? data[0] : size - 1;
	check_note(data + 1, split);
	rd = redisReaderCreate();
	FUZZ_SETUP(rd != NULL);
	cluster_reader_bound(rd);       /* as exod's connections read */
	if (redisReaderFeed(rd, (const char *)data + 1 + split, size - 1 - split) == REDIS_OK) {
		for (int i = 0; i < FUZZ_CLUSTER_MAX_REPLIES; i++) {
			void *reply = NULL;

			if (redisReaderGetReply(rd, &reply) != REDIS_OK || reply == NULL)
				break;
			check_reply(reply, 0);
			freeReplyObject(reply);
		}
	}
	redisReaderFree(rd);
	return 0;
}
