"""Turn tokens into a tree of directives, without knowing what any directive means.

The grammar (nginx's, reduced to what the syntax needs):

    file       = directive* END_OF_FILE
    directive  = NAME argument* ( ";" | "{" directive* "}" )
    argument   = WORD | STRING

What this module owns: the shape of the tree (`Directive`, `Argument`) and the
errors of shape: a missing ';', a missing or stray '}', a ';' or '{' where a
directive name should be.

What it must never do: decide whether a directive exists, where it may appear,
how many arguments it takes, or whether it needs a block.  Those are rules of
meaning and live in model.py, which knows the directive table.

The parser keeps its own stack instead of recursing, so a file of ten thousand
nested blocks is an ordinary error later on, not a RecursionError here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lexer import ConfigError, Position, Token, TokenKind, tokenize

ARGUMENT_KINDS = frozenset({TokenKind.WORD, TokenKind.STRING})


@dataclass(frozen=True)
class Argument:
    value: str
    position: Position
    quoted: bool  # written as '...' or "..."; the value has its escapes applied


@dataclass(frozen=True)
class Directive:
    name: str
    arguments: tuple[Argument, ...]
    children: tuple[Directive, ...] | None  # None: a simple directive ended by ';'
    position: Position  # of the name
    block_position: Position | None  # of the '{', when there is a block


@dataclass
class _OpenBlock:
    """A directive whose '{' has been read and whose '}' has not, yet."""

    name: Token
    arguments: tuple[Argument, ...]
    brace: Token
    children: list[Directive] = field(default_factory=list)


def parse_directives(text: str, file: str) -> tuple[Directive, ...]:
    """The top-level directives of `text`; `file` is only used in positions."""
    tokens = tokenize(text, file)
    top_level: list[Directive] = []
    open_blocks: list[_OpenBlock] = []
    index = 0
    while True:
        token = tokens[index]
        siblings = open_blocks[-1].children if open_blocks else top_level
        if token.kind is TokenKind.END_OF_FILE:
            if open_blocks:
                innermost = open_blocks[-1].name
                raise ConfigError(
                    f"unexpected end of file, expected '}}' to close '{innermost.text}' "
                    f"opened at {innermost.position.line}:{innermost.position.col}",
                    token.position,
                )
            return tuple(top_level)
        if token.kind is TokenKind.CLOSE_BRACE:
            if not open_blocks:
                raise ConfigError("unexpected '}', no block is open here", token.position)
            closed = open_blocks.pop()
            parent = open_blocks[-1].children if open_blocks else top_level
            parent.append(
                Directive(
                    closed.name.text,
                    closed.arguments,
                    tuple(closed.children),
                    closed.name.position,
                    closed.brace.position,
                )
            )
            index += 1
            continue
        if token.kind not in ARGUMENT_KINDS:
            raise ConfigError(
                f"unexpected '{token.text}', expected a directive name", token.position
            )
        name = token
        index += 1
        arguments: list[Argument] = []
        while tokens[index].kind in ARGUMENT_KINDS:
            argument = tokens[index]
            arguments.append(
                Argument(argument.text, argument.position, argument.kind is TokenKind.STRING)
            )
            index += 1
        terminator = tokens[index]
        index += 1
        if terminator.kind is TokenKind.SEMICOLON:
            siblings.append(Directive(name.text, tuple(arguments), None, name.position, None))
        elif terminator.kind is TokenKind.OPEN_BRACE:
            open_blocks.append(_OpenBlock(name, tuple(arguments), terminator))
        else:
            after = f"arguments of '{name.text}'" if arguments else f"'{name.text}'"
            found = "end of file" if terminator.kind is TokenKind.END_OF_FILE else "'}'"
            last_line = tokens[index - 2].position.line
            raise ConfigError(
                f"missing ';' at the end of line {last_line}?"
                f" (expected ';' or '{{' after {after}, found {found})",
                terminator.position,
            )


def missing_semicolon_line(directives: tuple[Directive, ...], position: Position) -> int | None:
    """The line that probably lacks its ';', when an error at `position` suggests one.

    A simple directive whose arguments run onto a later line, with the error
    on or after that line's first word, is most often two directives: the
    first lost its ';'.  (nginx allows arguments over several lines; this
    only words an error that happened anyway.)
    """
    pending = list(directives)
    while pending:
        directive = pending.pop()
        if directive.children is not None:
            pending.extend(directive.children)
            continue
        if not directive.arguments or directive.position.file != position.file:
            continue
        where = (position.line, position.col)
        last = directive.arguments[-1].position
        if position != directive.position and not (
            (directive.position.line, directive.position.col) <= where <= (last.line, last.col)
        ):
            continue  # the error is about something else
        previous_line = directive.position.line
        for argument in directive.arguments:
            if argument.position.line > previous_line and not argument.quoted:
                return previous_line
            previous_line = argument.position.line
    return None
