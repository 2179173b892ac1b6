build-s/daemon/metrics_http.o: daemon/metrics_http.c \
 daemon/metrics_http.h common/log.h daemon/clock.h
daemon/metrics_http.h:
common/log.h:
daemon/clock.h:
