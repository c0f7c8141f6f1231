"""Benchmarks: ``make bench`` runs every module here that defines ``main(report)``.

Each benchmark compares OKPay against a baseline measured in the same run (raw SQL, pgbench,
a bare consumer) and reports ratios, plus the peak RSS of server processes it starts.
"""
