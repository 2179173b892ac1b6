build-s/tests/unit/test_binder.o: tests/unit/test_binder.c \
 common/binder.h common/catalogue.h common/jtree.h common/utf8.h
common/binder.h:
common/catalogue.h:
common/jtree.h:
common/utf8.h:
