"""Rendering: Markdown and math to HTML (Anki) and to Typst (PDF), and templates."""
