build-s/daemon/exo_codec.o: daemon/exo_codec.c daemon/exo_codec.h \
 common/jtree.h common/sbuf.h common/utf8.h
daemon/exo_codec.h:
common/jtree.h:
common/sbuf.h:
common/utf8.h:
