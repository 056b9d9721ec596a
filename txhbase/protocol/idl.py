"""The Hbase Thrift IDL, loaded once with thriftpy2.

``hbase`` is the module thriftpy2 builds from ``Hbase.thrift`` (shipped as
package data beside this file): its structs, exceptions and ``hbase.Hbase``
service are what every other layer uses to encode and decode messages.
"""
from __future__ import annotations

import os

import thriftpy2

IDL_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Hbase.thrift")

hbase = thriftpy2.load(IDL_PATH, module_name="hbase_thrift")

__all__ = ["IDL_PATH", "hbase"]
