"""``flashgen init`` and ``flashgen new concept``: write a new course or concept to start from.

Every YAML file written here starts with the ``# yaml-language-server: $schema=...`` line that
points at the course's ``.flashgen/*.schema.json`` (written alongside), so editors complete keys
and flag typos from the first keystroke. What is written passes ``flashgen check``.
"""

from __future__ import annotations

import json
import random
import re
import shlex
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from flashgen.atomic import OutputError
from flashgen.course import jsonschema, schema
from flashgen.course.coursefiles import WriteRefused, check_write_target
from flashgen.course.fields import did_you_mean, id_problem, slug
from flashgen.course.reader import COURSE_FILE, read_course
from flashgen.diagnostics import display_path


class ScaffoldError(Exception):
    """A request that cannot be carried out; the message says why and what to do."""


_PLAIN = re.compile(r"[^\W\d_][^:#{}\[\],&*!|>'\"%@`\\]*")
_NOT_TEXT = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})


def quote(text: str) -> str:
    """``text`` as a YAML scalar: plain when that is unambiguous, else in single quotes.

    Never double quotes: there a backslash starts an escape, so an instructor who adds
    ``$\\times$`` or ``$\\frac{1}{2}$`` to the stub would get a tab or a form feed.
    """
    text = " ".join(text.splitlines())
    if _PLAIN.fullmatch(text) and text == text.strip() and text.lower() not in _NOT_TEXT:
        return text
    return "'" + text.replace("'", "''") + "'"


def title_from_id(identifier: str) -> str:
    words = re.split(r"[-_.]+", identifier)
    text = " ".join(word for word in words if word)
    return text[:1].upper() + text[1:] if text else identifier


_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: easy to read and type
_PREFIX = {"multiple-choice": "mc", "true-false": "tf", "basic": "basic", "cloze": "cloze"}


def question_id(kind: str, taken: set[str], rng: random.Random) -> str:
    """A short fresh id such as ``mc-7k3q``: unlike ``q1``, it stays unique when questions are
    moved between concepts or reordered (ids are identity in Anki)."""
    while True:
        candidate = f"{_PREFIX[kind]}-{''.join(rng.choice(_ALPHABET) for _ in range(4))}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate


Stub = tuple[str, object, str]  # key, value (text, list or bool), comment


def _stubs(kind: str, about: str) -> list[Stub]:
    """TODO placeholders that pass ``flashgen check``, so the course still builds."""
    return {
        "multiple-choice": [
            ("question", f"TODO Ask something about {about}?", ""),
            ("correct", "TODO the right answer", "or a list when several are right"),
            ("distractors", ["TODO a wrong answer", "TODO another wrong answer"], ""),
            ("explanation", "TODO Why the right answer is right.", "optional"),
        ],
        "true-false": [
            ("statement", f"TODO A statement about {about} that is true or false.", ""),
            ("answer", True, "true or false, unquoted"),
            ("explanation", "TODO Why.", "optional"),
        ],
        "basic": [
            ("front", f"TODO A prompt about {about}?", ""),
            ("back", "TODO The answer.", ""),
        ],
        "cloze": [
            ("text", f"TODO A sentence about {about} with a {{{{c1::hidden part}}}}.", ""),
        ],
    }[kind]


_EXAMPLES: dict[str, list[Stub]] = {
    "multiple-choice": [
        ("question", "When is the best moment to review a card again?", ""),
        ("correct", "Just before you would forget it", "or a list when several are right"),
        (
            "distractors",
            ["Right after you answered it correctly", "Once a day, whatever your answers"],
            "",
        ),
        (
            "explanation",
            "Reviewing at the edge of forgetting strengthens memory the most, and each "
            "success pushes the next review further out.",
            "optional, Markdown",
        ),
    ],
    "true-false": [
        ("statement", "Spaced repetition shows every card equally often.", ""),
        ("answer", False, "true or false, unquoted"),
        ("explanation", "Cards you find hard come back sooner than cards you know well.", ""),
    ],
    "basic": [
        ("front", "What does the interval between two reviews depend on?", ""),
        ("back", "How well you remembered the card at the last review.", ""),
    ],
    "cloze": [
        (
            "text",
            "Spaced repetition schedules a review just before you would {{c1::forget}} a card.",
            "{{c1::...}} marks what to hide",
        ),
        ("explanation", "Math works too: the forgetting curve is roughly $R = e^{-t/S}$.", ""),
    ],
}


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return quote(str(value))


def question_stubs(
    kinds: Sequence[str], about: str, rng: random.Random, examples: bool = False
) -> str:
    """YAML for a ``questions:`` list with one question of each kind."""
    taken: set[str] = set()
    lines = ["questions:"]
    for kind in kinds:
        lines.append(f"  - id: {question_id(kind, taken, rng)}")
        lines.append(f"    type: {kind}")
        for key, value, comment in _EXAMPLES[kind] if examples else _stubs(kind, about):
            note = f"   # {comment}" if comment else ""
            if isinstance(value, list):
                lines.append(f"    {key}:{note}")
                lines.extend(f"      - {_scalar(item)}" for item in value)
            else:
                lines.append(f"    {key}: {_scalar(value)}{note}")
    return "\n".join(lines) + "\n"


def _concept_yaml(
    path: Path,
    course_dir: Path,
    concept_id: str,
    title: str,
    chapter: str,
    prerequisites: Sequence[str],
    summary: str,
    questions: str,
) -> str:
    return (
        jsonschema.modeline(path, course_dir, "concept")
        + f"id: {concept_id}              # never change an id: Anki matches notes by it\n"
        f"title: {quote(title)}\n"
        f"chapter: {chapter}\n"
        f"prerequisites: [{', '.join(prerequisites)}]   # learn these first; [] = a foundation\n"
        "related: []\n"
        f"summary: |\n{_indent(summary)}"
        f"{questions}"
    )


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" if line else "\n" for line in text.strip("\n").split("\n"))


EXAMPLE_CONCEPT = "spaced-repetition"

_EXAMPLE_SUMMARY = """\
**Spaced repetition** reviews each card at growing intervals: a card you remember well comes
back later, a card you forgot comes back soon. Write the summary in *Markdown*; math such as
$t_{n+1} = 2.5\\,t_n$ works too.
"""


def init_course(
    target: Path,
    *,
    course_id: str | None = None,
    title: str | None = None,
    chapter_id: str = "ch1",
    chapter_title: str = "Chapter 1",
    rng: random.Random | None = None,
) -> list[Path]:
    """Create a new course in ``target`` (missing or empty); return the files written."""
    rng = rng or random.Random()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(f"{target} already exists and is not empty; give a new folder")
    name = target.resolve().name
    course_id = course_id or slug(name)
    title = title or title_from_id(name)
    for what, value in (("course id", course_id), ("chapter id", chapter_id)):
        problem = id_problem(value)
        if problem:
            raise ScaffoldError(f"invalid {what}: {problem}")
    target.mkdir(parents=True, exist_ok=True)
    written = [
        target / jsonschema.COURSE_SCHEMA_DIR / file for file in jsonschema.SCHEMA_FILES.values()
    ]
    jsonschema.write_course_schemas(target)

    course_file = target / COURSE_FILE
    course_file.write_text(
        jsonschema.modeline(course_file, target, "course")
        + f"id: {course_id}          # every Anki id derives from it: never change it\n"
        f"title: {quote(title)}\n"
        "tags: []\n"
        "chapters:                  # in teaching order; each is an Anki sub-deck\n"
        f"  - id: {chapter_id}\n"
        f"    title: {quote(chapter_title)}\n",
        encoding="utf-8",
    )
    written.append(course_file)

    concept_file = target / chapter_id / f"{EXAMPLE_CONCEPT}.yaml"
    concept_file.parent.mkdir(parents=True, exist_ok=True)
    concept_file.write_text(
        _concept_yaml(
            concept_file,
            target,
            EXAMPLE_CONCEPT,
            "Spaced repetition",
            chapter_id,
            (),
            _EXAMPLE_SUMMARY,
            question_stubs(schema.QUESTION_TYPES, "spaced repetition", rng, examples=True),
        ),
        encoding="utf-8",
    )
    written.append(concept_file)

    readme = target / "README.md"
    readme.write_text(_course_readme(target, title), encoding="utf-8")
    written.append(readme)

    gitignore = target / ".gitignore"
    gitignore.write_text("# what flashgen build and preview write\noutput/\n", encoding="utf-8")
    written.append(gitignore)

    vscode = target / ".vscode" / "extensions.json"
    vscode.parent.mkdir(exist_ok=True)
    vscode.write_text(
        json.dumps({"recommendations": ["redhat.vscode-yaml"]}, indent=2) + "\n", encoding="utf-8"
    )
    written.append(vscode)
    return written


def _course_readme(target: Path, title: str) -> str:
    where = shlex.quote(display_path(target).as_posix())
    return f"""# {title}

A course for flashgen: each concept is one YAML file, and flashgen
turns the course into an Anki deck.

| file | what it holds |
| --- | --- |
| `course.yaml` | the course id and title and its chapters, in teaching order |
| `<chapter>/<concept>.yaml` | one concept: summary, prerequisites and questions |
| `.flashgen/*.schema.json` | JSON Schema for editors (refresh with `flashgen schema`) |

## Work on it

From this folder or any folder inside it, flashgen finds the course by itself:

```sh
flashgen new concept my-concept --chapter ch1 --after spaced-repetition
flashgen preview --serve   # every card as students see it, updated as you save
flashgen check             # every problem, with file and line
flashgen build             # output/<course-id>.apkg: import it into Anki
flashgen stats             # concepts and questions per chapter
```

From elsewhere, name the course folder; from where it was created:
`flashgen check {where}`.

Never change an `id` once students have the deck: Anki matches notes by their ids, so
reword titles and texts freely but keep ids.

## Editor help

Each YAML file starts with a `# yaml-language-server: $schema=...` line. In VS Code, install
the YAML extension (Red Hat), which this folder recommends: it then completes keys, shows
what each key means and underlines typos while you type.
"""


def _chapter_folder(course_dir: Path, chapter: str, concept_paths: Sequence[Path]) -> Path:
    """Where the chapter's concepts live: their most common folder, else ``<course>/<chapter>``."""
    folders = Counter(path.parent for path in concept_paths)
    if folders:
        return folders.most_common(1)[0][0]
    return course_dir / chapter


def new_concept(
    course_dir: Path,
    concept_id: str,
    chapter: str,
    *,
    after: Sequence[str] = (),
    title: str | None = None,
    kinds: Sequence[str] = schema.QUESTION_TYPES,
    rng: random.Random | None = None,
) -> Path:
    """Write a concept file with question stubs into the chapter's folder; return its path."""
    rng = rng or random.Random()
    problem = id_problem(concept_id)
    if problem:
        raise ScaffoldError(f"invalid concept id: {problem}")
    course, diag = read_course(course_dir)
    if course is None:
        details = "\n".join(f"  {d.render()}" for d in diag.errors[:5])
        raise ScaffoldError(f"cannot read the course in {course_dir}:\n{details}")
    chapters = [c.id for c in course.chapters]
    if chapter not in chapters:
        hint = did_you_mean(chapter, chapters) or f"; chapters are: {', '.join(chapters)}"
        raise ScaffoldError(f"unknown chapter '{chapter}'{hint}")
    existing = course.concept(concept_id)
    if existing is not None:
        raise ScaffoldError(
            f"concept '{concept_id}' already exists in {display_path(existing.path)}"
        )
    known = [c.id for c in course.concepts]
    for prerequisite in after:
        if course.concept(prerequisite) is None:
            hint = did_you_mean(prerequisite, known)
            raise ScaffoldError(f"unknown prerequisite '{prerequisite}'{hint}")
    unknown_kinds = [k for k in kinds if k not in schema.QUESTION_TYPES]
    if unknown_kinds:
        raise ScaffoldError(
            f"unknown question type '{unknown_kinds[0]}'; "
            f"expected one of: {', '.join(schema.QUESTION_TYPES)}"
        )
    folder = _chapter_folder(
        course_dir, chapter, [c.path for c in course.concepts if c.chapter == chapter]
    )
    path = folder / f"{concept_id}.yaml"
    if path.exists():
        raise ScaffoldError(f"{display_path(path)} already exists")
    title = title or title_from_id(concept_id)
    questions = question_stubs(kinds, title.lower(), rng) if kinds else ""
    text = _concept_yaml(
        path,
        course_dir,
        concept_id,
        title,
        chapter,
        list(dict.fromkeys(after)),
        f"TODO What {title} says, in Markdown with $math$.",
        questions,
    )
    try:
        check_write_target(path, course_dir)
        folder.mkdir(parents=True, exist_ok=True)
        jsonschema.write_course_schemas(course_dir)
    except WriteRefused as error:
        raise ScaffoldError(f"refused to write: {error}") from None
    except (OSError, OutputError) as error:
        raise ScaffoldError(f"cannot write {path}: {error}") from None
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return path
