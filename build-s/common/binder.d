build-s/common/binder.o: common/binder.c common/binder_int.h \
 common/binder.h common/catalogue.h common/jtree.h common/sbuf.h
common/binder_int.h:
common/binder.h:
common/catalogue.h:
common/jtree.h:
common/sbuf.h:
