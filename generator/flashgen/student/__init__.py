"""Talking to a student's Anki: ``flashgen sync`` and ``flashgen progress`` (issue 13).

Both commands read and write a student's collection only through :class:`StudentAnki`
(:mod:`flashgen.student.transport`), which two transports implement: a collection file opened
with the official ``anki`` library while Anki is closed (:mod:`flashgen.student.collection_file`)
and AnkiConnect's HTTP API while Anki is open.
"""
