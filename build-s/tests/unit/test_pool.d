build-s/tests/unit/test_pool.o: tests/unit/test_pool.c daemon/pool.h \
 tests/unit/fake_clock.h daemon/clock.h
daemon/pool.h:
tests/unit/fake_clock.h:
daemon/clock.h:
