build-s/daemon/metrics.o: daemon/metrics.c daemon/metrics.h daemon/json.h
daemon/metrics.h:
daemon/json.h:
