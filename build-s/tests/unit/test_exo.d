build-s/tests/unit/test_exo.o: tests/unit/test_exo.c common/conf.h \
 common/jtree.h common/log.h daemon/exo.h common/wire.h daemon/http.h \
 daemon/pool.h daemon/token.h tests/unit/fake_clock.h daemon/clock.h
common/conf.h:
common/jtree.h:
common/log.h:
daemon/exo.h:
common/wire.h:
daemon/http.h:
daemon/pool.h:
daemon/token.h:
tests/unit/fake_clock.h:
daemon/clock.h:
