build-s/daemon/rnd.o: daemon/rnd.c daemon/rnd.h
daemon/rnd.h:
