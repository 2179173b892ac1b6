build-s/common/binder_grammar.o: common/binder_grammar.c \
 common/binder_int.h common/binder.h common/catalogue.h common/sbuf.h \
 common/utf8.h
common/binder_int.h:
common/binder.h:
common/catalogue.h:
common/sbuf.h:
common/utf8.h:
