build-s/daemon/json.o: daemon/json.c daemon/json.h
daemon/json.h:
