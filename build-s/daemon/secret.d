build-s/daemon/secret.o: daemon/secret.c daemon/secret.h common/sbuf.h
daemon/secret.h:
common/sbuf.h:
