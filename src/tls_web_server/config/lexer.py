"""Split configuration text into tokens, each remembering where it started.

What this module owns:
- `Position` (file, 1-based line, 1-based column) and `ConfigError`, the one
  exception the whole config package raises.  They live here, at the bottom,
  because the lexer is the first place an error can happen; model.py
  re-exports both.
- The token rules of the nginx configuration syntax we accept:
  * tokens are separated by spaces, tabs, carriage returns and newlines;
  * `;`, `{` and `}` are tokens of their own and also end a bare word;
  * `#` at the start of a token begins a comment that runs to the end of the
    line (inside a bare word it is an ordinary character, as in nginx);
  * '...' and "..." are quoted strings: one argument that may hold spaces,
    `;`, `{`, `}` and `#`; the escapes \\" \\' \\\\ \\n \\t are understood and any
    other backslash is kept as it is (nginx keeps it too, for regexes).

What it must never do: know any directive name or any meaning; that is the
parser's and the model's work.  Bad text raises ConfigError, nothing else.

Columns count characters, not bytes, and a tab counts as one column.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Position:
    """A place in a configuration file; line 0, column 0 means "the file as a whole"."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class ConfigError(Exception):
    """The configuration is wrong: `message` says what was expected, `position` says where."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.position}: {self.message}"


class TokenKind(Enum):
    WORD = "word"  # a bare word: directive names and most arguments
    STRING = "string"  # a quoted string, quotes removed and escapes applied
    SEMICOLON = ";"
    OPEN_BRACE = "{"
    CLOSE_BRACE = "}"
    END_OF_FILE = "end of file"


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # the word, or the string's value, or the punctuation itself
    position: Position


WHITESPACE = frozenset(" \t\r\n")
PUNCTUATION = {
    ";": TokenKind.SEMICOLON,
    "{": TokenKind.OPEN_BRACE,
    "}": TokenKind.CLOSE_BRACE,
}
QUOTES = frozenset("'\"")
ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}
# What may follow a closing quote.  nginx refuses `"a"b` rather than guessing
# whether it meant one argument or two; so do we.
AFTER_QUOTED_STRING = WHITESPACE | frozenset(PUNCTUATION)


class _Scanner:
    """A cursor over the text that keeps line and column up to date."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.offset = 0
        self.line = 1
        self.line_start = 0  # offset of the first character of the current line

    def position(self) -> Position:
        return Position(self.file, self.line, self.offset - self.line_start + 1)

    def at_end(self) -> bool:
        return self.offset >= len(self.text)

    def peek(self) -> str:
        return self.text[self.offset]

    def advance(self) -> str:
        character = self.text[self.offset]
        self.offset += 1
        if character == "\n":
            self.line += 1
            self.line_start = self.offset
        return character


def tokenize(text: str, file: str) -> list[Token]:
    """All tokens of `text`, ending with one END_OF_FILE token at the end of the text."""
    scanner = _Scanner(text, file)
    tokens: list[Token] = []
    while True:
        _skip_whitespace_and_comments(scanner)
        if scanner.at_end():
            tokens.append(Token(TokenKind.END_OF_FILE, "", scanner.position()))
            return tokens
        character = scanner.peek()
        if character in PUNCTUATION:
            tokens.append(Token(PUNCTUATION[character], character, scanner.position()))
            scanner.advance()
        elif character in QUOTES:
            tokens.append(_read_quoted_string(scanner))
        else:
            tokens.append(_read_word(scanner))


def _skip_whitespace_and_comments(scanner: _Scanner) -> None:
    while not scanner.at_end():
        character = scanner.peek()
        if character in WHITESPACE:
            scanner.advance()
        elif character == "#":
            while not scanner.at_end() and scanner.peek() != "\n":
                scanner.advance()
        else:
            return


def _read_word(scanner: _Scanner) -> Token:
    start = scanner.position()
    begin = scanner.offset
    while not scanner.at_end():
        character = scanner.peek()
        if character in WHITESPACE or character in PUNCTUATION:
            break
        scanner.advance()
    return Token(TokenKind.WORD, scanner.text[begin : scanner.offset], start)


def _read_quoted_string(scanner: _Scanner) -> Token:
    start = scanner.position()
    quote = scanner.advance()
    pieces: list[str] = []
    while True:
        if scanner.at_end():
            raise ConfigError(f"unterminated quoted string, expected a closing {quote}", start)
        character = scanner.advance()
        if character == quote:
            break
        if character == "\\":
            if scanner.at_end():
                raise ConfigError(f"unterminated quoted string, expected a closing {quote}", start)
            escaped = scanner.advance()
            pieces.append(ESCAPES.get(escaped, "\\" + escaped))
        else:
            pieces.append(character)
    if not scanner.at_end() and scanner.peek() not in AFTER_QUOTED_STRING:
        raise ConfigError(
            f"unexpected {scanner.peek()!r} after a quoted string, "
            "expected a space, ';', '{' or '}'",
            scanner.position(),
        )
    return Token(TokenKind.STRING, "".join(pieces), start)
