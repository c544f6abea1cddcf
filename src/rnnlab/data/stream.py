"""Reading a text file in chunks, in bounded memory (``text.load_text`` joins them).

By default a text is read as a user means it: ``\\r\\n`` line ends become ``\\n`` and a
leading UTF-8 byte-order mark is dropped, each said in a notice; ``raw=True`` keeps
the characters exactly as the file has them. Refused, with the fix: a missing file,
a directory, an empty file, NUL bytes (a binary file), UTF-16/UTF-32 (by their
byte-order mark) and any other byte sequence that is not UTF-8, named with its offset
in the file.

A chunk boundary may fall inside a multi-byte UTF-8 character (the incremental decoder
holds its first bytes back) or between the two characters of a ``\\r\\n`` (a trailing
``\\r`` is held back until the next chunk says what follows it).
"""
import codecs
import hashlib
import stat
from pathlib import Path

CHUNK_BYTES = 1 << 22  # 4 MiB
BOM = "\ufeff"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class CorpusError(ValueError):
    """A corpus that cannot be used, with a message that names the file and the fix."""


class TextStream:
    """``for text in TextStream(path)``: the file's text in chunks (str), normalised as
    ``load_text`` does unless ``raw``. After a full pass: ``size``, ``sha256``,
    ``crlf`` (the \\r\\n read as \\n), ``bom`` (a leading byte-order mark dropped) and
    ``characters``; ``on_bytes(n)`` is called as bytes are read (progress)."""

    def __init__(self, path, raw=False, chunk_bytes=CHUNK_BYTES, on_bytes=None):
        self.path, self.raw, self.chunk_bytes = Path(path), raw, int(chunk_bytes)
        self.on_bytes = on_bytes
        if not self.path.exists():
            raise CorpusError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise CorpusError(f"{self.path}: is a directory, expected a text file")
        self.regular = stat.S_ISREG(self.path.stat().st_mode)  # not a pipe: can be read again
        self.size = self.sha256 = None
        self.crlf = self.characters = 0
        self.bom = False

    def __iter__(self):
        decoder = codecs.getincrementaldecoder("utf-8")()
        digest, offset, held, started, visible = hashlib.sha256(), 0, "", False, False
        self.crlf = self.characters = 0
        self.bom = False
        with open(self.path, "rb") as f:
            while True:
                data = f.read(self.chunk_bytes if offset else max(self.chunk_bytes, 2))
                if not offset and data.startswith(UTF16_BOMS):
                    raise CorpusError(f"{self.path}: UTF-16 or UTF-32 text (it starts with a "
                                      f"byte-order mark {data[:2].hex(' ')}); convert it to "
                                      f"UTF-8, e.g. iconv -f utf-16 -t utf-8")
                final = not data
                nul = data.find(b"\x00")
                if nul >= 0:
                    raise CorpusError(f"{self.path}: holds NUL bytes (the first at offset "
                                      f"{offset + nul}): a binary file, not text; give a "
                                      f"UTF-8 text file")
                pending = len(decoder.getstate()[0])  # bytes of a character begun before
                try:
                    text = decoder.decode(data, final)
                except UnicodeDecodeError as error:  # error.object: the held bytes + data
                    raise CorpusError(f"{self.path}: not UTF-8 text (byte 0x"
                                      f"{error.object[error.start]:02x} at offset "
                                      f"{offset - pending + error.start}); convert it, e.g. "
                                      f"iconv -f latin1 -t utf-8") from None
                digest.update(data)
                offset += len(data)
                if self.on_bytes:
                    self.on_bytes(len(data))
                if not self.raw:
                    if not started and text.startswith(BOM):
                        text, self.bom = text[1:], True
                    started = started or bool(text)
                    text, held = self._normalize(held + text, final)
                if text:
                    visible = visible or not text.isspace()
                    self.characters += len(text)
                    yield text
                if final:
                    break
        if not visible:
            raise CorpusError(f"{self.path}: is empty, expected some text")
        self.size, self.sha256 = offset, digest.hexdigest()

    def _normalize(self, text, final):
        """-> (text with \\r\\n as \\n, a trailing \\r held back unless ``final``)."""
        held = ""
        if text.endswith("\r") and not final:
            text, held = text[:-1], "\r"
        crlf = text.count("\r\n") if "\r" in text else 0
        if crlf:
            self.crlf += crlf
            text = text.replace("\r\n", "\n")
        return text, held

    def notices(self):
        """What normalising changed, as ``load_text`` says it."""
        notices = []
        if self.bom:
            notices.append(f"{self.path}: dropped the UTF-8 byte-order mark at its start")
        if self.crlf:
            notices.append(f"{self.path}: read {self.crlf:,} \\r\\n line ends as \\n")
        if notices:
            notices[-1] += " (--raw-text keeps the text as it is)"
        return notices

    def identity(self):
        return {"path": str(self.path.resolve()), "bytes": self.size, "sha256": self.sha256}
