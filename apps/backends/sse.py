"""Server-sent events: an incremental parser and the framing we send.

Upstreams hand us bytes cut anywhere (SageMaker payload parts, TCP reads): an event, a line or
even a UTF-8 character may be split across chunks. `SSEParser.feed` keeps the unfinished tail
and returns only complete events, so what comes out never depends on how the input was cut.
"""

from collections.abc import Iterator

DONE = "[DONE]"


class SSEParser:
    """Feed bytes, get the `data` of every complete event (multi-line data joined with newlines).

    Follows the WHATWG rules that matter for chat streams: lines end with LF, CRLF or CR; an empty
    line ends an event; `:` lines are comments; fields other than `data` are ignored.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[str]:
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF whose CR ended the previous chunk
        self._pending_cr = False
        self._buffer += chunk
        events: list[str] = []
        for line in self._complete_lines():
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data).decode("utf-8", errors="replace"))
                    self._data = []
                continue
            if line.startswith(b":"):
                continue
            field, _, value = line.partition(b":")
            if field == b"data":
                self._data.append(value[1:] if value.startswith(b" ") else value)
        return events

    def flush(self) -> list[str]:
        """At end of input: an event the upstream did not terminate with a blank line still counts."""
        tail = self.feed(b"\n\n") if (self._buffer or self._data) else []
        self._buffer, self._data = b"", []
        return tail

    def _complete_lines(self) -> Iterator[bytes]:
        buffer = self._buffer
        start = 0
        length = len(buffer)
        while start < length:
            lf = buffer.find(b"\n", start)
            cr = buffer.find(b"\r", start, lf if lf != -1 else length)
            if cr != -1:
                if cr + 1 == length:  # CR at the very end: CRLF or lone CR, decide on the next chunk
                    yield buffer[start:cr]
                    start = length
                    self._pending_cr = True
                    break
                end, next_start = cr, cr + 2 if buffer[cr + 1 : cr + 2] == b"\n" else cr + 1
            elif lf != -1:
                end, next_start = lf, lf + 1
            else:
                break
            yield buffer[start:end]
            start = next_start
        self._buffer = buffer[start:]


def event(data: str) -> bytes:
    """One SSE event carrying `data` (which must not contain newlines: JSON from json.dumps never does)."""
    return b"data: " + data.encode() + b"\n\n"


DONE_EVENT = event(DONE)


class JSONLinesParser:
    """For servers that stream one JSON document per line (LMI): the same interface as SSEParser."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[str]:
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        return [self._data(line) for line in lines if line.strip()]

    def flush(self) -> list[str]:
        tail, self._buffer = self._buffer, b""
        return [self._data(tail)] if tail.strip() else []

    @staticmethod
    def _data(line: bytes) -> str:
        line = line.strip()
        if line.startswith(b"data:"):  # some servers frame lines as SSE anyway
            line = line[5:].strip()
        return line.decode("utf-8", errors="replace")
