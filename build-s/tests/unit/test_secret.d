build-s/tests/unit/test_secret.o: tests/unit/test_secret.c common/sbuf.h \
 daemon/secret.h
common/sbuf.h:
daemon/secret.h:
