build-s/common/binder_value.o: common/binder_value.c common/binder_int.h \
 common/binder.h common/catalogue.h common/sbuf.h
common/binder_int.h:
common/binder.h:
common/catalogue.h:
common/sbuf.h:
