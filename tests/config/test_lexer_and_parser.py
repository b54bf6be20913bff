"""The token and tree layers: positions, comments, quoting, and the errors of shape."""

from __future__ import annotations

import pytest

from tls_web_server.config.lexer import ConfigError, Position, TokenKind, tokenize
from tls_web_server.config.parser import Argument, Directive, parse_directives

FILE = "site.conf"


def texts(text: str) -> list[str]:
    return [token.text for token in tokenize(text, FILE)]


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_directives(text, FILE)
    return caught.value


def test_tokens_carry_their_line_and_column() -> None:
    tokens = tokenize("http {\n  listen 80;\n}\n", FILE)
    assert [(token.text, token.position.line, token.position.col) for token in tokens] == [
        ("http", 1, 1),
        ("{", 1, 6),
        ("listen", 2, 3),
        ("80", 2, 10),
        (";", 2, 12),
        ("}", 3, 1),
        ("", 4, 1),
    ]
    assert [token.kind for token in tokens] == [
        TokenKind.WORD,
        TokenKind.OPEN_BRACE,
        TokenKind.WORD,
        TokenKind.WORD,
        TokenKind.SEMICOLON,
        TokenKind.CLOSE_BRACE,
        TokenKind.END_OF_FILE,
    ]


def test_punctuation_ends_a_bare_word() -> None:
    assert texts("server{root html;}") == ["server", "{", "root", "html", ";", "}", ""]


def test_comments_run_to_the_end_of_the_line() -> None:
    assert texts("root /a; # a comment ; { }\n# whole line\nindex x;#tail") == [
        "root",
        "/a",
        ";",
        "index",
        "x",
        ";",
        "",
    ]


def test_a_hash_inside_a_bare_word_is_an_ordinary_character() -> None:
    # nginx only starts a comment where a token could start.
    assert texts("root a#b;") == ["root", "a#b", ";", ""]


def test_quoted_strings_hold_spaces_semicolons_braces_and_hashes() -> None:
    tokens = tokenize('root "/srv/my site;#{}" ;', FILE)
    assert tokens[1].kind is TokenKind.STRING
    assert tokens[1].text == "/srv/my site;#{}"
    assert tokens[1].position == Position(FILE, 1, 6)
    assert tokens[2].position == Position(FILE, 1, 25)


def test_escapes_in_quoted_strings() -> None:
    assert tokenize(r'"a\"b\'c\\d\ne\tf\x"', FILE)[0].text == "a\"b'c\\d\ne\tf\\x"
    assert tokenize(r"'it\'s'", FILE)[0].text == "it's"
    assert tokenize("'say \"hi\"'", FILE)[0].text == 'say "hi"'


def test_a_quoted_string_may_span_lines_and_positions_follow() -> None:
    tokens = tokenize('root "a\nb"\n  ;', FILE)
    assert tokens[1].text == "a\nb"
    assert tokens[2].position == Position(FILE, 3, 3)


def test_carriage_returns_are_whitespace() -> None:
    tokens = tokenize("root a;\r\nindex b;\r\n", FILE)
    assert [token.text for token in tokens] == ["root", "a", ";", "index", "b", ";", ""]
    assert tokens[3].position == Position(FILE, 2, 1)


@pytest.mark.parametrize(
    ("text", "line", "col", "fragment"),
    [
        ('root "abc;', 1, 6, 'unterminated quoted string, expected a closing "'),
        ("root 'abc\\", 1, 6, "unterminated quoted string, expected a closing '"),
        ('root "a"b;', 1, 9, "after a quoted string"),
        ("root html", 1, 10, "expected ';' or '{' after arguments of 'root', found end of file"),
        ("http {\n  root html\n}\n", 3, 1, "after arguments of 'root', found '}'"),
        ("http {\n  server\n}\n", 3, 1, "expected ';' or '{' after 'server', found '}'"),
        (
            "http {\n  server {\n    listen 80;\n",
            4,
            1,
            "unexpected end of file, expected '}' to close 'server' opened at 2:3",
        ),
        ("http { }\n}\n", 2, 1, "unexpected '}'"),
        ("root a;\n  ;", 2, 3, "unexpected ';', expected a directive name"),
        ("{ root a; }", 1, 1, "unexpected '{', expected a directive name"),
    ],
)
def test_shape_errors_name_the_exact_place(text: str, line: int, col: int, fragment: str) -> None:
    error = error_of(text)
    assert error.position == Position(FILE, line, col)
    assert fragment in error.message
    assert str(error) == f"{FILE}:{line}:{col}: {error.message}"


def test_the_tree_keeps_nesting_arguments_and_positions() -> None:
    text = (
        "events { worker_connections 10; }\nhttp {\n  server {\n    location '/a b' { }\n  }\n}\n"
    )
    events, http = parse_directives(text, FILE)
    assert events == Directive(
        name="events",
        arguments=(),
        children=(
            Directive(
                "worker_connections",
                (Argument("10", Position(FILE, 1, 29), quoted=False),),
                None,
                Position(FILE, 1, 10),
                None,
            ),
        ),
        position=Position(FILE, 1, 1),
        block_position=Position(FILE, 1, 8),
    )
    assert http.children is not None
    (server,) = http.children
    assert server.position == Position(FILE, 3, 3)
    assert server.children is not None
    (location,) = server.children
    assert location.arguments == (Argument("/a b", Position(FILE, 4, 14), quoted=True),)
    assert location.children == ()
    assert location.block_position == Position(FILE, 4, 21)


def test_an_empty_text_is_an_empty_tree() -> None:
    assert parse_directives("  # nothing here\n", FILE) == ()


def test_deep_nesting_does_not_exhaust_the_stack() -> None:
    depth = 5000
    tree = parse_directives("a {" * depth + "}" * depth, FILE)
    for _ in range(depth):
        (tree_root,) = tree
        assert tree_root.name == "a"
        assert tree_root.children is not None
        tree = tree_root.children
    assert tree == ()
