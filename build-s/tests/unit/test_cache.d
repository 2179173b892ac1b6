build-s/tests/unit/test_cache.o: tests/unit/test_cache.c common/sbuf.h \
 daemon/cache.h daemon/secret.h
common/sbuf.h:
daemon/cache.h:
daemon/secret.h:
