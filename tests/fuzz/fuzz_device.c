/*
 * fuzz_device: Entra's devicecode answer as exod reads it
 * (daemon/auth_device.c: auth_device_parse).  What it returns is what a
 * person is shown and what exod polls with: every field present, the
 * device code usable in a form, the interval and expiry positive.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/sbuf.h"
#include "daemon/auth_device.h"
#include "daemon/oauth.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_device_code dc;

	if (auth_device_parse((const char *)data, size, &dc) == 0) {
		FUZZ_CHECK(dc.device_code != NULL && oauth_token_ok(sbuf_str(dc.device_code)));
		FUZZ_CHECK(dc.user_code != NULL && dc.verification_uri != NULL && dc.message != NULL);
		FUZZ_CHECK(dc.interval > 0 && dc.expires_in > 0);
		auth_device_code_clear(&dc);
	} else {
		FUZZ_CHECK(dc.device_code == NULL && dc.user_code == NULL);
	}
	return 0;
}
