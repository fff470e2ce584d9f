"""The floor: the least work that turns a flashgen course into an equivalent Anki deck.

Loads the same YAML files with PyYAML's C loader and writes the same notes (the same note types,
fields, GUIDs, tags and one sub-deck per chapter) with genanki, with the field values as plain
text: no Markdown rendering, no sanitising, no checks, no learning order. A tool built on the
same libraries cannot do less and still produce the deck, so flashgen is measured against it.

Usage:
  python bench/baseline.py COURSE_DIR OUT.apkg   load the course and write the deck
  python bench/baseline.py COURSE_DIR --load     only load the YAML (what a check must read)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

FIELDS = {
    "concept": ("Title", "Summary", "LearnBefore", "LearnAfter", "Related", "Context",
                "CardCode", "Reserved"),
    "multiple-choice": ("Question", "Choices", "Answer", "Explanation", "Context", "CardCode",
                        "Reserved"),
    "true-false": ("Statement", "Answer", "Explanation", "Context", "CardCode", "Reserved"),
    "basic": ("Front", "Back", "Explanation", "Context", "CardCode", "Reserved"),
    "cloze": ("Text", "Explanation", "Context", "CardCode", "Reserved"),
}  # fmt: skip


def load(root: Path) -> tuple[dict, list[dict]]:
    """course.yaml and every concept file, parsed with libyaml (C) and PyYAML's SafeLoader."""
    loader = yaml.CSafeLoader
    with open(root / "course.yaml", encoding="utf-8") as handle:
        course = yaml.load(handle, Loader=loader)
    concepts = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith((".yaml", ".yml")) and name != "course.yaml":
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    concepts.append(yaml.load(handle, Loader=loader))
    return course, concepts


def write(course: dict, concepts: list[dict], out: Path) -> None:
    import genanki

    models = {}
    for number, (kind, fields) in enumerate(FIELDS.items()):
        first = "{{cloze:Text}}" if kind == "cloze" else "{{" + fields[0] + "}}"
        models[kind] = genanki.Model(
            1_607_392_319 + number,
            f"baseline-{kind}",
            fields=[{"name": field} for field in fields],
            templates=[{"name": kind, "qfmt": first, "afmt": first + "<hr>{{Explanation}}"}],
            model_type=genanki.Model.CLOZE if kind == "cloze" else genanki.Model.FRONT_BACK,
        )
    chapters = {c["id"]: c["title"] for c in course["chapters"]}
    decks = {
        cid: genanki.Deck(2_059_400_110 + n, f"{course['title']}::{title}")
        for n, (cid, title) in enumerate(chapters.items())
    }
    after: dict[str, list[str]] = {}
    for concept in concepts:
        for prerequisite in concept["prerequisites"]:
            after.setdefault(prerequisite, []).append(concept["id"])
    course_id, course_tags = course["id"], course.get("tags", [])
    for concept in concepts:
        cid = concept["id"]
        deck = decks[concept["chapter"]]
        context = f"{course['title']} › {chapters[concept['chapter']]} › {concept['title']}"
        tags = [f"course::{course_id}", f"chapter::{concept['chapter']}", f"concept::{cid}",
                *course_tags, *concept.get("tags", [])]  # fmt: skip
        values = [concept["title"], concept["summary"], ", ".join(concept["prerequisites"]),
                  ", ".join(after.get(cid, ())), ", ".join(concept.get("related", [])),
                  context, "", ""]  # fmt: skip
        guid = genanki.guid_for(course_id, cid, "#concept")
        deck.add_note(genanki.Note(models["concept"], values, tags=tags, guid=guid))
        for q in concept.get("questions", []):
            kind, explanation = q["type"], q.get("explanation", "")
            if kind == "multiple-choice":
                correct = q["correct"] if isinstance(q["correct"], list) else [q["correct"]]
                first = [q["question"], "\n".join([*correct, *q["distractors"]]),
                         "\n".join(correct)]  # fmt: skip
            elif kind == "true-false":
                first = [q["statement"], "True" if q["answer"] else "False"]
            elif kind == "basic":
                first = [q["front"], q["back"]]
            else:
                first = [q["text"]]
            values = [*first, explanation, context, "", ""]
            guid = genanki.guid_for(course_id, cid, q["id"])
            deck.add_note(genanki.Note(models[kind], values, tags=tags, guid=guid))
    genanki.Package(list(decks.values())).write_to_file(str(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("course", type=Path)
    parser.add_argument("out", type=Path, nargs="?")
    parser.add_argument("--load", action="store_true", help="only load the YAML files")
    args = parser.parse_args(argv)
    course, concepts = load(args.course)
    if args.load:
        print(f"loaded {len(concepts)} concept files")
        return 0
    if args.out is None:
        parser.error("give OUT.apkg, or --load")
    write(course, concepts, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
