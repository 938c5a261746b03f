"""BuildKit rules of the corrected parser, one small Dockerfile each, exact expected values.

The rules follow the Dockerfile reference (parser directives, heredocs, shell and exec form)
and BuildKit's parser (``([^\\\\])\\\\[ \\t]*$`` continuations, heredoc words read as shell
words, ``parseMaybeJSON`` rejecting non-string arrays, ``parseNameVal``).
"""

from __future__ import annotations

import tracemalloc

import pytest

from pipeline.core import dockerfile as d
from pipeline.core.dockerfile import MAX_EXPANSION_TOTAL, Heredoc


def parse(text: str) -> d.ParsedDockerfile:
    return d.parse_corrected(text)


def seq(p: d.ParsedDockerfile) -> list[tuple[int, int, str, tuple[str, ...]]]:
    return [(i.line, i.end_line, i.instruction, i.args) for i in p.instructions]


def docs(p: d.ParsedDockerfile, k: int) -> list[tuple[str, str, bool, bool, int]]:
    return [(h.name, h.body, h.expand, h.chomp, h.fd) for h in p.instructions[k].heredocs]


def test_escaped_escape_at_end_of_line_is_no_continuation() -> None:
    p = parse("FROM a\nENV C trailing\\\\backslash\\\\\nRUN echo hi\n")
    assert [(i.line, i.instruction, i.pairs) for i in p.instructions] == [
        (1, "FROM", ()), (2, "ENV", (("C", "trailing\\\\backslash\\\\"),)), (3, "RUN", ())]
    assert p.instructions[2].args == ("echo hi",)
    # a single trailing backslash does continue
    p = parse("FROM a\nENV C x\\\n  y\nRUN z\n")
    assert seq(p)[1:] == [(2, 3, "ENV", ()), (4, 4, "RUN", ("z",))]
    assert p.instructions[1].pairs == (("C", "x  y"),)


def test_crlf_parses_as_lf_including_the_escaped_escape() -> None:
    lf = ("FROM a\nENV C trailing\\\\backslash\\\\\nRUN apt-get update \\\n"
          "  # comment\n\n  && apt-get install -y x\nRUN <<EOF\necho 1\nEOF\n")
    a, b = parse(lf), parse(lf.replace("\n", "\r\n"))
    assert a.instructions == b.instructions and a.commands == b.commands
    assert seq(a) == [(1, 1, "FROM", ("a",)), (2, 2, "ENV", ()),
                      (3, 6, "RUN", ("apt-get update   && apt-get install -y x",)),
                      (7, 9, "RUN", ("<<EOF",))]
    assert docs(b, 3) == [("EOF", "echo 1\n", True, False, 0)]


def test_directives_only_before_the_first_other_line() -> None:
    p = parse("# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nFROM a\nRUN x `\n  y\n")
    assert seq(p) == [(4, 4, "FROM", ("a",)), (5, 6, "RUN", ("x   y",))]
    # after a comment, an empty line or an instruction "# escape=" is a comment
    for text in ("# hello\n# escape=`\nFROM a\nRUN x `\n", "\n# escape=`\nFROM a\nRUN x `\n",
                 "FROM a\n# escape=`\nRUN x `\n"):
        assert parse(text).instructions[-1].args == ("x `",)


def test_quoted_double_angle_opens_no_heredoc() -> None:
    p = parse('FROM a\nRUN "<<NOHEREDOC"\nRUN \'<<EOF\'\nEOF\nRUN a\nRUN b\n')
    assert seq(p) == [(1, 1, "FROM", ("a",)), (2, 2, "RUN", ('"<<NOHEREDOC"',)),
                      (3, 3, "RUN", ("'<<EOF'",)), (5, 5, "RUN", ("a",)), (6, 6, "RUN", ("b",))]
    assert [i.heredocs for i in p.instructions] == [()] * 5
    assert p.errors == ["1 unknown instruction(s) skipped (first: 'EOF' at line 4)"]


def test_exec_form_never_has_heredocs() -> None:
    p = parse('FROM a\nRUN ["<<EOF"]\nEOF\nRUN a\nRUN b\n')
    assert [(i.instruction, i.args, i.exec_form, i.heredocs) for i in p.instructions] == [
        ("FROM", ("a",), False, ()), ("RUN", ("<<EOF",), True, ()), ("RUN", ("a",), False, ()),
        ("RUN", ("b",), False, ())]
    assert p.errors == ["1 unknown instruction(s) skipped (first: 'EOF' at line 3)"]


def test_file_descriptor_heredocs() -> None:
    p = parse("FROM a\nRUN 3<<EOF\nthree\nEOF\nRUN cat 4<<X\nfour\nX\n")
    assert docs(p, 1) == [("EOF", "three\n", True, False, 3)]
    assert docs(p, 2) == [("X", "four\n", True, False, 4)]
    assert seq(p)[1:] == [(2, 4, "RUN", ("3<<EOF",)), (5, 7, "RUN", ("cat 4<<X",))]


@pytest.mark.parametrize(("word", "name", "expand"), [
    ("<<eo'f'", "eof", False),
    ("<<eo\\'f", "eo'f", False),
    ("<<'e'o\\'f", "eo'f", False),
    ('<<EO"F"', "EOF", False),
    ("<<'one two'", "one two", False),
    ("<<$EOF", "$EOF", True),
    ("<< -EOF", "-EOF", True),
    ('<<"EOF"', "EOF", False),
    ("<<EOF", "EOF", True),
])
def test_heredoc_words_are_shell_words(word: str, name: str, expand: bool) -> None:
    decoy = word.lstrip("<").strip()  # the word as written ends nothing unless it is the name
    body = "body $X\n" if decoy == name else f"body $X\n{decoy}\n"
    p = parse(f"FROM a\nRUN cat {word}\n{body}{name}\nRUN next\n")
    assert docs(p, 1) == [(name, body, expand, False, 0)]
    assert [(i.line, i.instruction) for i in p.instructions] == [
        (1, "FROM"), (2, "RUN"), (4 + body.count("\n"), "RUN")]
    assert p.status == "ok"


def test_dash_heredoc_strips_leading_tabs_of_body_and_terminator() -> None:
    p = parse("FROM a\nRUN <<-EOF\n\techo a\n\t\techo b\n  keep spaces\n\tEOF\nRUN <<EOF\n\tx\n\tEOF\nEOF\n")
    assert docs(p, 1) == [("EOF", "echo a\necho b\n  keep spaces\n", True, True, 0)]
    assert docs(p, 2) == [("EOF", "\tx\n\tEOF\n", True, False, 0)]  # no chomp: tab EOF is body
    assert [(c.command, c.first_arg) for c in p.commands] == [("echo", "a"), ("echo", "b"), ("keep", "spaces"),
                                            ("x", ""), ("EOF", "")]


def test_several_heredocs_in_order_after_flags() -> None:
    text = ("FROM a\nCOPY <<FILE1 <<FILE2 /dest/\none\nFILE2 inside one\nFILE1\ntwo\nFILE2\n"
            "RUN --mount=type=cache,target=/root/.cache <<EOF\npip install x\nEOF\n")
    p = parse(text)
    assert docs(p, 1) == [("FILE1", "one\nFILE2 inside one\n", True, False, 0),
                          ("FILE2", "two\n", True, False, 0)]
    assert seq(p) == [(1, 1, "FROM", ("a",)), (2, 7, "COPY", ("<<FILE1", "<<FILE2", "/dest/")),
                      (8, 10, "RUN", ("<<EOF",))]
    assert p.instructions[2].flags == ("--mount=type=cache,target=/root/.cache",)
    assert [(c.command, c.first_arg) for c in p.commands] == [("pip", "install")]


def test_heredoc_body_containing_another_heredocs_word() -> None:
    p = parse("FROM a\nRUN <<A cat <<B\nB\nA\nA\nB\n")
    assert docs(p, 1) == [("A", "B\n", True, False, 0), ("B", "A\n", True, False, 0)]
    assert p.status == "ok"


def test_heredocs_only_for_run_copy_add_and_onbuild_of_those() -> None:
    p = parse("FROM a\nADD <<X /x\nx\nX\nONBUILD RUN <<Y\necho\nY\nCMD cat <<Z\n")
    assert [len(i.heredocs) for i in p.instructions] == [0, 1, 1, 0]
    assert p.instructions[3].args == ("cat <<Z",)


def test_env_without_value_is_one_error() -> None:
    p = parse("FROM a\nENV PATH\nENV B=1\nRUN echo $B\n")
    assert p.status == "partial"
    assert p.errors == ["line 2: ENV must have two arguments"]
    assert [(i.instruction, i.pairs, i.error) for i in p.instructions] == [
        ("FROM", (), ""), ("ENV", (), "ENV must have two arguments"), ("ENV", (("B", "1"),), ""),
        ("RUN", (), "")]
    assert [(c.command, c.first_arg) for c in p.commands] == [("echo", "$B")]


@pytest.mark.parametrize("elem", ["42", "{}", "[]", "true", "null"])
def test_exec_form_with_a_non_string_element_is_an_error(elem: str) -> None:
    p = parse(f'FROM a\nCMD ["a",{elem},"b"]\nRUN ["x", {elem}]\nRUN ok\n')
    msg = "when using JSON array syntax, arrays must be comprised of strings only"
    assert p.errors == [f"line 2: CMD {msg}", f"line 3: RUN {msg}"]
    assert [(i.instruction, i.exec_form, i.error) for i in p.instructions][1:] == [
        ("CMD", False, msg), ("RUN", False, msg), ("RUN", False, "")]
    assert [c.command for c in p.commands] == ["ok"]


def test_invalid_json_is_shell_form() -> None:
    p = parse('FROM a\nCMD ["a", b]\nCOPY --from=x ["s p", "/d"]\n')
    assert [(i.args, i.exec_form, i.flags) for i in p.instructions][1:] == [
        (('["a", b]',), False, ()), (("s p", "/d"), True, ("--from=x",))]


def test_env_arg_label_pairs_and_substitution() -> None:
    p = parse("ARG V=1\nFROM img:$V AS b\nARG V\nENV A=x B='$A y' C=\"$A-z\" D=$A\n"
              "LABEL k=\"v w\" z=1\nWORKDIR /$C\n")
    assert [b.image for b in p.base_images] == ["img:1"]
    assert p.instructions[3].pairs == (("A", "x"), ("B", "'$A y'"), ("C", '"$A-z"'), ("D", "$A"))
    assert p.instructions[4].pairs == (("k", '"v w"'), ("z", "1"))
    # ENV values see the variables as they were before the instruction
    assert p.instructions[5].expanded == "/$A-z"


def test_runaway_expansion_is_bounded_and_one_error_per_instruction() -> None:
    tracemalloc.start()
    p = parse("FROM a\nENV A=xxxxxxxx\n" + "ENV A=$A$A$A$A\n" * 40 + "RUN echo done\n"
              + "RUN x$A\n" * 2000)  # RUN words are expanded within the same budget
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 1024 * 1024  # well under 64 MiB, not gigabytes
    assert p.status == "partial"
    assert len(p.errors) == 32  # lines 11..42: 8 * 4**9 = 2 MiB > 1 MiB from the 9th on
    assert p.errors[0] == "line 11: ENV expansion exceeds 1048576 characters; value left unexpanded"
    commands = [c.command for c in p.commands]
    assert commands[0] == "echo" and len(commands) == 2001
    # the file's expansion budget runs out: later RUN words stay as written
    assert sum(map(len, commands)) <= MAX_EXPANSION_TOTAL and commands[-1] == "x$A"
    assert len(p.instructions) == 2043


def test_stages_flags_and_words() -> None:
    p = parse("FROM --platform=$BUILDPLATFORM golang:1.21 AS build\nFROM build\n"
              "COPY --from=build --chmod=755 /a /b\nEXPOSE 80 443/tcp\nFROM a b\n")
    assert [(b.platform, b.image, b.alias, b.is_stage_reference) for b in p.base_images] == [
        ("$BUILDPLATFORM", "golang:1.21", "build", False), ("", "build", "", True),
        ("", "a", "", False)]
    assert p.instructions[2].flags == ("--from=build", "--chmod=755")
    assert p.instructions[3].args == ("80", "443/tcp")
    assert p.errors == ["line 5: FROM requires either one or three arguments"]


def test_unterminated_heredoc_keeps_the_rest_as_body() -> None:
    p = parse("FROM a\nRUN <<EOF\necho 1\n\n")
    assert p.instructions[1].heredocs == (Heredoc("EOF", "echo 1\n", True, False, 0),)
    assert p.errors == ["line 2: unterminated heredoc <<EOF"]


@pytest.mark.parametrize("script", [
    "apt-get update && apt-get install -y gcc; rm -rf /var/lib/apt/lists/*",
    "A=1 B=2 make -j4 | tee log || true\npip install x==1.0",
    "sudo -u app env X=1 python3 setup.py install",
    "cd /src;\nmake",
])
def test_simple_script_fast_path_equals_bashlex(script: str) -> None:
    import bashlex

    from pipeline.core import runcmds

    fast = runcmds.simple_commands(script)
    assert fast is not None and fast
    want = []
    for tree in bashlex.parse(script):
        found: list = []
        runcmds._walk(tree, found)
        for _, words in sorted(found, key=lambda x: x[0]):
            argv = runcmds._unwrap(words)
            if argv:
                want.append((argv[0], argv[1] if len(argv) > 1 else "", "bashlex"))
    assert fast == want


@pytest.mark.parametrize("script", ["echo 'a b'", "a > f", "x $(y)", "if a; then b; fi",
                                    "a &", "a &&", "a # c", "a \\\n b"])
def test_fast_path_leaves_other_scripts_to_bashlex(script: str) -> None:
    from pipeline.core import runcmds

    assert runcmds.simple_commands(script) is None


def test_run_words_see_the_stage_values_not_the_global_args() -> None:
    """A global ARG only reaches a stage through ``ARG name``; the stage's ENV wins."""
    p = parse("ARG T=conda\nFROM a\nENV T=pip\nRUN $T install x\n")
    assert [c.command for c in p.commands] == ["pip"]
    p = parse("ARG T=conda\nFROM a\nARG T\nRUN $T install x\n")
    assert [c.command for c in p.commands] == ["conda"]


@pytest.mark.parametrize(("ref", "image"), [
    ("${IMG:-${X}}", "y"), ("${IMG:-$X}:1", "y:1"), ("cuda${A:+-$A}", "cuda-ubuntu"),
    ("cuda${E:+-$E}:1", "cuda:1"), ("${A:-${X}}", "ubuntu")])
def test_variables_inside_a_default_word(ref: str, image: str) -> None:
    p = parse(f"ARG X=y\nARG A=ubuntu\nARG E=\nFROM {ref}\n")
    assert (p.base_images[0].image, p.base_images[0].is_variable) == (image, False)


@pytest.mark.parametrize("ref", ["${A#u}", "${A:?unset}", "${A:-${B:-${X}}}"])
def test_unsupported_expansions_stay_unresolved(ref: str) -> None:
    p = parse(f"ARG X=y\nARG A=ubuntu\nFROM {ref}\n")
    assert p.base_images[0].is_variable
    assert "${" in p.base_images[0].image
