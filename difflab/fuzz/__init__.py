"""Differential testing of the differentiators: random programs, every method, every
derivative kind, each answer held to the error its method can honestly promise.

- :mod:`.program`: programs as plain data (an expression tree), their evaluator and printed forms;
- :mod:`.generate`: seeded random programs on domains where every op is defined;
- :mod:`.verdict`: one method's answer against the 50-digit oracle and its bound;
- :mod:`.shrink`: a failing program reduced to the smallest that still fails;
- :mod:`.run`: chunks of cases in this process; :mod:`.cluster`: on Dask distributed;
- :mod:`.expected`: known behaviours, reported apart; :mod:`.report`: summary, table, JSON.

``difflab fuzz`` (:mod:`difflab.cli.fuzz`) is the command; docs/fuzz.md the guide.
"""
