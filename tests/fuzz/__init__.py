"""Bounded fuzzing of every parser that takes outside input (hypothesis, derandomized in CI)."""
