build-s/daemon/b64.o: daemon/b64.c daemon/b64.h
daemon/b64.h:
