build-s/common/jtree.o: common/jtree.c common/jtree.h common/sbuf.h \
 common/utf8.h
common/jtree.h:
common/sbuf.h:
common/utf8.h:
