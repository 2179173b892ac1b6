build-s/tests/unit/test_server.o: tests/unit/test_server.c common/conf.h \
 common/log.h common/utf8.h common/wire.h daemon/http.h daemon/metrics.h \
 daemon/profile.h daemon/access.h daemon/auth.h daemon/exo.h \
 daemon/token.h daemon/server.h tests/unit/fake_clock.h daemon/clock.h
common/conf.h:
common/log.h:
common/utf8.h:
common/wire.h:
daemon/http.h:
daemon/metrics.h:
daemon/profile.h:
daemon/access.h:
daemon/auth.h:
daemon/exo.h:
daemon/token.h:
daemon/server.h:
tests/unit/fake_clock.h:
daemon/clock.h:
