"""critmet: the code behind the supply-chain executive-summary pipeline.

Raw tables (data/raw) -> validated, cleaned datasets (critmet.validate, critmet.clean)
-> figures (critmet.figures) -> bilingual PDF (critmet.report).
Nothing runs at import time.
"""
