"""Finding a student's collection from ``--collection``: a file, a profile folder, a profile
name, or Anki's default profile, in the Linux, macOS and Windows layouts."""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

import pytest
from anki.collection import Collection

from flashgen.student.profiles import ProfileError, anki_base, find_collection, profile_names

HOME = Path("/home/student")


@pytest.mark.parametrize(
    ("platform", "env", "base"),
    [
        ("linux", {}, HOME / ".local" / "share" / "Anki2"),
        ("linux", {"XDG_DATA_HOME": "/data"}, Path("/data/Anki2")),
        ("darwin", {}, HOME / "Library" / "Application Support" / "Anki2"),
        (
            "win32",
            {"APPDATA": "C:/Users/ana/AppData/Roaming"},
            Path("C:/Users/ana/AppData/Roaming/Anki2"),
        ),
        ("win32", {}, HOME / "AppData" / "Roaming" / "Anki2"),
        ("darwin", {"ANKI_BASE": "/portable/anki"}, Path("/portable/anki")),
    ],
)
def test_anki_base_folder_per_platform(platform, env, base):
    assert anki_base(platform, env, HOME) == base


def make_base(root: Path, profiles: list[str], last: object = None) -> Path:
    """An Anki base folder as Anki writes it: prefs21.db (a pickled dict per profile, and the
    ``_global`` row) and a folder with a real collection per profile."""
    base = root / "Anki2"
    base.mkdir()
    db = sqlite3.connect(base / "prefs21.db")
    db.execute("create table profiles (name text primary key collate nocase, data blob not null)")
    meta = {"ver": 0, "created": 1_700_000_000, "defaultLang": "en_US"}
    if last is not None:
        meta["last_loaded_profile_name"] = last
    db.execute("insert into profiles values ('_global', ?)", (pickle.dumps(meta, protocol=4),))
    for name in profiles:
        db.execute("insert into profiles values (?, ?)", (name, pickle.dumps({"numBackups": 50})))
        (base / name).mkdir()
        Collection(str(base / name / "collection.anki2")).close()
    db.commit()
    db.close()
    return base


def test_the_last_profile_opened_is_the_default(tmp_path):
    base = make_base(tmp_path, ["User 1", "Ana"], last="Ana")
    assert profile_names(base) == (["Ana", "User 1"], "Ana")
    assert find_collection(None, base) == base / "Ana" / "collection.anki2"
    assert find_collection("", base) == base / "Ana" / "collection.anki2"


def test_a_single_profile_is_the_default(tmp_path):
    base = make_base(tmp_path, ["User 1"])
    assert find_collection(None, base) == base / "User 1" / "collection.anki2"


def test_a_profile_by_name_or_by_folder(tmp_path):
    base = make_base(tmp_path, ["User 1", "Ana"], last="Ana")
    assert find_collection("User 1", base) == base / "User 1" / "collection.anki2"
    assert find_collection(str(base / "User 1"), base) == base / "User 1" / "collection.anki2"
    path = base / "Ana" / "collection.anki2"
    assert find_collection(str(path), base) == path


def test_several_profiles_and_no_last_one_asks_for_a_name(tmp_path):
    base = make_base(tmp_path, ["User 1", "Ana"])
    with pytest.raises(ProfileError) as error:
        find_collection(None, base)
    assert str(error.value) == (
        f"{base} has several Anki profiles (Ana, User 1) and does not say which was used "
        "last; name one: --collection 'PROFILE'"
    )


def test_an_unknown_profile_names_the_known_ones(tmp_path):
    base = make_base(tmp_path, ["User 1", "Ana"], last="Ana")
    with pytest.raises(ProfileError) as error:
        find_collection("Bob", base)
    assert (
        str(error.value)
        == f"no Anki profile 'Bob' with a collection in {base} (profiles: Ana, User 1)"
    )


def test_no_anki_folder_at_all(tmp_path):
    with pytest.raises(ProfileError) as error:
        find_collection(None, tmp_path / "Anki2")
    assert str(error.value) == (
        f"no Anki profile found in {tmp_path / 'Anki2'}; give the collection file's path"
    )


class Window:
    """Stands for an object of a class flashgen must never build from a pickle."""

    built = False

    def __setstate__(self, state):
        Window.built = True


def test_prefs_are_read_without_building_objects(tmp_path):
    base = make_base(tmp_path, ["Ana", "Bob"], last="Bob")
    meta = {"last_loaded_profile_name": "Ana", "geometry": Window()}
    with sqlite3.connect(base / "prefs21.db") as db:
        db.execute("update profiles set data = ? where name = '_global'", (pickle.dumps(meta),))
    assert profile_names(base) == (["Ana", "Bob"], "Ana")
    assert not Window.built
    with sqlite3.connect(base / "prefs21.db") as db:
        db.execute("update profiles set data = ? where name = '_global'", (b"not a pickle",))
    assert profile_names(base) == (["Ana", "Bob"], None)
