"""The pure core of rekap: region codes, the C.Hasil form, its rules, and sums.

Nothing here imports Flask, Celery or SQL, so every rule can be tested and
reused (API, Sirekap import, verify) without a running service.
"""
