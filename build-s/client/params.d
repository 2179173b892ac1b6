build-s/client/params.o: client/params.c client/params.h client/output.h \
 common/binder.h common/catalogue.h common/jtree.h common/sbuf.h
client/params.h:
client/output.h:
common/binder.h:
common/catalogue.h:
common/jtree.h:
common/sbuf.h:
