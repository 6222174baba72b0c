"""Server-sent events: an incremental parser and the framing we send.

Upstreams hand us bytes cut anywhere (SageMaker payload parts, TCP reads): an event, a line or
even a UTF-8 character may be split across chunks. `SSEParser.feed` keeps the unfinished tail
and returns only complete events, so what comes out never depends on how the input was cut.
`feed_raw` returns the same events as bytes, for relays that pass them on without decoding.
"""

DONE = "[DONE]"


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class SSEParser:
    """Feed bytes, get the `data` of every complete event (multi-line data joined with newlines).

    Follows the WHATWG rules that matter for chat streams: lines end with LF, CRLF or CR; an empty
    line ends an event; `:` lines are comments; fields other than `data` are ignored.
    """

    def __init__(self) -> None:
        self._tail = b""  # an unfinished line
        self._data: list[bytes] = []  # the data lines of the event being read
        self._pending_cr = False  # the last chunk ended with CR: a LF starting the next one belongs to it

    def feed(self, chunk: bytes) -> list[str]:
        return [_text(data) for data in self.feed_raw(chunk)]

    def flush(self) -> list[str]:
        """At end of input: an event the upstream did not terminate with a blank line still counts."""
        return [_text(data) for data in self.flush_raw()]

    def feed_raw(self, chunk: bytes) -> list[bytes]:
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        buffer = self._tail + chunk if self._tail else chunk
        self._pending_cr = buffer.endswith(b"\r")
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, self._tail = buffer.split(b"\n")
        events: list[bytes] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data))
                    self._data = []
            elif line.startswith(b"data:"):
                self._data.append(line[6:] if line.startswith(b"data: ") else line[5:])
            elif line == b"data":
                self._data.append(b"")
        return events

    def flush_raw(self) -> list[bytes]:
        tail = self.feed_raw(b"\n\n") if (self._tail or self._data) else []
        self._tail, self._data = b"", []
        return tail


def event(data: str) -> bytes:
    """One SSE event carrying `data` (which must not contain newlines: JSON from json.dumps never does)."""
    return b"data: " + data.encode() + b"\n\n"


DONE_EVENT = event(DONE)


class JSONLinesParser:
    """For servers that stream one JSON document per line (LMI): the same interface as SSEParser."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[str]:
        return [_text(data) for data in self.feed_raw(chunk)]

    def flush(self) -> list[str]:
        return [_text(data) for data in self.flush_raw()]

    def feed_raw(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        return [self._data(line) for line in lines if line.strip()]

    def flush_raw(self) -> list[bytes]:
        tail, self._buffer = self._buffer, b""
        return [self._data(tail)] if tail.strip() else []

    @staticmethod
    def _data(line: bytes) -> bytes:
        line = line.strip()
        if line.startswith(b"data:"):  # some servers frame lines as SSE anyway
            line = line[5:].strip()
        return line
