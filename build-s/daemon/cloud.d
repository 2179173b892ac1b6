build-s/daemon/cloud.o: daemon/cloud.c daemon/cloud.h common/conf.h
daemon/cloud.h:
common/conf.h:
