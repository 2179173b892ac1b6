build-s/common/conf.o: common/conf.c common/conf.h common/log.h \
 common/sbuf.h
common/conf.h:
common/log.h:
common/sbuf.h:
