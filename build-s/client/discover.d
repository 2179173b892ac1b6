build-s/client/discover.o: client/discover.c client/discover.h \
 common/catalogue.h
client/discover.h:
common/catalogue.h:
