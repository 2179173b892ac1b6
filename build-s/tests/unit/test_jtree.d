build-s/tests/unit/test_jtree.o: tests/unit/test_jtree.c common/jtree.h \
 common/utf8.h
common/jtree.h:
common/utf8.h:
