"""The Twisted Thrift layer: framing, codec, client and server protocols.

It knows the Hbase service's messages but nothing about tables; the layers
above call ``HBaseClientProtocol.call(name, *args)`` and serve a handler with
``HBaseServerFactory``.
"""
from txhbase.protocol.client import HBaseClientProtocol
from txhbase.protocol.connect import HBaseClientFactory, connect
from txhbase.protocol.framing import DEFAULT_MAX_MESSAGE_SIZE
from txhbase.protocol.idl import hbase
from txhbase.protocol.server import HBaseServerFactory, HBaseServerProtocol

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "HBaseClientFactory",
    "HBaseClientProtocol",
    "HBaseServerFactory",
    "HBaseServerProtocol",
    "connect",
    "hbase",
]
