"""Build hook for the one optional C module (txhbase/protocol/_skipaccel.c).

Everything else is in setup.cfg. The extension is ``optional``: on a machine
without a C compiler (or Python headers) the build prints a warning and
txhbase runs on its pure-Python skipper, with identical behaviour.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("txhbase.protocol._skipaccel",
                             ["txhbase/protocol/_skipaccel.c"], optional=True)])
