"""Outputs: the Anki deck and its ledger, the PDFs, the preview site."""
