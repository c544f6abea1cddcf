"""Reading a text file in chunks, in bounded memory, with the checks and normalisation
of ``text.load_text``: the same characters come out, and a bad byte is reported with its
offset in the file.

A chunk boundary may fall inside a multi-byte UTF-8 character (the incremental decoder
holds its first bytes back) or between the two characters of a ``\\r\\n`` (a trailing
``\\r`` is held back until the next chunk says what follows it).
"""
import codecs
import hashlib
import stat
from pathlib import Path

from .text import BOM, UTF16_BOMS, CorpusError

CHUNK_BYTES = 1 << 22  # 4 MiB


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
        if not stat.S_ISREG(self.path.stat().st_mode):
            raise CorpusError(f"{self.path}: not a regular file (a pipe?); preparing reads "
                              f"it twice: save the text to a file first")
        self.size = self.sha256 = None
        self.crlf = self.characters = 0
        self.bom = False

    def __iter__(self):
        decoder = codecs.getincrementaldecoder("utf-8")()
        digest, offset, held, started, visible = hashlib.sha256(), 0, "", False, False
        self.crlf = self.characters = 0
        self.bom = False
        with open(self.path, "rb") as f:
            head = f.read(4)
            if head.startswith(UTF16_BOMS):
                raise CorpusError(f"{self.path}: UTF-16 or UTF-32 text (it starts with a "
                                  f"byte-order mark {head[:2].hex(' ')}); convert it to "
                                  f"UTF-8, e.g. iconv -f utf-16 -t utf-8")
            f.seek(0)
            while True:
                data = f.read(self.chunk_bytes)
                final = not data
                nul = data.find(b"\x00")
                if nul >= 0:
                    raise CorpusError(f"{self.path}: holds NUL bytes (the first at offset "
                                      f"{offset + nul}): a binary file, not text; give a "
                                      f"UTF-8 text file")
                pending = len(decoder.getstate()[0])  # bytes of a character begun before
                try:
                    text = decoder.decode(data, final)
                except UnicodeDecodeError as error:
                    raise self._bad_byte(offset - pending + error.start) from None
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

    def _bad_byte(self, offset):
        with open(self.path, "rb") as f:
            f.seek(offset)
            byte = f.read(1)[0]
        return CorpusError(f"{self.path}: not UTF-8 text (byte 0x{byte:02x} at offset "
                           f"{offset}); convert it, e.g. iconv -f latin1 -t utf-8")

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
