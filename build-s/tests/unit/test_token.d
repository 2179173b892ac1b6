build-s/tests/unit/test_token.o: tests/unit/test_token.c common/conf.h \
 common/log.h common/sbuf.h daemon/auth.h common/wire.h daemon/token.h \
 tests/unit/fake_clock.h daemon/clock.h
common/conf.h:
common/log.h:
common/sbuf.h:
daemon/auth.h:
common/wire.h:
daemon/token.h:
tests/unit/fake_clock.h:
daemon/clock.h:
