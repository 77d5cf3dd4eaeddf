"""The one transport seam: every byte an instrument driver exchanges passes through here."""

from fivegbench.transport.base import IoLog, MessageTransport, StreamTransport

__all__ = ["IoLog", "MessageTransport", "StreamTransport"]
