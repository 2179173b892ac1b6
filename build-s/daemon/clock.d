build-s/daemon/clock.o: daemon/clock.c daemon/clock.h
daemon/clock.h:
