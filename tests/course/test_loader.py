"""The YAML loader: YAML 1.2 scalars, positions, duplicate keys and hostile input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from flashgen.course import loader, yaml_pitfalls
from flashgen.course.loader import load_yaml, parse_yaml
from flashgen.course.positions import YamlList, YamlMap
from flashgen.diagnostics import Diagnostics, Location

FILE = Path("f.yaml")


def parse(text: str) -> tuple[object, Diagnostics]:
    diag = Diagnostics()
    return parse_yaml(text, FILE, diag), diag


def messages(diag: Diagnostics) -> list[str]:
    return [d.render() for d in diag.sorted()]


def test_uses_libyaml() -> None:
    assert yaml.__with_libyaml__
    assert loader._Parser is yaml.cyaml.CParser
    assert issubclass(loader._Loader, yaml.cyaml.CParser)
    assert isinstance(loader._Loader("a: 1\n"), yaml.cyaml.CParser)


@pytest.mark.parametrize(
    "scalar",
    ["No", "no", "on", "On", "off", "yes", "Yes", "y", "n", "2024-01-01", "12:30", "1_000",
     "0b101", "NaN", "=", "<", "1.2.3"],
)  # fmt: skip
def test_yaml_1_1_scalars_stay_text(scalar: str) -> None:
    value, diag = parse(f"value: {scalar}\n")
    assert value == {"value": scalar}
    assert isinstance(value["value"], str)  # type: ignore[index]
    assert not len(diag)


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [("true", True), ("false", False), ("True", True), ("FALSE", False), ("1", 1), ("-7", -7),
     ("0o17", 15), ("0x1F", 31), ("1.5", 1.5), ("1e3", 1000.0), (".inf", math.inf),
     ("-.Inf", -math.inf), ("~", None), ("null", None), ("", None)],
)  # fmt: skip
def test_yaml_1_2_core_scalars(scalar: str, expected: object) -> None:
    value, diag = parse(f"value: {scalar}\n")
    assert isinstance(value, dict)
    assert value["value"] == expected
    assert type(value["value"]) is type(expected)
    assert not len(diag)


def test_nan_and_quoted_scalars() -> None:
    value, _ = parse("a: .nan\nb: 'true'\nc: \"1\"\nd: !!str 12\n")
    assert isinstance(value, dict)
    assert math.isnan(value["a"])
    assert (value["b"], value["c"], value["d"]) == ("true", "1", "12")


def test_positions_of_keys_values_and_items() -> None:
    text = "id: alpha\nlist:\n  - one\n  -   two\nflow: [x,  y]\nnested:\n  key: value\n"
    value, diag = parse(text)
    assert not len(diag)
    assert isinstance(value, YamlMap)
    assert (value.location.line, value.location.column) == (1, 1)
    assert value.key_location("list").line == 2
    assert (value.value_location("id").line, value.value_location("id").column) == (1, 5)
    items = value["list"]
    assert isinstance(items, YamlList)
    assert [(loc.line, loc.column) for loc in items.item_locations] == [(3, 5), (4, 7)]
    flow = value["flow"]
    assert [(loc.line, loc.column) for loc in flow.item_locations] == [(5, 8), (5, 12)]
    nested = value["nested"]
    assert (nested.key_location("key").line, nested.key_location("key").column) == (7, 3)
    # Unknown keys and indexes fall back to the enclosing position.
    assert value.key_location("missing") == value.location
    assert items.item_location(9) == items.location


def test_positions_count_characters_not_bytes() -> None:
    value, _ = parse("title: Café – ünïcode\nnext: [é, x]\n")
    assert isinstance(value, YamlMap)
    assert [loc.column for loc in value["next"].item_locations] == [8, 11]


def test_duplicate_key_is_an_error_and_the_first_value_wins() -> None:
    value, diag = parse("title: One\nid: x\ntitle: Two\n")
    assert value == {"title": "One", "id": "x"}
    assert messages(diag) == ["f.yaml:3:1: error: duplicate key 'title' (first defined on line 1)"]


def test_duplicate_key_in_a_nested_mapping() -> None:
    _, diag = parse("questions:\n  - id: a\n    type: basic\n    id: b\n")
    assert messages(diag) == ["f.yaml:4:5: error: duplicate key 'id' (first defined on line 2)"]


def test_alias_bomb_is_refused() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    value, diag = parse("\n".join(lines) + "\n")
    assert value is None
    [error] = diag.errors
    assert "expands to more than 200,000 values" in error.message
    assert "refusing to load it" in error.message


def test_small_aliases_are_fine() -> None:
    value, diag = parse("a: &x [1, 2]\nb: *x\n")
    assert value == {"a": [1, 2], "b": [1, 2]}
    assert not len(diag)


def test_recursive_alias_is_refused() -> None:
    value, diag = parse("a: &x [*x]\n")
    assert value is None
    assert "nested more than 100 levels" in diag.errors[0].message


def test_merge_keys_are_refused() -> None:
    value, diag = parse("base: &b {x: 1}\nthing:\n  <<: *b\n  y: 2\n")
    assert isinstance(value, dict)
    assert value["thing"] == {"y": 2}
    assert messages(diag) == ["f.yaml:3:3: error: merge keys ('<<') are not supported"]


def test_quoted_double_angle_is_an_ordinary_key() -> None:
    value, diag = parse("'<<': text\n")
    assert value == {"<<": "text"}
    assert not len(diag)


def test_unsupported_tag() -> None:
    value, diag = parse("x: !custom thing\n")
    assert value == {"x": "thing"}
    assert messages(diag) == [
        "f.yaml:1:4: error: unsupported YAML tag '!custom': write plain text, lists and mappings "
        "(if it is part of the text, put the whole text in single quotes)"
    ]


def test_complex_keys_are_refused() -> None:
    _, diag = parse("? [a, b]\n: 1\n")
    assert messages(diag) == ["f.yaml:1:3: error: keys must be plain words like 'title'"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [b\nc: d\n", "f.yaml:2:2: error: YAML syntax error: did not find expected ',' or ']'"
         " while parsing a flow sequence"),
        ("a: 1\n---\nb: 2\n", "f.yaml:2:1: error: YAML syntax error: expected a single document"
         " in the stream, but found another document"),
        ("a: b: c\n", "f.yaml:1:5: error: YAML syntax error: mapping values are not allowed in"
         " this context: ': ' inside a text reads as a new key; " + yaml_pitfalls.QUOTE_HOW),
        ("a:\n\t- b\n", "f.yaml:2:1: error: YAML syntax error: found character that cannot start"
         " any token (indent with spaces, not tabs) while scanning for the next token"),
    ],
)  # fmt: skip
def test_syntax_errors_have_a_position_and_a_readable_message(text: str, message: str) -> None:
    value, diag = parse(text)
    assert value is None
    assert messages(diag) == [message]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_documents_are_none_without_errors(text: str) -> None:
    value, diag = parse(text)
    assert value is None
    assert not len(diag)


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    value, diag = parse("a: " + "[" * 150 + "]" * 150 + "\n")
    assert value is None
    assert diag.has_errors


def test_load_yaml_accepts_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes("\ufeffid: a\r\ntitle: Café\r\n".encode())
    diag = Diagnostics()
    value = load_yaml(path, diag)
    assert value == {"id": "a", "title": "Café"}
    assert isinstance(value, YamlMap)
    assert value.key_location("title").line == 2
    assert not len(diag)


def test_load_yaml_reports_invalid_utf8_with_position(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"id: a\ntitle: ok\nsummary: caf\xe9\n")
    diag = Diagnostics()
    assert load_yaml(path, diag) is None
    assert messages(diag) == [
        f"{path}:3:13: error: file is not valid UTF-8 (byte 0xe9): save it as UTF-8"
    ]


def test_load_yaml_refuses_huge_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 10)
    path = tmp_path / "a.yaml"
    path.write_text("id: a-long-enough-value\n", encoding="utf-8")
    diag = Diagnostics()
    assert load_yaml(path, diag) is None
    assert "file is too large" in diag.errors[0].message


def test_load_yaml_reports_unreadable_paths(tmp_path: Path) -> None:
    diag = Diagnostics()
    assert load_yaml(tmp_path / "missing.yaml", diag) is None
    assert diag.errors[0].message.startswith("cannot read file: ")


OFFSETS = """\
plain: text with x
double: "a \\u00e9 x\\tz"
single: 'it''s x'
literal: |
    line one
      indented x
    three
folded: >
  folded one
  folded x

  para x
multi: plain
  continued x
quoted: "double
   second \\"x\\"
   third"
list:
  - "item x"
  - |-
    l1
    l2 x
explicit: |2
     lead
    x
"""


def _char(location: Location) -> str:
    line = OFFSETS.split("\n")[location.line - 1]
    return line[location.column - 1]


@pytest.mark.parametrize("key", ["plain", "double", "single", "literal", "folded", "multi",
                                 "quoted", "explicit"])  # fmt: skip
def test_offset_location_points_at_the_character_written(key: str) -> None:
    value, diag = parse(OFFSETS)
    assert isinstance(value, YamlMap) and not len(diag)
    text = value[key]
    for offset in [i for i, char in enumerate(text) if char == "x"]:
        assert _char(value.offset_location(key, offset)) == "x"


def test_offset_location_of_escapes_points_at_the_backslash() -> None:
    value, _ = parse(OFFSETS)
    assert isinstance(value, YamlMap)
    location = value.offset_location("double", value["double"].index("\t"))
    assert (location.line, location.column) == (2, 20)
    assert _char(location) == "\\"


def test_offset_location_of_list_items() -> None:
    value, _ = parse(OFFSETS)
    assert isinstance(value, YamlMap)
    items = value["list"]
    assert isinstance(items, YamlList)
    first, second = (items.offset_location(i, items[i].index("x")) for i in (0, 1))
    assert (first.line, first.column) == (19, 11)
    assert (second.line, second.column) == (22, 8)
    assert items.offset_location(5, 0) == items.location


def test_offset_location_of_a_literal_block_line() -> None:
    value, _ = parse("summary: |\n  one\n\n  ![a](missing.png)\n")
    assert isinstance(value, YamlMap)
    location = value.offset_location("summary", value["summary"].index("!["))
    assert (location.line, location.column) == (4, 3)


def test_model_where_counts_offsets_in_the_stripped_text() -> None:
    from flashgen.course.fields import FieldLocations

    value, _ = parse("summary: |\n\n  see ![a](b.png)\ncorrect: ['  six x', 7]\n")
    assert isinstance(value, YamlMap)
    where = FieldLocations(value)
    assert where["summary"].line == 1
    located = where.locate("summary", "see ![a](b.png)".index("!"))
    assert (located.line, located.column) == (3, 7)
    item = where.locate("correct", "six x".rindex("x"), index=0)
    assert (item.line, item.column) == (4, 18)
    assert where.locate("correct", 0, index=1) == value["correct"].item_location(1)


@pytest.mark.parametrize("char", ["\x1f", "\x00", "\x07", "\x7f", "\x1b"])
def test_raw_control_characters_are_located(char: str) -> None:
    value, diag = parse(f"id: a\ntitle: one{char}two\n")
    assert value is None
    assert messages(diag) == [
        f"f.yaml:2:11: error: {yaml_pitfalls.describe_character(char)} is not allowed in the file: "
        "delete it (it is invisible in most editors)"
    ]


def test_field_separator_is_named() -> None:
    _, diag = parse("title: a\x1fb\n")
    assert "U+001F (Anki's field separator)" in messages(diag)[0]


def test_escaped_control_characters_are_located() -> None:
    value, diag = parse('id: a\ntitle: "bell \\x07 and \\u001f"\n')
    assert isinstance(value, dict)
    assert messages(diag) == [
        "f.yaml:2:14: error: control character U+0007 in the text (written as an escape in "
        "double quotes?): remove it"
    ]


@pytest.mark.parametrize(
    ("written", "column", "command", "result"),
    [(r'"$6 \times 7$"', 14, r"\times", "a tab"),
     (r'"$\frac{1}{2}$"', 12, r"\frac", "a form feed (U+000C)"),
     (r'"$\beta$"', 12, r"\beta", "a backspace (U+0008)"),
     (r'"$\nu$"', 12, r"\nu", "a line break"),
     (r'"x $a \neq b$"', 16, r"\neq", "a line break"),
     (r'"$\alpha$"', 12, r"\alpha", "a bell (U+0007)"),
     (r'"$\vec{v}$"', 12, r"\vec", "a vertical tab (U+000B)"),
     (r'"$\epsilon$"', 12, r"\epsilon", "an escape (U+001B)"),
     (r'"$\rho$"', 12, r"\rho", "a carriage return (U+000D)"),
     (r'"$\Phi$"', 12, r"\Phi", "a paragraph separator (U+2029)")],
)  # fmt: skip
def test_latex_in_double_quotes_names_the_command(
    written: str, column: int, command: str, result: str
) -> None:
    _, diag = parse(f"id: a\nsummary: {written}\n")
    escape = command[:2]
    assert messages(diag) == [
        f"f.yaml:2:{column}: error: '{command}' in double quotes: YAML reads '{escape}' as "
        f"{result}, so students would not see '{command}'; write the text in single quotes "
        "('...') or as a block (|), where \\ is kept"
    ]


def test_newlines_and_tabs_in_double_quotes_stay_allowed() -> None:
    value, diag = parse('text: "Line one\\nLine two\\tthen \\\\frac"\n')
    assert value == {"text": "Line one\nLine two\tthen \\frac"}
    assert not len(diag)


def test_unknown_escape_suggests_quoting() -> None:
    _, diag = parse('id: a\nsummary: "$\\sigma$"\n')
    (message,) = messages(diag)
    assert message.startswith("f.yaml:2:")
    assert "LaTeX in double quotes?" in message and "single quotes" in message


@pytest.mark.parametrize(
    ("written", "message"),
    [("!!bool yes", "'yes' is not a valid boolean for the tag '!!bool' (YAML 1.2 core schema: "
      "only true or false)"),
     ("!!float abc", "'abc' is not a valid number for the tag '!!float'"),
     ("!!int 1.5", "'1.5' is not a valid integer for the tag '!!int'"),
     ("!!null x", "'x' is not a valid null for the tag '!!null'"),
     ("!!binary aGk=", "unsupported YAML tag '!!binary'"),
     ("!!set {a: 1}", "the YAML tag '!!set' cannot be used on a mapping"),
     ("!!seq {a: 1}", "the YAML tag '!!seq' cannot be used on a mapping"),
     ("!!map [1]", "the YAML tag '!!map' cannot be used on a list"),
     ("!custom [1]", "the YAML tag '!custom' cannot be used on a list")],
)  # fmt: skip
def test_explicit_tags_give_the_core_value_or_a_located_error(written: str, message: str) -> None:
    _, diag = parse(f"id: a\nanswer: {written}\n")
    (rendered,) = messages(diag)
    assert rendered.startswith(f"f.yaml:2:9: error: {message}")


@pytest.mark.parametrize(
    ("written", "expected"),
    [("!!bool true", True), ("!!bool FALSE", False), ("!!int 0x1F", 31), ("!!float 1", 1.0),
     ("!!str 12", "12"), ("!!null ~", None), ("!!map {a: 1}", {"a": 1}), ("!!seq [1]", [1])],
)  # fmt: skip
def test_valid_explicit_tags(written: str, expected: object) -> None:
    value, diag = parse(f"answer: {written}\n")
    assert value == {"answer": expected}
    assert isinstance(value["answer"], type(expected))  # type: ignore[index]
    assert not len(diag)


@pytest.mark.parametrize(
    ("text", "where", "meaning"),
    [("q: It is the **opposite**: really\n", "1:26", "': ' inside a text reads as a new key"),
     ("q: *Why* is it\n", "1:8", "YAML reads '*' at the start of a text as an alias (*name), "
      "not emphasis"),
     ("q: `code` first\n", "1:4", "YAML reads '`' at the start of a text as a reserved character"),
     ("d:\n  - [X] done\n", "2:9", "YAML reads '[' at the start of a text as the start of a list"),
     ("q: @user said\n", "1:4", "YAML reads '@' at the start of a text as a reserved character"),
     ("q: %d format\n", "1:4", "YAML reads '%' at the start of a text as a directive"),
     ("q: |text here\n", "1:5", "YAML reads '|' at the start of a text as a block, whose text "
      "must start on the next line"),
     ("q: {{c1::x}} is\n", "1:14", "YAML reads '{' at the start of a text as the start of a "
      "mapping")],
)  # fmt: skip
def test_markdown_in_plain_text_says_how_to_quote(text: str, where: str, meaning: str) -> None:
    _, diag = parse(text)
    (message,) = messages(diag)
    assert message.startswith(f"f.yaml:{where}: error: YAML syntax error: ")
    assert meaning in message
    assert message.endswith(yaml_pitfalls.QUOTE_HOW)


def test_a_hashtag_that_cut_the_text_is_a_warning_at_the_hash() -> None:
    value, diag = parse("q: Six #carbons\nid: x  # an ordinary comment\nl:\n  - one #two\n")
    assert value == {"q": "Six", "id": "x", "l": ["one"]}
    assert messages(diag) == [
        f"f.yaml:1:8: warning: ' #' starts a YAML comment, so '#carbons' is not part of the "
        f"text 'Six'; if it should be, {yaml_pitfalls.QUOTE_HOW}",
        f"f.yaml:4:9: warning: ' #' starts a YAML comment, so '#two' is not part of the "
        f"text 'one'; if it should be, {yaml_pitfalls.QUOTE_HOW}",
    ]


def test_alias_budget_counts_characters_under_a_memory_limit(tmp_path: Path) -> None:
    """A 1 MiB text aliased 3,000 times: refused in bounded memory (not 9 GB later), at the
    text the aliases repeat."""
    import resource
    import subprocess
    import sys

    course = tmp_path / "course"
    course.mkdir()
    (course / "course.yaml").write_text(
        "id: c\ntitle: C\nchapters:\n  - id: ch\n    title: Ch\n", encoding="utf-8"
    )
    big = "a" * (1024 * 1024)
    aliases = "".join("  - *big\n" for _ in range(3000))
    (course / "bomb.yaml").write_text(
        f"id: bomb\ntitle: &big {big}\nchapter: ch\nprerequisites: []\nsummary: x\n"
        f"tags:\n{aliases}",
        encoding="utf-8",
    )

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))

    result = subprocess.run(
        [sys.executable, "-m", "flashgen", "check", str(course)],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        check=False,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "MemoryError" not in result.stderr and "Traceback" not in result.stderr
    expected = "YAML expands to more than 16,777,216 characters (the limit per file"
    line = next(line for line in result.stdout.splitlines() if expected in line)
    assert "bomb.yaml:2:" in line


def test_text_and_question_limits_are_located() -> None:
    long_text = "x" * (loader.MAX_TEXT_CHARS + 1)
    _, diag = parse(f"id: a\nsummary: {long_text}\n")
    assert messages(diag) == [
        f"f.yaml:2:10: error: this text is {loader.MAX_TEXT_CHARS + 1:,} characters long; the "
        f"limit is {loader.MAX_TEXT_CHARS:,} per text field: split it or shorten it"
    ]


def test_an_anchor_name_with_a_colon_is_refused_where_written() -> None:
    value, diag = parse("id: a\nkey: &an:chor value\n")
    assert value is None
    assert messages(diag) == [
        "f.yaml:2:6: error: anchor name '&an:chor' contains ':', which YAML readers disagree "
        "about: rename the anchor without ':' (or, if it is text, put the text in single quotes)"
    ]


def test_an_ampersand_inside_text_is_no_anchor() -> None:
    source = "a: |\n  $x &:= y$\n  c &:&\nb: 'q &an:chor'\nc: plain &an:chor\n"
    value, diag = parse(source)
    assert value == {"a": "$x &:= y$\nc &:&\n", "b": "q &an:chor", "c": "plain &an:chor"}
    assert not len(diag)


@pytest.mark.parametrize("source", ["a: [?x]\n", "a: { ?foo: bar }\n", "a: [b,\n  ?c]\n"])
def test_a_question_mark_before_a_word_in_a_flow_collection_is_located(source: str) -> None:
    value, diag = parse(source)
    at = source.index("?")
    line = source.count("\n", 0, at) + 1
    column = at - source.rfind("\n", 0, at)
    assert value is None
    assert messages(diag) == [
        f"f.yaml:{line}:{column}: error: '?' before a word in a [list] or {{mapping}} is read as "
        "text by YAML 1.2 but as a key by the parser flashgen uses: put the text in quotes ('?x')"
    ]


def test_a_question_mark_inside_text_is_text() -> None:
    value, diag = parse("a: [what?, 'b ?c', x ?y]\nb: 'q [?x]'\n")
    assert value == {"a": ["what?", "b ?c", "x ?y"], "b": "q [?x]"}
    assert not len(diag)


def test_the_non_specific_tag_gives_text() -> None:
    value, diag = parse("- ! 12\n- 12\n")
    assert value == ["12", 12]
    assert not len(diag)


def test_ampersand_colon_in_a_block_is_text_not_an_anchor() -> None:
    value, diag = parse("summary: |\n  $a &:= b$\n")
    assert value == {"summary": "$a &:= b$\n"}
    assert not len(diag)
