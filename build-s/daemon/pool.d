build-s/daemon/pool.o: daemon/pool.c daemon/pool.h daemon/clock.h
daemon/pool.h:
daemon/clock.h:
