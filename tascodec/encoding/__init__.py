"""Making and growing archives: ``tascodec.encode`` (``encode``), its summary (``summary``),
``tascodec.append`` (``append``) and ``tascodec.merge`` / the groups of several archives
(``grow``). The functions are bound by ``tascodec/__init__.py``; this package binds nothing, so
that a submodule and the function it defines never share a name here."""
