build-s/common/catalogue.o: common/catalogue.c common/catalogue.h \
 common/catalogue.inc
common/catalogue.h:
common/catalogue.inc:
